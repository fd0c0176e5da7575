"""Who reviews whom: pure functions from the database's facts to new assignments, so a rerun decides the same."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.db.models import PeerState

SWAP_PASSES = 4
SWAP_PARTNERS = 64
"""Bounds on the search for a ring that repeats fewer earlier pairs: passes over the ring, and the positions tried
as swap partners for each (all of them in a ring this small or smaller)."""
LIVE = frozenset({PeerState.OPEN, PeerState.DONE, PeerState.DISCARDED})
"""Assignments that count: a review owed, given, or given and removed by a moderator."""


@dataclass(frozen=True)
class Work:
    """A submission waiting for peers: its id, its author's membership and its (module's) week."""

    submission_id: int
    author: int
    week: int


@dataclass(frozen=True)
class Given:
    """An assignment as stored."""

    id: int
    submission_id: int
    author: int
    reviewer: int
    week: int
    state: PeerState
    due_at: datetime
    reviewer_active: bool


@dataclass(frozen=True)
class NewAssignment:
    submission_id: int
    reviewer: int
    week: int


@dataclass
class Plan:
    """What one pass changes: assignments to close (missed, withdrawn), new ones, and weeks short of peers."""

    closed: dict[int, PeerState] = field(default_factory=dict)
    new: list[NewAssignment] = field(default_factory=list)
    short: dict[int, list[int]] = field(default_factory=dict)
    """week → submissions that got fewer peers than wanted (there were not enough submitters)."""

    @property
    def empty(self) -> bool:
        return not self.closed and not self.new and not self.short


def plan(
    seed: int, reviewers: int, work: Sequence[Work], given: Sequence[Given], now: datetime, told: Iterable[int] = ()
) -> Plan:
    """The changes one pass makes for one cohort: close what was missed or left, then fill every submission of the
    closed weeks up to `reviewers` peers, from those who handed in that week themselves. Weeks short of peers are
    reported unless they are in `told`."""
    result = Plan()
    for a in given:
        if a.state is PeerState.OPEN and not a.reviewer_active:
            result.closed[a.id] = PeerState.WITHDRAWN
        elif a.state is PeerState.OPEN and a.due_at < now:
            result.closed[a.id] = PeerState.MISSED
    current = [_with_state(a, result.closed.get(a.id, a.state)) for a in given]
    by_week: dict[int, list[Work]] = defaultdict(list)
    for w in work:
        by_week[w.week].append(w)
    weeks_of: dict[frozenset[int], set[int]] = defaultdict(set)
    in_week: dict[int, list[Given]] = defaultdict(list)
    for a in current:
        weeks_of[frozenset((a.author, a.reviewer))].add(a.week)
        in_week[a.week].append(a)
    told = set(told)
    for week, items in sorted(by_week.items()):
        items.sort(key=lambda w: w.submission_id)
        this_week = in_week[week]
        earlier = MetBefore(weeks_of, week)
        if not this_week:
            new = first_round(seed + week, reviewers, items, earlier)
        else:
            new = top_up(seed + week, reviewers, items, this_week, earlier)
        result.new.extend(new)
        counts = Counter(a.submission_id for a in this_week if a.state in LIVE)
        counts.update(n.submission_id for n in new)
        short = [w.submission_id for w in items if counts[w.submission_id] < reviewers]
        if short and week not in told:
            result.short[week] = short
    return result


def first_round(seed: int, reviewers: int, items: Sequence[Work], earlier: MetBefore) -> list[NewAssignment]:
    """A week's first assignment: the submitters in a ring, each reviewing the next `reviewers` along it, so each
    submission gets that many peers and each peer that many submissions (all the others when there are too few).
    The ring's order is a seeded shuffle, then improved by swaps while a swap repeats fewer earlier pairs."""
    k = min(reviewers, len(items) - 1)
    if k <= 0:
        return []
    ring = sorted(items, key=lambda w: _rank(seed, 0, w.author))
    if earlier:
        _avoid_repeats(ring, k, earlier, seed)
    return [
        NewAssignment(ring[i].submission_id, ring[(i + j) % len(ring)].author, ring[i].week)
        for i in range(len(ring))
        for j in range(1, k + 1)
    ]


def _avoid_repeats(ring: list[Work], k: int, earlier: MetBefore, seed: int) -> None:
    """Hill-climb: swap a position whose pairs met before with another while that lowers the repeats nearby."""
    n = len(ring)

    def cost(positions: set[int]) -> int:
        return sum(
            frozenset((ring[p].author, ring[(p + d) % n].author)) in earlier for p in positions for d in range(1, k + 1)
        )

    def around(i: int) -> set[int]:
        return {(i + d) % n for d in range(-k, k + 1)}

    partners = list(range(n))
    if n > SWAP_PARTNERS:
        partners.sort(key=lambda j: _rank(seed, 1, j))
        partners = partners[:SWAP_PARTNERS]
    for _ in range(SWAP_PASSES):
        improved = False
        for i in range(n):
            if not cost(around(i)):
                continue
            for j in partners:
                if j == i:
                    continue
                touched = around(i) | around(j)
                before = cost(touched)
                ring[i], ring[j] = ring[j], ring[i]
                if cost(touched) < before:
                    improved = True
                    break
                ring[i], ring[j] = ring[j], ring[i]
        if not improved:
            return


def top_up(
    seed: int, reviewers: int, items: Sequence[Work], this_week: Sequence[Given], earlier: MetBefore
) -> list[NewAssignment]:
    """Later in a week (a late submission, a missed or withdrawn review): each submission short of peers gets the
    least loaded submitters of the week, preferring pairs that have not met, never its author or a peer it had, nor
    anyone who let a review of that week lapse."""
    load = Counter(a.reviewer for a in this_week if a.state in LIVE)
    had: dict[int, set[int]] = defaultdict(set)
    for a in this_week:
        had[a.submission_id].add(a.reviewer)
    lapsed = {a.reviewer for a in this_week if a.state is PeerState.MISSED}
    pool = [w.author for w in items if w.author not in lapsed]
    live = Counter(a.submission_id for a in this_week if a.state in LIVE)
    new = []
    for w in items:
        candidates = [m for m in pool if m != w.author and m not in had[w.submission_id]]
        for _ in range(reviewers - live[w.submission_id]):
            if not candidates:
                break
            pick = min(candidates, key=lambda m: (load[m], frozenset((w.author, m)) in earlier, _rank(seed, 0, m)))
            candidates.remove(pick)
            had[w.submission_id].add(pick)
            load[pick] += 1
            new.append(NewAssignment(w.submission_id, pick, w.week))
    return new


@dataclass(frozen=True)
class MetBefore:
    """The pairs (author, reviewer) that met in a week other than `week`."""

    weeks_of: dict[frozenset[int], set[int]]
    week: int

    def __contains__(self, pair: frozenset[int]) -> bool:
        return bool(self.weeks_of.get(pair, set()) - {self.week})

    def __bool__(self) -> bool:
        return any(weeks - {self.week} for weeks in self.weeks_of.values())


def loads(assignments: Iterable[NewAssignment]) -> Counter[int]:
    """How many submissions each peer was given."""
    return Counter(a.reviewer for a in assignments)


def _rank(seed: int, attempt: int, member: int) -> bytes:
    # A hash, not random(): the same database gives the same order in every process, after every restart.
    return hashlib.blake2b(f"{seed}:{attempt}:{member}".encode(), digest_size=8).digest()


def _with_state(a: Given, state: PeerState) -> Given:
    return a if a.state is state else Given(
        a.id, a.submission_id, a.author, a.reviewer, a.week, state, a.due_at, a.reviewer_active
    )
