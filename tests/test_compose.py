"""docker-compose.yml (not run here: no Docker) parses, its settings pass validation and its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.__main__ import _parser
from bot.config import load_settings

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def _interpolated(value: object) -> str:
    """Compose's `${NAME:-default}` with the default, and `${NAME:?...}` with a stand-in."""
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
    return re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "stand-in", text)


def test_two_bots_split_four_shards_after_one_migration_and_are_health_checked() -> None:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    _parser().parse_args(services["migrate"]["command"][3:])
    owned = []
    for name in ("bot-a", "bot-b"):
        bot = services[name]
        assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        _parser().parse_args(bot["command"][3:])
        _parser().parse_args(bot["healthcheck"]["test"][4:])
        settings = load_settings({k: _interpolated(v) for k, v in bot["environment"].items()}, env_file=None)
        assert settings.HEALTH_PORT is not None and settings.DATABASE_URL.startswith("postgresql+asyncpg://")
        owned.append(settings.ownership)
    assert [sorted(o.ids) for o in owned] == [[0, 1], [2, 3]] and {o.count for o in owned} == {4}
    assert owned[0].owns_dms and not owned[1].owns_dms
