"""The roadmap loader refuses broken files with every problem and its place, and accepts the shorthands."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bot.errors import RoadmapInvalid
from bot.roadmap import Hours, Material, Roadmap, load_roadmap_bytes, load_roadmap_file, load_roadmap_text
from bot.roadmap.loader import MAX_ROADMAP_BYTES

# A small valid roadmap: weeks 1, 2-3 (one module spanning two weeks) and 4; two phases, two tiers.
VALID: dict[str, Any] = {
    "id": "tiny",
    "title": "Tiny Roadmap",
    "summary": "A roadmap small enough to break on purpose.",
    "phases": [
        {"key": "basics", "title": "Basics"},
        {"key": "depth", "title": "Depth"},
    ],
    "modules": [
        {"week": 1, "title": "Start", "phase": "basics", "checkpoint": {"title": "First project"}},
        {"week": 2, "weeks": 2, "title": "Middle", "phase": "basics", "checkpoint": {"title": "Second project"}},
        {"week": 4, "title": "End", "phase": "depth", "checkpoint": {"title": "Third project"}},
    ],
    "tiers": [
        {"key": "bronze", "name": "Bronze", "role": "Bronze Learner", "weeks": {"first": 1, "last": 3}},
        {"key": "silver", "name": "Silver", "role": "Silver Learner", "weeks": [4]},
    ],
}

DROP = object()
"""An edit value meaning: remove this key."""


def _document(edits: dict[str, Any] | None = None) -> dict[str, Any]:
    """VALID with `edits` applied; keys are dotted paths such as `modules.1.checkpoint.title`."""
    document = copy.deepcopy(VALID)
    for path, value in (edits or {}).items():
        *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
        target: Any = document
        for part in parents:
            target = target[part]
        if value is DROP:
            del target[last]
        else:
            target[last] = value
    return document


def _yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _problems(text: str, source: str = "x.yaml") -> list[str]:
    with pytest.raises(RoadmapInvalid) as refused:
        load_roadmap_text(text, source)
    assert str(refused.value) == "\n".join(refused.value.problems)
    return refused.value.problems


def _modules(*layout: int | tuple[int, int]) -> list[dict[str, Any]]:
    """Modules opening at the given weeks; `(week, weeks)` for one spanning several weeks."""
    modules = []
    for index, spec in enumerate(layout):
        week, weeks = spec if isinstance(spec, tuple) else (spec, 1)
        modules.append(
            {
                "week": week,
                "weeks": weeks,
                "title": f"Module {index}",
                "phase": "basics",
                "checkpoint": {"title": f"Project {index}"},
            }
        )
    return modules


def test_the_valid_document_loads() -> None:
    roadmap = load_roadmap_text(_yaml(VALID), "x.yaml")
    assert roadmap.id == "tiny"
    assert [m.label for m in roadmap.modules] == ["Week 1", "Weeks 2-3", "Week 4"]
    assert roadmap.total_weeks == 4


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        pytest.param(
            {"modules.1.checkpoint.title": DROP},
            ["x.yaml: modules[1].checkpoint.title: field required"],
            id="missing-checkpoint-title",
        ),
        pytest.param({"id": DROP}, ["x.yaml: id: field required"], id="missing-id"),
        pytest.param(
            {"modules.2.checkpoint": DROP}, ["x.yaml: modules[2].checkpoint: field required"], id="missing-checkpoint"
        ),
        pytest.param({"tiers.0.weeks": DROP}, ["x.yaml: tiers[0].weeks: field required"], id="missing-tier-weeks"),
        pytest.param({"modules": DROP}, ["x.yaml: modules: field required"], id="missing-modules"),
        pytest.param(
            {"modules": []},
            ["x.yaml: modules: needs at least one entry"],
            id="no-modules",
        ),
        pytest.param({"modules.0.colour": "red"}, ["x.yaml: modules[0].colour: unknown field"], id="unknown-field"),
        pytest.param({"author": "me"}, ["x.yaml: author: unknown field"], id="unknown-top-level-field"),
        pytest.param(
            {"modules.1.checkpoint.deadline": "soon"},
            ["x.yaml: modules[1].checkpoint.deadline: unknown field"],
            id="unknown-nested-field",
        ),
        pytest.param(
            {"modules.0.week": "three"},
            ["x.yaml: modules[0].week: Input should be a valid integer, unable to parse string as an integer"],
            id="week-not-a-number",
        ),
        pytest.param(
            {"modules.0.week": 1.5},
            ["x.yaml: modules[0].week: Input should be a valid integer, got a number with a fractional part"],
            id="week-fractional",
        ),
        pytest.param(
            {"modules.0.week": 0},
            ["x.yaml: modules[0].week: Input should be greater than or equal to 1"],
            id="week-zero",
        ),
        pytest.param(
            {"modules.0.title": ["a", "list"]},
            ["x.yaml: modules[0].title: Input should be a valid string"],
            id="title-not-a-string",
        ),
        pytest.param(
            {"modules.0.materials": 5},
            ["x.yaml: modules[0].materials: Input should be a valid tuple"],
            id="materials-not-a-list",
        ),
        pytest.param(
            {"modules.0.materials": [5]},
            ["x.yaml: modules[0].materials[0]: Input should be a valid dictionary or instance of Material"],
            id="material-not-a-mapping",
        ),
        pytest.param(
            {"modules.0.checkpoint": "just a title"},
            ["x.yaml: modules[0].checkpoint: Input should be a valid dictionary or instance of Checkpoint"],
            id="checkpoint-not-a-mapping",
        ),
        pytest.param(
            {"modules.0.materials": [{"title": "Docs", "url": "ftp://example.com/docs"}]},
            ["x.yaml: modules[0].materials[0].url: String should match pattern '^https?://\\S+$'"],
            id="material-url-not-http",
        ),
        pytest.param(
            {"modules.0.hours": "lots"},
            ["x.yaml: modules[0].hours: hours 'lots' is not a number, a range like '15-20' or '60+'"],
            id="hours-words",
        ),
        pytest.param(
            {"modules.0.checkpoint.hours": "15-"},
            ["x.yaml: modules[0].checkpoint.hours: hours '15-' is not a number, a range like '15-20' or '60+'"],
            id="hours-half-range",
        ),
        pytest.param(
            {"modules.0.hours": True},
            ["x.yaml: modules[0].hours: hours must be a number, a range like '15-20' or an open range like '60+'"],
            id="hours-boolean",
        ),
        pytest.param(
            {"modules.0.hours": -3},
            ["x.yaml: modules[0].hours.low: Input should be greater than or equal to 0"],
            id="hours-negative",
        ),
        pytest.param(
            {"modules.1.checkpoint.hours": "20-15"},
            ["x.yaml: modules[1].checkpoint.hours: hours range 20-15 runs backwards"],
            id="hours-backwards",
        ),
        pytest.param(
            {"tiers.0.color": "#12345"},
            ["x.yaml: tiers[0].color: String should match pattern '^#[0-9a-fA-F]{6}$'"],
            id="colour-too-short",
        ),
        pytest.param(
            {"tiers.1.color": "green"},
            ["x.yaml: tiers[1].color: String should match pattern '^#[0-9a-fA-F]{6}$'"],
            id="colour-name",
        ),
        pytest.param(
            {"id": "ML Guide"},
            ["x.yaml: id: String should match pattern '^[a-z0-9][a-z0-9-]{0,62}$'"],
            id="id-not-a-slug",
        ),
        pytest.param(
            {"phases.1.key": "-depth"},
            ["x.yaml: phases[1].key: String should match pattern '^[a-z0-9][a-z0-9-]{0,62}$'"],
            id="phase-key-not-a-slug",
        ),
        pytest.param(
            {"tiers.1.weeks": []},
            ["x.yaml: tiers[1].weeks: a week list needs at least one week, each 1 or more"],
            id="tier-week-list-empty",
        ),
    ],
)
def test_structural_problem_is_refused_with_its_location(edits: dict[str, Any], expected: list[str]) -> None:
    assert _problems(_yaml(_document(edits))) == expected


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        pytest.param(
            [1, 1, 2],
            ["x.yaml: modules[1].week: week 1 is already used by modules[0]"],
            id="duplicate-week",
        ),
        pytest.param(
            [1, (2, 2), 3],
            ["x.yaml: modules[2].week: week 3 overlaps modules[1] (weeks 2-3)"],
            id="overlaps-multi-week-module",
        ),
        pytest.param(
            [1, 3, 2],
            [
                "x.yaml: modules[1].week: week 2 has no module; weeks must follow on from week 1",
                "x.yaml: modules[2].week: week 2 comes after week 3; list modules in week order",
            ],
            id="out-of-order",
        ),
        pytest.param(
            [1, 2, 5],
            ["x.yaml: modules[2].week: weeks 3-4 have no module; weeks must follow on from week 1"],
            id="gap",
        ),
        pytest.param(
            [1, (2, 2), 5],
            ["x.yaml: modules[2].week: week 4 has no module; weeks must follow on from week 1"],
            id="gap-after-multi-week-module",
        ),
        pytest.param(
            [2, 3],
            ["x.yaml: modules[0].week: week 1 has no module; weeks must follow on from week 1"],
            id="starts-at-week-2",
        ),
        pytest.param(
            [4, 5],
            ["x.yaml: modules[0].week: weeks 1-3 have no module; weeks must follow on from week 1"],
            id="starts-at-week-4",
        ),
    ],
)
def test_week_layout_problem_is_refused(layout: list[int | tuple[int, int]], expected: list[str]) -> None:
    assert _problems(_yaml(_document({"modules": _modules(*layout), "tiers": []}))) == expected


def test_contiguous_layout_with_multi_week_modules_is_accepted() -> None:
    roadmap = load_roadmap_text(_yaml(_document({"modules": _modules(1, (2, 3), 5, (6, 2)), "tiers": []})), "x.yaml")
    assert [(m.week, m.last_week) for m in roadmap.modules] == [(1, 1), (2, 4), (5, 5), (6, 7)]


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        pytest.param(
            {"modules.2.phase": "mastery"},
            ["x.yaml: modules[2].phase: unknown phase 'mastery' (phases are: basics, depth)"],
            id="unknown-phase",
        ),
        pytest.param(
            {"phases.1.key": "basics", "modules.2.phase": "basics"},
            ["x.yaml: phases[1].key: 'basics' is already used by phases[0]"],
            id="duplicate-phase-key",
        ),
        pytest.param(
            {"tiers.1.key": "bronze"},
            ["x.yaml: tiers[1].key: 'bronze' is already used by tiers[0]"],
            id="duplicate-tier-key",
        ),
        pytest.param(
            {"tiers.0.weeks": {"first": 1, "last": 9}},
            ["x.yaml: tiers[0].weeks: week 9 does not exist (the roadmap has weeks 1-4)"],
            id="tier-range-past-the-end",
        ),
        pytest.param(
            {"tiers.0.weeks": {"first": 6, "last": 9}},
            ["x.yaml: tiers[0].weeks: weeks 6, 9 do not exist (the roadmap has weeks 1-4)"],
            id="tier-range-wholly-outside",
        ),
        pytest.param(
            {"tiers.0.weeks": {"first": 7}},
            ["x.yaml: tiers[0].weeks: week 7 does not exist (the roadmap has weeks 1-4)"],
            id="tier-open-range-outside",
        ),
        pytest.param(
            {"tiers.1.weeks": [4, 6, 8]},
            ["x.yaml: tiers[1].weeks: weeks 6, 8 do not exist (the roadmap has weeks 1-4)"],
            id="tier-list-outside",
        ),
    ],
)
def test_cross_field_problem_is_refused(edits: dict[str, Any], expected: list[str]) -> None:
    assert _problems(_yaml(_document(edits))) == expected


def test_tier_may_name_a_week_inside_a_multi_week_module() -> None:
    roadmap = load_roadmap_text(_yaml(_document({"tiers.1.weeks": [3]})), "x.yaml")
    assert [m.week for m in roadmap.tier_modules(roadmap.tiers[1])] == [2]


def test_backwards_tier_week_range_is_refused() -> None:
    problems = _problems(_yaml(_document({"tiers.0.weeks": {"first": 3, "last": 1}})))
    assert any(
        p.startswith("x.yaml: tiers[0].weeks") and p.endswith(": week range 3-1 runs backwards") for p in problems
    ), problems


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        pytest.param({"first": 3, "last": 1}, "x.yaml: tiers[0].weeks: week range 3-1 runs backwards", id="backwards"),
        pytest.param("1-3", None, id="string"),
    ],
)
def test_tier_weeks_problem_is_one_line_at_the_field(weeks: object, expected: str | None) -> None:
    problems = _problems(_yaml(_document({"tiers.0.weeks": weeks})))
    assert len(problems) == 1, problems
    assert problems[0].startswith("x.yaml: tiers[0].weeks: "), problems
    if expected is not None:
        assert problems == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "id: tiny\nmodules: [\n  - week: 1\n",
            "x.yaml: line 3, column 3: not valid YAML: ",
            id="unclosed-flow-sequence",
        ),
        pytest.param(
            "id: tiny\ntitle: 'never closed\n",
            "x.yaml: line 3, column 1: not valid YAML: ",
            id="unclosed-quote",
        ),
        pytest.param(
            "id: tiny\n\ttitle: Tabs\n",
            "x.yaml: line 2, column 1: not valid YAML: ",
            id="tab-indent",
        ),
    ],
)
def test_yaml_syntax_error_names_line_and_column(text: str, expected: str) -> None:
    # The parser's own wording differs between libyaml and pure Python; the place must not.
    [problem] = _problems(text)
    assert problem.startswith(expected) and len(problem) > len(expected)


def test_unsafe_yaml_tag_is_refused() -> None:
    assert _problems('!!python/object/apply:os.system ["echo hi"]\n') == [
        "x.yaml: line 1, column 1: unsafe or unknown YAML tag: "
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"
    ]


def test_unsafe_yaml_tag_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    unsafe = f'title: !!python/object/apply:os.system ["touch {marker}"]'
    text = _yaml(_document()).replace("title: Tiny Roadmap", unsafe)
    assert _problems(text) == [
        "x.yaml: line 2, column 8: unsafe or unknown YAML tag: "
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"
    ]
    assert not marker.exists()


def test_unknown_local_tag_is_refused() -> None:
    assert _problems("id: !slug tiny\n") == [
        "x.yaml: line 1, column 5: unsafe or unknown YAML tag: could not determine a constructor for the tag '!slug'"
    ]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param("", "empty", id="empty-file"),
        pytest.param("# only a comment\n", "empty", id="only-comments"),
        pytest.param("- id: tiny\n- id: other\n", "a list", id="list"),
        pytest.param("just some words\n", "a str", id="scalar"),
    ],
)
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    assert _problems(text) == [f"x.yaml: must be a YAML mapping with id, title, modules...; it is {kind}"]


def test_non_utf8_bytes_are_refused_with_the_offset() -> None:
    with pytest.raises(RoadmapInvalid) as refused:
        load_roadmap_bytes(b"id: caf\xe9\n", "upload.yaml")
    assert refused.value.problems == ["upload.yaml: is not UTF-8 text (bad byte at offset 7)"]


def test_file_over_the_size_limit_is_refused_before_parsing() -> None:
    # Not even YAML: the size check must come first.
    data = b"\xff" * (MAX_ROADMAP_BYTES + 1)
    with pytest.raises(RoadmapInvalid) as refused:
        load_roadmap_bytes(data, "big.yaml")
    assert refused.value.problems == [
        f"big.yaml: is {MAX_ROADMAP_BYTES + 1:,} bytes; a roadmap may be at most {MAX_ROADMAP_BYTES:,} bytes"
    ]
    assert MAX_ROADMAP_BYTES == 256 * 1024


def test_file_exactly_at_the_size_limit_is_accepted() -> None:
    data = _yaml(VALID).encode()
    data += b"#" * (MAX_ROADMAP_BYTES - len(data) - 1) + b"\n"
    assert len(data) == MAX_ROADMAP_BYTES
    assert load_roadmap_bytes(data, "x.yaml").id == "tiny"


def test_missing_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(RoadmapInvalid) as refused:
        load_roadmap_file(path)
    assert refused.value.problems == [f"{path}: cannot be read: No such file or directory"]


def test_directory_is_refused_as_unreadable(tmp_path: Path) -> None:
    with pytest.raises(RoadmapInvalid) as refused:
        load_roadmap_file(tmp_path)
    assert refused.value.problems == [f"{tmp_path}: cannot be read: Is a directory"]


SEVERAL_STRUCTURAL = """\
id: Broken Roadmap
title: Broken
summary: Several problems at once.
phases:
  - key: basics
    title: Basics
