"""Every bundled roadmap loads, renders within Discord's limits and is free of broken characters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.render import limits
from bot.render.week_post import render_embeds
from bot.roadmap import Roadmap, RoadmapRegistry, load_roadmap_file
from bot.roadmap.registry import BUNDLED_DIR, bundled_paths

EXPECTED_IDS = {
    "ml-ai-study-guide",
    "cv-ml-researcher",
    "ml-ai-expert",
    "ai-ml-career-paths",
    "ml-for-senior-engineers",
}

# Mis-decoded UTF-8 (emoji, dashes and accents read as cp1252/latin-1/cp1254/cp437) and replacement chars.
MOJIBAKE = ("Ã", "â€", "ðŸ", "ğŸ", "Ã¼", "ï¸", "\ufffd", "Ô", "üì")

PATHS = bundled_paths()


@pytest.fixture(scope="module")
def registry() -> RoadmapRegistry:
    return RoadmapRegistry.load()


@pytest.fixture(params=PATHS, ids=[p.stem for p in PATHS])
def roadmap_path(request: pytest.FixtureRequest) -> Path:
    return request.param


@pytest.fixture
def roadmap(roadmap_path: Path) -> Roadmap:
    return load_roadmap_file(roadmap_path)


def test_the_five_roadmaps_are_bundled(registry: RoadmapRegistry) -> None:
    assert BUNDLED_DIR.name == "roadmaps"
    assert len(PATHS) == 5, [p.name for p in PATHS]
    assert {r.id for r in registry.all()} == EXPECTED_IDS


def test_ids_are_unique_and_match_file_names(registry: RoadmapRegistry) -> None:
    ids = [load_roadmap_file(path).id for path in PATHS]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == [r.id for r in registry.all()]
    assert [p.stem for p in PATHS] == ids


def test_registry_finds_each_by_id(registry: RoadmapRegistry, roadmap: Roadmap) -> None:
    assert registry.get(roadmap.id) == roadmap
    assert registry.get("no-such-roadmap") is None


def test_no_mojibake_in_the_file(roadmap_path: Path) -> None:
    text = roadmap_path.read_text(encoding="utf-8")
    found = {
        sequence: [n for n, line in enumerate(text.splitlines(), start=1) if sequence in line]
        for sequence in MOJIBAKE
        if sequence in text
    }
    assert found == {}, f"broken characters (sequence: line numbers) in {roadmap_path.name}"


def test_every_module_renders_within_discord_limits(roadmap: Roadmap) -> None:
    due = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for module in roadmap.modules:
        embeds = render_embeds(roadmap, module, due=due)
        assert embeds, module.label
        for embed in embeds:
            where = f"{roadmap.id} {module.label}"
            assert len(embed) <= limits.EMBED_TOTAL, where
            assert len(embed.title or "") <= limits.EMBED_TITLE, where
            assert len(embed.description or "") <= limits.EMBED_DESCRIPTION, where
            assert len(embed.fields) <= limits.EMBED_FIELDS, where
            for field in embed.fields:
                assert 0 < len(field.name) <= limits.EMBED_FIELD_NAME, where
                assert 0 < len(field.value) <= limits.EMBED_FIELD_VALUE, where
        # Nothing of the checkpoint is lost to splitting: its title appears in some field.
        values = "\n".join(field.value for embed in embeds for field in embed.fields)
        assert module.checkpoint.title in values, f"{roadmap.id} {module.label}"


def test_every_module_has_a_checkpoint_title(roadmap: Roadmap) -> None:
    assert all(module.checkpoint.title.strip() for module in roadmap.modules)


def test_has_at_least_two_tiers_each_requiring_checkpoints(roadmap: Roadmap) -> None:
    assert len(roadmap.tiers) >= 2
    for tier in roadmap.tiers:
        modules = roadmap.tier_modules(tier)
        assert modules, f"{roadmap.id} tier {tier.key} requires no checkpoint"
        assert all(module.checkpoint.title for module in modules)


# --- ml-ai-study-guide: the document with weeks and the certification path ----------------------------------


@pytest.fixture(scope="module")
def study_guide(registry: RoadmapRegistry) -> Roadmap:
    roadmap = registry.get("ml-ai-study-guide")
    assert roadmap is not None
    return roadmap


def test_study_guide_covers_weeks_1_to_21_contiguously(study_guide: Roadmap) -> None:
    covered = [week for module in study_guide.modules for week in range(module.week, module.last_week + 1)]
    assert covered == list(range(1, 22))
    assert study_guide.total_weeks == 21


def test_study_guide_weeks_19_and_20_are_one_module(study_guide: Roadmap) -> None:
    module = study_guide.module_for_week(20)
    assert module is not None
    assert (module.week, module.weeks) == (19, 2)
    assert study_guide.module_for_week(19) is module
    assert 20 not in {m.week for m in study_guide.modules}
    assert module.label == "Weeks 19-20"
    assert module.title == "Domain Applications"


def test_study_guide_certification_path(study_guide: Roadmap) -> None:
    assert [(t.key, t.name) for t in study_guide.tiers] == [
        ("beginner", "ML/AI Foundations"),
        ("intermediate", "ML/AI Practitioner"),
        ("advanced", "ML/AI Specialist"),
        ("expert", "ML/AI Researcher"),
    ]
    assert [[m.week for m in study_guide.tier_modules(t)] for t in study_guide.tiers] == [
        [1, 2, 3, 4],
        [5, 6, 7, 8, 9, 10, 11, 12],
        [13, 14, 15, 16, 17, 18, 19],
        [21],
    ]


def test_study_guide_every_checkpoint_has_hours(study_guide: Roadmap) -> None:
    missing = [module.label for module in study_guide.modules if module.checkpoint.hours is None]
    assert missing == []
