"""Peer assignment, property-tested over random cohorts: balance, no self-review, only that week's submitters,
the same answer from the same facts, and earlier pairs avoided where the cohort allows it."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.db.models import PeerState
from bot.services.peer_assign import Given, NewAssignment, Work, first_round, plan

NOW = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)

cohorts = st.tuples(
    st.integers(min_value=0, max_value=60),  # submitters
    st.integers(min_value=1, max_value=3),  # reviewers per submission
    st.integers(min_value=0, max_value=10_000),  # seed (the cohort's id)
)


def works(n: int, week: int = 1, first_member: int = 1, first_submission: int = 1) -> list[Work]:
    # Membership ids and submission ids unrelated to each other, as in a real database.
    members = random.Random(n * 7 + week).sample(range(first_member, first_member + 10 * max(n, 1)), n)
    return [Work(first_submission + i, m, week) for i, m in enumerate(members)]


def stored(new: list[NewAssignment], work: list[Work], first_id: int = 1) -> list[Given]:
    author = {w.submission_id: w.author for w in work}
    return [
        Given(first_id + i, a.submission_id, author[a.submission_id], a.reviewer, a.week, PeerState.OPEN, LATER, True)
        for i, a in enumerate(new)
    ]


def assert_sound(new: list[NewAssignment], work: list[Work]) -> None:
    authors = {w.submission_id: w.author for w in work}
    submitters = set(authors.values())
    pairs = [(a.submission_id, a.reviewer) for a in new]
    assert len(pairs) == len(set(pairs)), "a peer got one submission twice"
    for a in new:
        assert a.reviewer != authors[a.submission_id], "self-review"
        assert a.reviewer in submitters, "a reviewer who did not hand in that week"


@settings(max_examples=150, deadline=None)
@given(cohorts)
def test_a_weeks_first_round_is_balanced_and_never_self(cohort: tuple[int, int, int]) -> None:
    n, r, seed = cohort
    work = works(n)
    result = plan(seed, r, work, [], NOW)
    assert_sound(result.new, work)
    k = min(r, max(n - 1, 0))
    per_submission = Counter(a.submission_id for a in result.new)
    assert all(per_submission[w.submission_id] == k for w in work)
    per_reviewer = Counter(a.reviewer for a in result.new)
    assert all(per_reviewer[w.author] == k for w in work), "everyone reviews exactly as many as they are reviewed by"
    # Too few submitters for the number of reviewers: what can be assigned is, and the week is reported.
    assert (set(result.short) == {1}) == (n > 0 and k < r)


@settings(max_examples=100, deadline=None)
@given(cohorts, st.data())
def test_late_submissions_go_to_the_least_loaded_and_nobody_gets_more_than_one_extra(
    cohort: tuple[int, int, int], data: st.DataObject
) -> None:
    n, r, seed = cohort
    n = max(n, r + 1)
    work = works(n)
    given_ = stored(plan(seed, r, work, [], NOW).new, work)
    late_count = data.draw(st.integers(min_value=1, max_value=max(1, n // (r + 1))))
    late = [Work(10_000 + i, 100_000 + i, 1) for i in range(late_count)]
    for one in late:  # one by one, as they come in
        work = [*work, one]
        result = plan(seed, r, work, given_, NOW)
        assert_sound(result.new, work)
        assert {a.submission_id for a in result.new} == {one.submission_id}
        assert len(result.new) == r
        given_ += stored(result.new, work, first_id=len(given_) + 1)
    loads = Counter(a.reviewer for a in given_)
    assert max(loads.values()) <= r + 1


@settings(max_examples=100, deadline=None)
@given(cohorts, st.data())
def test_lapsed_and_departed_reviewers_are_replaced_by_someone_new(
    cohort: tuple[int, int, int], data: st.DataObject
) -> None:
    n, r, seed = cohort
    n = max(n, r + 2)
    work = works(n)
    first = stored(plan(seed, r, work, [], NOW).new, work)
    lapsed = data.draw(st.sets(st.sampled_from([a.id for a in first]), max_size=len(first)))
    departed = data.draw(st.sets(st.sampled_from([w.author for w in work]), max_size=2))
    given_ = [
        Given(a.id, a.submission_id, a.author, a.reviewer, a.week, a.state,
              NOW - timedelta(minutes=1) if a.id in lapsed else LATER, a.reviewer not in departed)
        for a in first
    ]
    active = [w for w in work if w.author not in departed]
    result = plan(seed, r, active, given_, NOW)
    for a in given_:
        expected = PeerState.WITHDRAWN if not a.reviewer_active else PeerState.MISSED if a.id in lapsed else None
        assert result.closed.get(a.id) == expected
    assert_sound(result.new, active)
    had = {(a.submission_id, a.reviewer) for a in given_}
    missed_by = {a.reviewer for a in given_ if result.closed.get(a.id) is PeerState.MISSED}
    for a in result.new:
        assert (a.submission_id, a.reviewer) not in had, "a peer got back a submission they already had"
        assert a.reviewer not in departed and a.reviewer not in missed_by


@settings(max_examples=60, deadline=None)
@given(cohorts)
def test_the_same_facts_give_the_same_assignment_in_any_order(cohort: tuple[int, int, int]) -> None:
    n, r, seed = cohort
    work = works(n)
    shuffled = list(work)
    random.Random(seed).shuffle(shuffled)
    assert sorted(plan(seed, r, work, [], NOW).new, key=repr) == sorted(plan(seed, r, shuffled, [], NOW).new, key=repr)
    first = plan(seed, r, work, [], NOW)
    told = list(first.short)  # the moderators were told of a short week once
    assert plan(seed, r, work, stored(first.new, work), NOW, told).empty, "a rerun (a restart) assigns nothing more"


def test_pairs_that_met_in_earlier_weeks_are_avoided_where_the_cohort_allows_it() -> None:
    week_1 = works(12, week=1)
    members = [w.author for w in week_1]
    week_2 = [Work(100 + i, m, 2) for i, m in enumerate(members)]
    first = stored(plan(5, 2, week_1, [], NOW).new, week_1)
    second = plan(5, 2, week_1 + week_2, first, NOW).new
    met = {frozenset((a.author, a.reviewer)) for a in first}
    author = {w.submission_id: w.author for w in week_2}
    repeats = sum(frozenset((author[a.submission_id], a.reviewer)) in met for a in second)
    plain = first_round(5 + 2, 2, week_2, {})
    plain_repeats = sum(frozenset((author[a.submission_id], a.reviewer)) in met for a in plain)
    assert repeats == 0 < plain_repeats