modules:
  - week: 1
    title: First
    phase: basics
    hours: lots
    checkpoint:
      title: Project one
  - week: two
    title: Second
    phase: basics
    colour: red
    checkpoint:
      description: no title here
  - week: 3
    title: Third
    phase: basics
    checkpoint:
      title: Project three
tiers:
  - key: bronze
    name: Bronze
    role: Bronze Learner
    color: green
    weeks: [1]
"""

SEVERAL_CROSS_FIELD = """\
id: broken
title: Broken
summary: Several problems at once.
phases:
  - key: basics
    title: Basics
  - key: basics
    title: Basics again
modules:
  - week: 1
    title: First
    phase: basics
    checkpoint: {title: Project one}
  - week: 3
    title: Third
    phase: mastery
    checkpoint: {title: Project three}
tiers:
  - key: bronze
    name: Bronze
    role: Bronze Learner
    weeks: [1, 2]
  - key: bronze
    name: Bronze again
    role: Bronze Learner
    weeks: {first: 3, last: 5}
"""


def test_file_with_several_structural_problems_lists_every_one(tmp_path: Path) -> None:
    path = tmp_path / "several.yaml"
    path.write_text(SEVERAL_STRUCTURAL, encoding="utf-8")
    with pytest.raises(RoadmapInvalid) as refused:
        load_roadmap_file(path)
    assert refused.value.problems == [
        f"{path}: id: String should match pattern '^[a-z0-9][a-z0-9-]{{0,62}}$'",
        f"{path}: modules[0].hours: hours 'lots' is not a number, a range like '15-20' or '60+'",
        f"{path}: modules[1].week: Input should be a valid integer, unable to parse string as an integer",
        f"{path}: modules[1].checkpoint.title: field required",
        f"{path}: modules[1].colour: unknown field",
        f"{path}: tiers[0].color: String should match pattern '^#[0-9a-fA-F]{{6}}$'",
    ]


def test_every_module_broken_does_not_claim_there_are_no_modules() -> None:
    problems = _problems(_yaml(_document({"modules.0.hours": "lots", "modules.1.week": "two", "modules.2.title": ""})))
    assert problems == [
        "x.yaml: modules[0].hours: hours 'lots' is not a number, a range like '15-20' or '60+'",
        "x.yaml: modules[1].week: Input should be a valid integer, unable to parse string as an integer",
        "x.yaml: modules[2].title: String should have at least 1 character",
    ]


def test_file_with_several_cross_field_problems_lists_every_one(tmp_path: Path) -> None:
    path = tmp_path / "several.yaml"
    path.write_text(SEVERAL_CROSS_FIELD, encoding="utf-8")
    with pytest.raises(RoadmapInvalid) as refused:
        load_roadmap_file(path)
    assert refused.value.problems == [
        f"{path}: phases[1].key: 'basics' is already used by phases[0]",
        f"{path}: tiers[1].key: 'bronze' is already used by tiers[0]",
        f"{path}: modules[1].phase: unknown phase 'mastery' (phases are: basics)",
        f"{path}: modules[1].week: week 2 has no module; weeks must follow on from week 1",
        f"{path}: tiers[0].weeks: week 2 does not exist (the roadmap has weeks 1-3)",
        f"{path}: tiers[1].weeks: week 5 does not exist (the roadmap has weeks 1-3)",
    ]


# --- what is accepted ---------------------------------------------------------------------------


def test_material_may_be_a_plain_string() -> None:
    roadmap = load_roadmap_text(
        _yaml(_document({"modules.0.materials": ["Chapter 1", {"title": "Docs", "url": "https://example.com/d"}]})),
        "x.yaml",
    )
    assert roadmap.modules[0].materials == (
        Material(title="Chapter 1"),
        Material(title="Docs", url="https://example.com/d"),
    )
    assert roadmap.modules[0].materials[0].url is None


@pytest.mark.parametrize(
    ("given", "low", "high", "shown"),
    [
        pytest.param(12, 12, 12, "12 h", id="number"),
        pytest.param(2.5, 2.5, 2.5, "2.5 h", id="fraction"),
        pytest.param("15-20", 15, 20, "15–20 h", id="range"),
        pytest.param("15–20", 15, 20, "15–20 h", id="range-en-dash"),
        pytest.param("60+", 60, None, "60+ h", id="open-range"),
        pytest.param("8", 8, 8, "8 h", id="number-as-text"),
    ],
)
def test_hours_shorthands(given: object, low: float, high: float | None, shown: str) -> None:
    roadmap = load_roadmap_text(_yaml(_document({"modules.0.hours": given, "modules.0.checkpoint.hours": given})), "x")
    module = roadmap.modules[0]
    assert module.hours == Hours(low=low, high=high)
    assert module.checkpoint.hours == module.hours
    assert str(module.hours) == shown


def test_roadmap_is_immutable() -> None:
    roadmap = load_roadmap_text(_yaml(VALID), "x.yaml")
    with pytest.raises(ValidationError, match="frozen"):
        roadmap.title = "Changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        roadmap.modules[0].checkpoint.title = "Changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        roadmap.modules[0].objectives[0] = "x"  # type: ignore[index]
    assert isinstance(roadmap.modules, tuple)
    assert roadmap.title == "Tiny Roadmap"
    assert roadmap.modules[0].checkpoint.title == "First project"


# --- tier_modules ----------------------------------------------------------------------------------

# Weeks 1, 2-3 (two weeks), 4 and 5.
TIERED = _document({"modules": _modules(1, (2, 2), 4, 5), "tiers": []})


def _tier_weeks(weeks: object) -> list[int]:
    document = copy.deepcopy(TIERED)
    document["tiers"] = [{"key": "t", "name": "T", "role": "T", "weeks": weeks}]
    roadmap: Roadmap = load_roadmap_text(_yaml(document), "x.yaml")
    return [m.week for m in roadmap.tier_modules(roadmap.tiers[0])]


@pytest.mark.parametrize(
    ("weeks", "opening"),
    [
        pytest.param({"first": 1, "last": 2}, [1, 2], id="range-ending-inside-two-week-module"),
        pytest.param({"first": 3, "last": 4}, [2, 4], id="range-starting-inside-two-week-module"),
        pytest.param({"first": 2, "last": 3}, [2], id="range-equal-to-two-week-module"),
        pytest.param({"first": 4, "last": 4}, [4], id="single-week-range"),
        pytest.param({"first": 4}, [4, 5], id="open-range"),
        pytest.param({"first": 1}, [1, 2, 4, 5], id="open-range-from-1"),
        pytest.param([1, 5], [1, 5], id="list"),
        pytest.param([3], [2], id="list-week-inside-two-week-module"),
        pytest.param([2, 3, 5], [2, 5], id="list-naming-a-module-twice"),
    ],
)
def test_tier_modules(weeks: object, opening: list[int]) -> None:
    assert _tier_weeks(weeks) == opening


def test_duplicate_key_is_refused_with_its_line() -> None:
    # A repeated key would otherwise silently replace the first (e.g. a second `checkpoint:`).
    assert _problems("id: a\ntitle: T\nid: b\n") == ["x.yaml: line 3, column 1: duplicate key 'id'"]
