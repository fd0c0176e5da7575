"""Command line: run | health | demo | db upgrade | db backup | roadmap validate | roadmap show."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, load_settings
from bot.errors import RoadmapInvalid

NO_TOKEN = (
    "DISCORD_TOKEN is not set. Create a bot at https://discord.com/developers/applications, "
    "copy its token into the DISCORD_TOKEN environment variable (or a .env file) and run again; "
    "or try `python -m bot demo`, which needs no token."
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except RoadmapInvalid as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="A Discord bot for study cohorts.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot (needs DISCORD_TOKEN)", description="Run the bot.")
    run.set_defaults(handler=_run)

    health = commands.add_parser(
        "health",
        help="ask the running bot whether it is ready (exit 0) or not (exit 1), on HEALTH_PORT",
        description="Ask the bot's /readyz (or /healthz with --alive) on 127.0.0.1:HEALTH_PORT.",
    )
    health.add_argument("--alive", action="store_true", help="only ask whether the process is alive")
    health.set_defaults(handler=_health)

    demo = commands.add_parser(
        "demo",
        help="play a short cohort against a local Discord sandbox (no token needed)",
        description="Run the real bot against a local Discord sandbox, in accelerated time.",
    )
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    demo.set_defaults(handler=_demo)

    db = commands.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    upgrade = db_commands.add_parser(
        "upgrade", help="apply migrations to DATABASE_URL", description="Apply every pending migration."
    )
    upgrade.set_defaults(handler=_db_upgrade)
    backup = db_commands.add_parser(
        "backup",
        help="copy the live SQLite database to PATH (a new file), while the bot runs",
        description="Make a consistent copy of the SQLite database in DATABASE_URL with SQLite's online backup.",
    )
    backup.add_argument("path", type=Path, metavar="PATH")
    backup.set_defaults(handler=_db_backup)

    roadmap = commands.add_parser("roadmap", help="check and read roadmaps", description="Roadmap tools.")
    roadmap_commands = roadmap.add_subparsers(required=True, metavar="ACTION")
    validate = roadmap_commands.add_parser(
        "validate",
        help="validate roadmap files (default: all bundled)",
        description="Validate roadmap files; print every problem and exit 1 if any.",
    )
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    validate.set_defaults(handler=_roadmap_validate)
    show = roadmap_commands.add_parser(
        "show", help="print a bundled roadmap or one week's post", description="Print a roadmap or a week."
    )
    show.add_argument("roadmap_id", metavar="ID")
    show.add_argument("--week", type=int, help="print the post of the module open in this week")
    show.set_defaults(handler=_roadmap_show)
    return parser


def _run(_args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.DISCORD_TOKEN is None and settings.DISCORD_SANDBOX_URL is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.startup import run_bot

    return run_bot(settings)


def _health(args: argparse.Namespace) -> int:
    from bot.health_client import ask

    settings = load_settings()
    if settings.HEALTH_PORT is None:
        print("HEALTH_PORT is not set, so the bot serves no health check; set it for both the bot and this command",
              file=sys.stderr)
        return 2
    healthy, answer = ask(settings.HEALTH_PORT, "/healthz" if args.alive else "/readyz")
    print(answer, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return asyncio.run(run_demo(verbose=not args.quiet))


def _db_upgrade(_args: argparse.Namespace) -> int:
    from bot.db.engine import create_engine
    from bot.db.migrate import upgrade_to_head

    settings = load_settings()

    async def upgrade() -> None:
        engine = create_engine(settings.DATABASE_URL)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
    print("database is up to date")
    return 0


def _db_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupRefused, backup_sqlite

    settings = load_settings()
    try:
        size = backup_sqlite(settings.DATABASE_URL, args.path)
    except BackupRefused as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 2
    print(f"backed up to {args.path} ({size:,} bytes)")
    return 0


def _roadmap_validate(args: argparse.Namespace) -> int:
    from bot.roadmap import load_roadmap_file
    from bot.roadmap.registry import bundled_paths
    from bot.roadmap_check import checked_posts

    paths = args.paths or bundled_paths()
    if not paths:
        print("no roadmap files found", file=sys.stderr)
        return 1
    failed = 0
    for path in paths:
        try:
            roadmap = checked_posts(load_roadmap_file(path), str(path))
        except RoadmapInvalid as exc:
            failed += 1
            print("\n".join(exc.problems), file=sys.stderr)
        else:
            print(f"{path}: ok ({roadmap.id}: {len(roadmap.modules)} modules, {roadmap.total_weeks} weeks, "
                  f"{len(roadmap.tiers)} tiers)")
    if failed:
        print(f"{failed} of {len(paths)} roadmap files are invalid", file=sys.stderr)
    return 1 if failed else 0


def _roadmap_show(args: argparse.Namespace) -> int:
    from bot.render.week_post import render_text
    from bot.roadmap import RoadmapRegistry

    registry = RoadmapRegistry.load()
    roadmap = registry.get(args.roadmap_id)
    if roadmap is None:
        known = ", ".join(r.id for r in registry.all())
        print(f"unknown roadmap '{args.roadmap_id}' (bundled: {known})", file=sys.stderr)
        return 1
    if args.week is None:
        print(f"{roadmap.title} ({roadmap.id}), {roadmap.total_weeks} weeks\n{roadmap.summary}\n")
        for module in roadmap.modules:
            print(f"  {module.label}: {module.title}")
        for tier in roadmap.tiers:
            weeks = ", ".join(str(m.week) for m in roadmap.tier_modules(tier))
            print(f"  tier {tier.key}: {tier.name} (checkpoints of weeks {weeks})")
        return 0
    shown = roadmap.module_for_week(args.week)
    if shown is None:
        print(f"{roadmap.id} has weeks 1-{roadmap.total_weeks}; there is no week {args.week}", file=sys.stderr)
        return 1
    print(render_text(roadmap, shown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
