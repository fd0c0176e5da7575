"""Turns YAML text into a `Roadmap`, or a `RoadmapInvalid` that lists every problem with its place."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.errors import RoadmapInvalid
from bot.roadmap.expansion import measure_expansion
from bot.roadmap.limits import MAX_ROADMAP_BYTES
from bot.roadmap.schema import Roadmap, WeekRange


def load_roadmap_file(path: Path | str) -> Roadmap:
    """Read and validate one roadmap file; the problems name the file as given."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RoadmapInvalid(str(path), [f"cannot be read: {exc.strerror or exc}"]) from exc
    return load_roadmap_bytes(data, str(path))


def load_roadmap_bytes(data: bytes, source: str) -> Roadmap:
    """Validate raw bytes (a file or an upload) named `source` in every message."""
    if len(data) > MAX_ROADMAP_BYTES:
        raise RoadmapInvalid(
            source, [f"is {len(data):,} bytes; a roadmap may be at most {MAX_ROADMAP_BYTES:,} bytes"]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RoadmapInvalid(source, [f"is not UTF-8 text (bad byte at offset {exc.start})"]) from exc
    return load_roadmap_text(text, source)


def load_roadmap_text(text: str, source: str) -> Roadmap:
    """Parse safe YAML and validate it; structural problems first, then cross-field ones."""
    document = _parse_yaml(text, source)
    if not isinstance(document, dict):
        kind = "empty" if document is None else f"a {type(document).__name__}"
        raise RoadmapInvalid(source, [f"must be a YAML mapping with id, title, modules...; it is {kind}"])
    try:
        roadmap = Roadmap.model_validate(document)
    except ValidationError as exc:
        raise RoadmapInvalid(source, [_describe(error) for error in exc.errors()]) from None
    problems = semantic_problems(roadmap)
    if problems:
        raise RoadmapInvalid(source, problems)
    return roadmap


if TYPE_CHECKING:
    # The checker sees the pure-Python loader: libyaml's, when present, has the same interface.
    _SafeBase = yaml.SafeLoader
else:
    _SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present: ~10x faster


class _StrictLoader(_SafeBase):
    """Safe YAML that refuses a key given twice (the second would silently replace the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping
)


def _parse_yaml(text: str, source: str) -> object:
    try:
        # Measured from the event stream first: nothing is built until its expanded size is known.
        problem = measure_expansion(text, _SafeBase)
        if problem is not None:
            raise RoadmapInvalid(source, [problem])
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.constructor.ConstructorError as exc:
        # The safe loader refuses python/object and friends: say so plainly instead of a parser dump.
        where = _mark(exc.problem_mark)
        if exc.problem and exc.problem.startswith("duplicate key"):
            raise RoadmapInvalid(source, [f"{where}{exc.problem}"]) from None
        raise RoadmapInvalid(source, [f"{where}unsafe or unknown YAML tag: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        where = _mark(getattr(exc, "problem_mark", None))
        problem = getattr(exc, "problem", None) or str(exc)
        raise RoadmapInvalid(source, [f"{where}not valid YAML: {problem}"]) from None


def _mark(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


def _describe(error: ErrorDetails) -> str:
    location = _location(error["loc"])
    message = error["msg"]
    if error["type"] == "missing":
        message = "field required"
    elif error["type"] == "extra_forbidden":
        message = "unknown field"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def _location(parts: Iterable[object]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif str(part) in {"range", "list"}:
            # pydantic names the union member it tried; that detail only confuses an author.
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


def semantic_problems(roadmap: Roadmap) -> list[str]:
    """Cross-field rules: unique keys, known phases, contiguous non-overlapping weeks, real tier weeks."""
    return [
        *_duplicate_keys("phases", [p.key for p in roadmap.phases]),
        *_duplicate_keys("tiers", [t.key for t in roadmap.tiers]),
        *_unknown_phases(roadmap),
        *_week_problems(roadmap),
        *_tier_problems(roadmap),
    ]


def _duplicate_keys(field: str, keys: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for index, key in enumerate(keys):
        if key in seen:
            problems.append(f"{field}[{index}].key: '{key}' is already used by {field}[{seen[key]}]")
        seen.setdefault(key, index)
    return problems


def _unknown_phases(roadmap: Roadmap) -> list[str]:
    known = list(dict.fromkeys(p.key for p in roadmap.phases))
    return [
        f"modules[{i}].phase: unknown phase '{m.phase}' (phases are: {', '.join(known)})"
        for i, m in enumerate(roadmap.modules)
        if m.phase not in known
    ]


def _week_problems(roadmap: Roadmap) -> list[str]:
    problems = []
    expected = 1
    previous = None
    for index, module in enumerate(roadmap.modules):
        if previous is not None and module.week == previous[1].week:
            problems.append(f"modules[{index}].week: week {module.week} is already used by modules[{previous[0]}]")
        elif previous is not None and module.week < previous[1].week:
            problems.append(
                f"modules[{index}].week: week {module.week} comes after week {previous[1].week}; "
                "list modules in week order"
            )
        elif previous is not None and module.week < expected:
            problems.append(
                f"modules[{index}].week: week {module.week} overlaps modules[{previous[0]}] "
                f"({previous[1].label.lower()})"
            )
        elif module.week > expected:
            gap = (
                f"week {expected} has no module"
                if module.week == expected + 1
                else f"weeks {expected}-{module.week - 1} have no module"
            )
            problems.append(f"modules[{index}].week: {gap}; weeks must follow on from week 1")
        expected = max(expected, module.last_week + 1)
        previous = (index, module)
    return problems


def _tier_problems(roadmap: Roadmap) -> list[str]:
    total = roadmap.total_weeks
    covered = {week for module in roadmap.modules for week in range(module.week, module.last_week + 1)}
    problems = []
    for index, tier in enumerate(roadmap.tiers):
        weeks = (
            [w for w in (tier.weeks.first, tier.weeks.last) if w is not None]
            if isinstance(tier.weeks, WeekRange)
            else list(tier.weeks)
        )
        missing = [w for w in weeks if w not in covered]
        if missing:
            listed = ", ".join(str(w) for w in missing)
            what = f"week {listed} does not exist" if len(missing) == 1 else f"weeks {listed} do not exist"
            problems.append(f"tiers[{index}].weeks: {what} (the roadmap has weeks 1-{total})")
    return problems
