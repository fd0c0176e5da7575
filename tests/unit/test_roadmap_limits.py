"""Uploads are bounded by what they expand to: aliases, nesting, values, parts, week posts, problem lists."""

from __future__ import annotations

import json
import time

import pytest

from bot.errors import RoadmapInvalid
from bot.roadmap.limits import MAX_DEPTH, MAX_MODULES, MAX_TIERS
from bot.roadmap_check import check_roadmap_bytes
from bot.roadmap_worker import RoadmapChecker

HEAD = 'id: small\ntitle: "Small"\nsummary: "A test roadmap."\nphases: [{key: p, title: "P"}]\n'


def modules(count: int, extra: str = "") -> str:
    return "modules:\n" + "".join(
        f'  - {{week: {w}, title: "M{w}", phase: p, checkpoint: {{title: "C{w}"}}{extra}}}\n'
        for w in range(1, count + 1)
    )


def refusal(text: str) -> RoadmapInvalid:
    with pytest.raises(RoadmapInvalid) as caught:
        check_roadmap_bytes(text.encode(), "up.yaml")
    return caught.value


def test_aliases_within_the_limits_are_expanded_like_any_yaml() -> None:
    shared = '&tools [{title: "NumPy", url: "https://numpy.org"}, "Pandas"]'
    text = HEAD + "modules:\n" + (
        f'  - {{week: 1, title: "A", phase: p, checkpoint: {{title: "C1"}}, materials: {shared}}}\n'
        '  - {week: 2, title: "B", phase: p, checkpoint: {title: "C2"}, materials: *tools}\n'
    )
    roadmap = check_roadmap_bytes(text.encode(), "up.yaml")
    assert [m.title for m in roadmap.modules[1].materials] == ["NumPy", "Pandas"]


def test_aliases_are_counted_as_the_text_they_expand_to() -> None:
    # 3 KB of file; 400 references to a 3,000-character text are 1.2 million characters.
    objectives = "[" + ", ".join([f'&long "{"y" * 3000}"'] + ["*long"] * 399) + "]"
    exc = refusal(HEAD + modules(1, f", objectives: {objectives}"))
    assert exc.problems == [
        "up.yaml: line 6: holds more than 1,000,000 characters of text once its aliases are expanded; "
        "a roadmap may hold at most that"
    ]


def test_a_billion_laughs_is_refused_by_its_value_count_before_anything_is_built() -> None:
    levels = ["a0: &a0 [l, l, l, l, l, l, l, l, l, l]\n"]
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]\n" for n in range(1, 10)]
    exc = refusal(HEAD + "".join(levels) + modules(1))
    assert exc.problems == [
        "up.yaml: line 9: holds more than 100,000 values once its aliases are expanded; a roadmap may hold at most that"
    ]


@pytest.mark.parametrize("through_alias", [False, True])
def test_nesting_deeper_than_the_limit_is_refused_with_a_clear_message(through_alias: bool) -> None:
    if through_alias:
        # Each half stays within the limit; an alias puts one inside the other.
        half = MAX_DEPTH // 2 + 1
        text = HEAD + f"appendix: [&deep {'[' * half}{']' * half}, {'[' * half}*deep{']' * half}]\n"
    else:
        text = HEAD + "appendix: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    exc = refusal(text + modules(1))
    assert exc.problems == ["up.yaml: line 5: nested more than 50 levels deep (aliases included); flatten it"]


def test_nesting_up_to_the_limit_reaches_the_schema() -> None:
    text = HEAD + modules(1) + "appendix: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    exc = refusal(text)
    assert exc.problems[0].startswith("up.yaml: appendix[0]: ")


