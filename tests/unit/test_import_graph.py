"""The import arrows the README promises, read from the source: services never reach up, nothing goes in circles."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules() -> dict[str, Path]:
    """Every module of bot/ and cogs/ by dotted name."""
    found = {}
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """What one module imports (TYPE_CHECKING imports included): modules of ours, or the top-level package name."""
    targets: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            named = [f"{base}.{alias.name}" for alias in node.names]
            # `from package import module` needs the package's own code only when something else is named too.
            names = named if all(name in known for name in named) else [base, *named]
        else:
            continue
        for name in names:
            targets.add(name if name in known else name.split(".")[0])
    return targets


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in edges:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_services_never_import_discord_render_cogs_or_the_app():
    edges = graph()
    upward = {
        (name, target)
        for name, targets in edges.items()
        if name.startswith("bot.services")
        for target in targets
        if target in {"discord", "cogs", "bot.app"} or target.startswith(("bot.render", "cogs."))
    }
    assert upward == set()


def test_the_pure_layers_import_neither_services_nor_discord():
    edges = graph()
    pure = ("bot.domain", "bot.schedule.planner", "bot.schedule.reminder_rules", "bot.schedule.sessions")
    reaching = {
        (name, target)
        for name, targets in edges.items()
        if name.startswith(pure)
        for target in targets
        if target == "discord" or target.startswith(("bot.services", "bot.render", "bot.db"))
    }
    assert reaching == set()


def test_no_module_imports_in_a_circle_outside_the_sandbox():
    # The sandbox (a stand-in for Discord, for tests and the demo) types its handlers against its server.
    assert [group for group in cycles(graph()) if not group[0].startswith("bot.sandbox")] == []


def test_the_check_sees_a_circle_and_an_upward_arrow():
    """The checks above would fail on what they guard against (so an empty answer means something)."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    edges = graph()
    assert "bot.services.ports" in edges["bot.services.reminders"]
    assert "discord" in edges["bot.discord_port"]


def delivery_writes(path: Path) -> list[int]:
    """Lines where a module builds a row of `deliveries` or an INSERT, UPDATE or DELETE on it."""
    writers = {"insert", "update", "delete", "insert_unless_present", "insert_for"}
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.func if isinstance(node.func, ast.Call) else node.func  # insert_for(session)(Delivery)
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        names_delivery = any(isinstance(arg, ast.Name) and arg.id == "Delivery" for arg in node.args)
        if called == "Delivery" or (called in writers and names_delivery):
            lines.append(node.lineno)
    return sorted(lines)


def test_only_the_ledger_writes_deliveries(tmp_path):
    writing = {name for name, path in modules().items() if delivery_writes(path)}
    assert writing == {"bot.services.ledger"}
    # The check sees the forms it guards against.
    sample = tmp_path / "sample.py"
    sample.write_text("insert_for(s)(Delivery).values()\nupdate(Delivery)\nsession.add(Delivery(kind='x'))\n")
    assert delivery_writes(sample) == [1, 2, 3]
