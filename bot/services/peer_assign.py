"""Who reviews whom: pure functions from the database's facts to new assignments, so a rerun decides the same."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.db.models import PeerState

SHUFFLES = 8
SWAP_PASSES = 4
SWAP_PARTNERS = 64
"""Bounds on the search for a ring that repeats fewer earlier pairs: seeded shuffles tried, passes over the ring,
and the positions tried as swap partners for each (all of them in a ring this small or smaller)."""
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
    in_week: dict[int, list[Given]] = defaultdict(list)
    for a in current:
        in_week[a.week].append(a)
    told = set(told)
    for week, items in sorted(by_week.items()):
        items.sort(key=lambda w: w.submission_id)
        this_week = in_week[week]
        live = Counter(a.submission_id for a in this_week if a.state in LIVE)
        new: list[NewAssignment] = []
        if any(live[w.submission_id] < reviewers for w in items):
            # Pairs of other weeks, read only when something is to be assigned (the usual minute assigns nothing).
            earlier = met_before(current, week)
            if this_week:
                new = top_up(seed + week, reviewers, items, this_week, earlier)
            else:
                new = first_round(seed + week, reviewers, items, earlier)
        result.new.extend(new)
        live.update(n.submission_id for n in new)
        short = [w.submission_id for w in items if live[w.submission_id] < reviewers]
        if short and week not in told:
            result.short[week] = short
    return result


def met_before(given: Iterable[Given], week: int) -> dict[int, set[int]]:
    """Who met whom (as author or reviewer, either way round) in weeks other than `week`."""
    met: dict[int, set[int]] = defaultdict(set)
    for a in given:
        if a.week != week:
            met[a.author].add(a.reviewer)
            met[a.reviewer].add(a.author)
    return met


def first_round(
    seed: int, reviewers: int, items: Sequence[Work], earlier: dict[int, set[int]]
) -> list[NewAssignment]:
    """A week's first assignment: the submitters in a ring, each reviewing the next `reviewers` along it, so each
    submission gets that many peers and each peer that many submissions (all the others when there are too few).
    The ring's order is a seeded shuffle, improved by swaps while a swap repeats fewer earlier pairs; of a few such
    shuffles, the first without repeats (else the one with fewest) wins."""
    k = min(reviewers, len(items) - 1)
    if k <= 0:
        return []
    best: tuple[int, list[Work]] | None = None
    for attempt in range(SHUFFLES if earlier else 1):
        ring = sorted(items, key=lambda w: _rank(seed, attempt, w.author))
        repeats = _avoid_repeats(ring, k, earlier, seed) if earlier else 0
        if best is None or repeats < best[0]:
            best = (repeats, ring)
        if not repeats:
            break
    ring = best[1] if best else []
    return [
        NewAssignment(ring[i].submission_id, ring[(i + j) % len(ring)].author, ring[i].week)
        for i in range(len(ring))
        for j in range(1, k + 1)
    ]


def _avoid_repeats(ring: list[Work], k: int, earlier: dict[int, set[int]], seed: int) -> int:
    """Hill-climb: swap a position whose pairs met before with another while that lowers the repeats nearby;
    returns the repeats left."""
    n = len(ring)
    nobody: set[int] = set()

    def cost(positions: set[int]) -> int:
        return sum(
            ring[(p + d) % n].author in earlier.get(ring[p].author, nobody) for p in positions for d in range(1, k + 1)
        )

    def around(i: int) -> set[int]:
        return {(i + d) % n for d in range(-k, k + 1)}

    partners = list(range(n))
    if n > SWAP_PARTNERS:
        partners.sort(key=lambda j: _rank(seed, 1, j))
        partners = partners[:SWAP_PARTNERS]
    for _ in range(SWAP_PASSES):
        improved = False
        for i in [i for i in range(n) if cost({i})]:
            if not cost(around(i)):
                continue  # an earlier swap fixed it
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
            break
    return cost(set(range(n)))


def top_up(
    seed: int, reviewers: int, items: Sequence[Work], this_week: Sequence[Given], earlier: dict[int, set[int]]
) -> list[NewAssignment]:
    """Later in a week (a late submission, a missed or withdrawn review): each submission short of peers gets the
    least loaded submitters of the week, preferring pairs that have not met, never its author or a peer it had, nor
    anyone who let a review of that week lapse."""
    load = Counter(a.reviewer for a in this_week if a.state in LIVE)
    had: dict[int, set[int]] = defaultdict(set)
    for a in this_week:
        had[a.submission_id].add(a.reviewer)
    lapsed = {a.reviewer for a in this_week if a.state is PeerState.MISSED}
    rank = {w.author: _rank(seed, 0, w.author) for w in items if w.author not in lapsed}
    live = Counter(a.submission_id for a in this_week if a.state in LIVE)
    nobody: set[int] = set()
    new = []
    for w in items:
        wanted = reviewers - live[w.submission_id]
        if wanted <= 0:
            continue
        met = earlier.get(w.author, nobody)
        candidates = [m for m in rank if m != w.author and m not in had[w.submission_id]]
        for _ in range(wanted):
            if not candidates:
                break
            pick = min(candidates, key=lambda m: (load[m], m in met, rank[m]))
            candidates.remove(pick)
            had[w.submission_id].add(pick)
            load[pick] += 1
            new.append(NewAssignment(w.submission_id, pick, w.week))
    return new


def _rank(seed: int, attempt: int, member: int) -> bytes:
    # A hash, not random(): the same database gives the same order in every process, after every restart.
    return hashlib.blake2b(f"{seed}:{attempt}:{member}".encode(), digest_size=8).digest()


def _with_state(a: Given, state: PeerState) -> Given:
    return a if a.state is state else Given(
        a.id, a.submission_id, a.author, a.reviewer, a.week, state, a.due_at, a.reviewer_active
    )