def test_too_many_modules_or_tiers_are_refused_by_count() -> None:
    exc = refusal(HEAD + modules(MAX_MODULES + 1))
    assert exc.problems == ["up.yaml: modules: has 201 entries; a roadmap may have at most 200"]
    tiers = "tiers:\n" + "".join(
        f'  - {{key: t{n}, name: "T", role: "R", weeks: [1]}}\n' for n in range(MAX_TIERS + 1)
    )
    exc = refusal(HEAD + modules(1) + tiers)
    assert exc.problems == [f"up.yaml: tiers: has {MAX_TIERS + 1} entries; a roadmap may have at most {MAX_TIERS}"]
    assert len(check_roadmap_bytes((HEAD + modules(MAX_MODULES)).encode(), "up.yaml").modules) == MAX_MODULES


def test_tier_week_lists_name_each_week_once_and_only_weeks_the_roadmap_has() -> None:
    weeks = ", ".join(["1", "2"] * 3000)
    exc = refusal(HEAD + modules(2) + f"tiers: [{{key: t, name: T, role: R, weeks: [{weeks}]}}]\n")
    assert exc.problems == ["up.yaml: tiers[0].weeks: a week list names each week once (listed more than once: 1, 2)"]
    exc = refusal(HEAD + modules(2) + "tiers: [{key: t, name: T, role: R, weeks: [2, 3, 9]}]\n")
    assert exc.problems == ["up.yaml: tiers[0].weeks: weeks 3, 9 do not exist (the roadmap has weeks 1-2)"]


def test_a_week_post_of_more_than_ten_messages_is_refused_naming_the_module() -> None:
    material = json.dumps({"title": "z" * 1900, "url": "https://example.com/" + "p" * 1900})
    fits = HEAD + modules(1, f", materials: [{', '.join([material] * 12)}]")
    assert check_roadmap_bytes(fits.encode(), "up.yaml")
    too_long = HEAD + modules(2).replace(
        'title: "C2"}}', f'title: "C2"}}, materials: [{", ".join([material] * 20)}]}}'
    )
    exc = refusal(too_long)
    assert exc.problems == [
        "up.yaml: modules[1]: its week post would take 15 messages; a week post may take at most 10 "
        "(shorten its materials, objectives, practice or checkpoint)"
    ]


def test_the_message_shows_the_first_problems_and_counts_the_rest() -> None:
    exc = refusal(HEAD + modules(MAX_MODULES, ', weeks: 0, hours: "soon"'))
    assert len(exc.problems) == 2 * MAX_MODULES
    lines = exc.message.splitlines()
    assert lines[:2] == [
        "up.yaml: modules[0].weeks: Input should be greater than or equal to 1",
        "up.yaml: modules[0].hours: hours 'soon' is not a number, a range like '15-20' or '60+'",
    ]
    assert len(lines) == 21 and lines[-1] == "…and 380 more"
    assert len(exc.message) <= RoadmapInvalid.MESSAGE_CHARS + len(lines[-1]) + 1


def test_long_problems_are_cut_by_length_not_only_by_count() -> None:
    exc = RoadmapInvalid("f.yaml", [f"problem {n}: " + "x" * 400 for n in range(30)])
    assert exc.message.splitlines()[-1] == "…and 26 more"
    assert len(exc.message) < 2000


def burn_cpu(data: bytes, source: str) -> None:
    """A check that never ends: pure-Python work that holds the GIL for as long as it runs."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        pass


async def test_a_check_that_runs_past_its_time_is_stopped_and_the_next_one_still_works() -> None:
    slow = RoadmapChecker(check=burn_cpu, timeout=0.5)
    try:
        with pytest.raises(RoadmapInvalid) as caught:
            await slow.check(b"id: x", "slow.yaml")
        assert caught.value.problems == [
            "slow.yaml: took more than 0.5 seconds to check, so it was refused; make it smaller"
        ]
    finally:
        await slow.close()
    checker = RoadmapChecker()
    try:
        roadmap = await checker.check((HEAD + modules(2)).encode(), "up.yaml")
        assert roadmap.total_weeks == 2
        with pytest.raises(RoadmapInvalid) as caught:
            await checker.check((HEAD + modules(MAX_MODULES + 1)).encode(), "many.yaml")
        assert caught.value.problems == ["many.yaml: modules: has 201 entries; a roadmap may have at most 200"]
    finally:
        await checker.close()
