"""Insight's arithmetic as plain functions: scorecard figures, trends, the E-I index, modularity,
beta reputation with forgetting, the ripple decomposition of a customer's wait, and privacy.

No database, clock or HTTP here; callers pass the facts (and `now`) in. docs/insight.md
defines every figure; the tests check each on small hand-made histories with known answers.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from followthrough.history.payloads import EventKind
from followthrough.org.local_time import Clock, clock_of, local_date, start_of_day

# ---- scorecard -------------------------------------------------------------------------------

RATING_BLOCKS = ("understand", "own", "serve", "communicate")


@dataclass
class Tally:
    """Counts and sums behind one scorecard (one subject, one period or one bucket).

    Everything is a count or a sum so that tallies of buckets add up to the period's tally;
    averages and percentages are taken only at the end, in `figures_of`.
    """

    handled: int = 0
    accepted: int = 0
    accept_seconds: float = 0.0
    resolve_count: int = 0
    resolve_seconds: float = 0.0
    within_target: int = 0
    measured: int = 0  # resolutions measured against a target (imports may not know theirs)
    promises_kept: int = 0
    promises_broken: int = 0
    updates_on_time: int = 0
    updates_missed: int = 0
    handoffs_accepted: int = 0
    handoffs_declined: int = 0
    bounces_caused: int = 0
    ratings: int = 0
    understand: int = 0
    own: int = 0
    serve: int = 0
    communicate: int = 0
    praise: int = 0
    constructive: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(Tally)}
        )


@dataclass(frozen=True)
class Figures:
    """One scorecard: *what* got done and *how*, side by side. None means "no data"."""

    # what
    requests_handled: int
    mean_accept_hours: float | None
    mean_resolve_hours: float | None
    ola_attainment: float | None
    # how
    promises_kept: float | None
    updates_on_time: float | None
    handoffs_accepted: int
    handoffs_declined: int
    bounces_caused: int
    ratings: int
    rating_understand: float | None
    rating_own: float | None
    rating_serve: float | None
    rating_communicate: float | None
    praise: int
    constructive: int


WHAT = ("requests_handled", "mean_accept_hours", "mean_resolve_hours", "ola_attainment")
HOW = (
    "promises_kept",
    "updates_on_time",
    "handoffs_accepted",
    "handoffs_declined",
    "bounces_caused",
    "rating_understand",
    "rating_own",
    "rating_serve",
    "rating_communicate",
    "praise",
    "constructive",
)


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    return None if whole == 0 else part / whole


def figures_of(tally: Tally) -> Figures:
    """The scorecard figures from a tally; rates are fractions from 0 to 1."""
    accept = ratio(tally.accept_seconds, tally.accepted)
    resolve = ratio(tally.resolve_seconds, tally.resolve_count)
    return Figures(
        requests_handled=tally.handled,
        mean_accept_hours=None if accept is None else accept / 3600,
        mean_resolve_hours=None if resolve is None else resolve / 3600,
        ola_attainment=ratio(tally.within_target, tally.measured),
        promises_kept=ratio(tally.promises_kept, tally.promises_kept + tally.promises_broken),
        updates_on_time=ratio(tally.updates_on_time, tally.updates_on_time + tally.updates_missed),
        handoffs_accepted=tally.handoffs_accepted,
        handoffs_declined=tally.handoffs_declined,
        bounces_caused=tally.bounces_caused,
        ratings=tally.ratings,
        rating_understand=ratio(tally.understand, tally.ratings),
        rating_own=ratio(tally.own, tally.ratings),
        rating_serve=ratio(tally.serve, tally.ratings),
        rating_communicate=ratio(tally.communicate, tally.ratings),
        praise=tally.praise,
        constructive=tally.constructive,
    )


def change(current: float | None, previous: float | None) -> float | None:
    """The change of a figure against the previous period (current - previous)."""
    if current is None or previous is None:
        return None
    return current - previous


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period of the same length just before [start, end)."""
    return start - (end - start), start


# Buckets without a viewer (the CLI, tests): weeks and months of the UTC calendar.
UTC_CLOCK = clock_of(None, None)


def bucket_starts(
    start: datetime, end: datetime, unit: str, clock: Clock = UTC_CLOCK
) -> list[datetime]:
    """The first instants (UTC) of the weeks (Monday to Sunday) or months that overlap
    [start, end), on the calendar of `clock`: a lead in Kolkata reads a week from their own
    Monday 00:00, not from 05:30 on Monday. A daylight-saving change makes a week an hour
    longer or shorter, as the wall clock has it."""
    if unit not in ("week", "month"):
        raise ValueError(f"unknown bucket unit {unit!r}; use week or month")
    first = local_date(start, clock)
    day = first - timedelta(days=first.weekday()) if unit == "week" else first.replace(day=1)
    result = []
    while (at := start_of_day(day, clock)) < end:
        result.append(at)
        if unit == "week":
            day += timedelta(days=7)
        else:
            day = (
                day.replace(year=day.year + 1, month=1)
                if day.month == 12
                else day.replace(month=day.month + 1)
            )
    return result


def bucket_label(bucket_start: datetime, clock: Clock = UTC_CLOCK) -> str:
    """A bucket's name: its first day on the viewer's calendar, 'YYYY-MM-DD'."""
    return local_date(bucket_start, clock).isoformat()


# ---- privacy -----------------------------------------------------------------------------------


def may_see_group(group_size: int, viewer_inside: bool, minimum: int) -> bool:
    """Figures about a group smaller than `minimum` people are shown only inside that group."""
    return viewer_inside or group_size >= minimum


def may_see_person(viewer_id: int, person_id: int, leads_of_person: Collection[int]) -> bool:
    """An individual's scorecard is for them and their lead, nobody else (not even admins)."""
    return viewer_id == person_id or viewer_id in leads_of_person


# ---- silo map --------------------------------------------------------------------------------

Edge = tuple[Hashable, Hashable, float]


@dataclass(frozen=True)
class EIIndex:
    """Krackhardt-Stern E-I index, (E - I) / (E + I): -1 all inside the group, +1 all outside."""

    outgoing: float | None
    incoming: float | None
    internal: float
    external_out: float
    external_in: float


def ei_indices(
    edges: Iterable[Edge], group_of: Mapping[Hashable, Hashable]
) -> dict[Hashable, EIIndex]:
    """E-I per group from weighted directed node edges; a tie between two nodes of the same group
    (and a node's tie to itself) is internal. Outgoing counts ties the group sends, incoming ties
    it receives; the internal ties count on both sides."""
    internal: dict[Hashable, float] = defaultdict(float)
    out: dict[Hashable, float] = defaultdict(float)
    inc: dict[Hashable, float] = defaultdict(float)
    for source, target, weight in edges:
        a, b = group_of[source], group_of[target]
        if a == b:
            internal[a] += weight
        else:
            out[a] += weight
            inc[b] += weight
    result = {}
    for group in set(group_of.values()):
        i, eo, ei = internal[group], out[group], inc[group]
        result[group] = EIIndex(
            outgoing=ratio(eo - i, eo + i),
            incoming=ratio(ei - i, ei + i),
            internal=i,
            external_out=eo,
            external_in=ei,
        )
    return result


def directed_modularity(
    edges: Iterable[Edge], communities: Sequence[Collection[Hashable]]
) -> float:
    """Newman-Leicht modularity of a weighted directed graph for a partition of its nodes:
    Q = Σ_c [ w_c / m - (out_c · in_c) / m² ], w_c the weight inside community c, m the total."""
    edge_list = list(edges)
    m = sum(w for _, _, w in edge_list)
    if m == 0:
        return 0.0
    community_of = {node: index for index, members in enumerate(communities) for node in members}
    inside = [0.0] * len(communities)
    out = [0.0] * len(communities)
    inc = [0.0] * len(communities)
    for source, target, weight in edge_list:
        a, b = community_of[source], community_of[target]
        out[a] += weight
        inc[b] += weight
        if a == b:
            inside[a] += weight
    return sum(inside[c] / m - out[c] * inc[c] / (m * m) for c in range(len(communities)))


def ping_pongs(path: Sequence[Hashable]) -> list[tuple[Hashable, Hashable]]:
    """The (A, B) pairs of every A→B→A return in a request's team path."""
    return [
        (path[i], path[i + 1])
        for i in range(len(path) - 2)
        if path[i] == path[i + 2] != path[i + 1]
    ]


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile with linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# ---- relationship health ---------------------------------------------------------------------


@dataclass(frozen=True)
class Interaction:
    """One experience team A had of team B: positive (weight > 0) or negative (weight < 0)."""

    at: datetime
    positive: bool
    weight: float = 1.0


@dataclass(frozen=True)
class Trust:
    """Beta reputation: Beta(r + 1, s + 1) from decayed positive r and negative s evidence."""

    positive: float
    negative: float
    score: float
    low: float
    high: float


def decay_factor(age: timedelta, half_life: timedelta) -> float:
    """How much an interaction `age` old still counts: 1/2 per half-life."""
    return float(0.5 ** (max(age.total_seconds(), 0.0) / half_life.total_seconds()))


def trust_score(positive: float, negative: float) -> float:
    """The beta reputation's score from `positive` and `negative` evidence: the mean of
    Beta(positive + 1, negative + 1), 1/2 with no evidence."""
    return (positive + 1) / (positive + negative + 2)


def decayed_evidence(
    interactions: Iterable[Interaction], now: datetime, half_life: timedelta
) -> tuple[float, float]:
    """The positive and negative evidence (r, s) at `now`: each interaction's weight, halved
    every half-life of its age; interactions after `now` are ignored."""
    r = s = 0.0
    for interaction in interactions:
        if interaction.at > now:
            continue
        weight = interaction.weight * decay_factor(now - interaction.at, half_life)
        if interaction.positive:
            r += weight
        else:
            s += weight
    return r, s


def trust_of(
    interactions: Iterable[Interaction],
    now: datetime,
    half_life: timedelta,
    confidence: float = 0.9,
) -> Trust:
    """Jøsang-Ismail beta reputation with forgetting: evidence fades by half every half-life;
    the score is the mean (r + 1) / (r + s + 2), the interval the central `confidence` of the
    Beta(r + 1, s + 1) distribution. Interactions after `now` are ignored."""
    r, s = decayed_evidence(interactions, now, half_life)
    tail = (1 - confidence) / 2
    low, high = _beta_quantiles([tail, 1 - tail], r + 1, s + 1)
    return Trust(positive=r, negative=s, score=trust_score(r, s), low=float(low), high=float(high))


def _beta_quantiles(q: Any, a: Any, b: Any) -> Any:
    """The Beta(a, b) distribution's quantiles; scipy.stats is imported here, where a trust
    interval is worked out, not with the module (1.5 s of CPU at every process start)."""
    from scipy.stats import beta

    return beta.ppf(q, a, b)


def trust_series(
    interactions: Sequence[Interaction], points: Sequence[datetime], half_life: timedelta
) -> list[Trust]:
    """The trust score as it stood at each of `points` (only what had happened by then); the
    same as `trust_of` at each point, computed for all points at once."""
    if not points:
        return []
    origin = points[0]
    at = np.array([(i.at - origin).total_seconds() for i in interactions], dtype=float)
    weight = np.array([i.weight for i in interactions], dtype=float)
    positive = np.array([i.positive for i in interactions], dtype=bool)
    when = np.array([(p - origin).total_seconds() for p in points], dtype=float)
    age = when[:, None] - at[None, :]
    decayed = np.where(
        age >= 0, weight * 0.5 ** (np.maximum(age, 0) / half_life.total_seconds()), 0.0
    )
    r = decayed[:, positive].sum(axis=1) if positive.any() else np.zeros(len(points))
    s = decayed[:, ~positive].sum(axis=1) if (~positive).any() else np.zeros(len(points))
    low = _beta_quantiles(0.05, r + 1, s + 1)
    high = _beta_quantiles(0.95, r + 1, s + 1)
    return [
        Trust(
            float(r[k]),
            float(s[k]),
            trust_score(float(r[k]), float(s[k])),
            float(low[k]),
            float(high[k]),
        )
        for k in range(len(points))
    ]


def is_deteriorating(series: Sequence[Trust], drop: float = 0.1) -> bool:
    """A pair deteriorates when its score fell by at least `drop` from the trend's high point to
    now and the latest interval lies wholly below the earlier score."""
    if len(series) < 2:
        return False
    peak = max(series[:-1], key=lambda t: t.score)
    last = series[-1]
    return peak.score - last.score >= drop and last.high < peak.score


# ---- ripple to customers ---------------------------------------------------------------------

FRONT_LINE = "front line"


@dataclass(frozen=True)
class Custody:
    """A stretch of time one team held one open internal request."""

    request_id: int
    team: Hashable
    start: datetime
    end: datetime


# A request withdrawn, or merged into another as a duplicate, is held by nobody from then on (a
# merged one's customer cases wait on the request it went into).
UNRESOLVED_ENDS = (EventKind.REQUEST_WITHDRAWN, EventKind.MERGED_INTO)
ENDS_CUSTODY = frozenset({EventKind.RESOLVED, *UNRESOLVED_ENDS})


@dataclass(frozen=True)
class CustodyEvent:
    """The events that move a request between teams or open and close it."""

    at: datetime
    kind: str  # opened | accepted | resolved | reopened
    team: Hashable


def custody_of(request_id: int, events: Sequence[CustodyEvent], until: datetime) -> list[Custody]:
    """The stretches each team held the request: from opening (or accepting it) until it moved on,
    was resolved (or withdrawn, or merged into another), or `until` if it is still open then. Reopening starts a new stretch; events
    after `until` have not happened yet."""
    result: list[Custody] = []
    holder: Hashable | None = None
    since: datetime | None = None
    for event in sorted((e for e in events if e.at <= until), key=lambda e: e.at):
        if event.kind in (EventKind.OPENED, EventKind.REOPENED):
            holder, since = event.team, event.at
        elif event.kind == EventKind.ACCEPTED and holder is not None and event.team != holder:
            assert since is not None
            result.append(Custody(request_id, holder, since, event.at))
            holder, since = event.team, event.at
        elif event.kind in ENDS_CUSTODY and holder is not None:
            assert since is not None
            result.append(Custody(request_id, holder, since, event.at))
            holder = since = None
    if holder is not None and since is not None and since < until:
        result.append(Custody(request_id, holder, since, until))
    return [c for c in result if c.end > c.start]


@dataclass(frozen=True)
class Decomposition:
    """The customer's wait, split by who held it: each team's hours plus the front line's."""

    total_hours: float
    hours_by_team: dict[Hashable, float] = field(default_factory=dict)


def decompose_wait(
    wait_start: datetime, wait_end: datetime, custody: Iterable[Custody]
) -> Decomposition:
    """Split the wait [wait_start, wait_end) over the teams holding its internal requests.

    At each instant the teams holding at least one open linked request share that instant
    equally (two teams at once get half each; one team with two requests counts once); an
    instant when no linked request is open belongs to the front line (the case's own handler).
    The parts add up to the whole wait exactly.
    """
    if wait_end <= wait_start:
        return Decomposition(0.0, {})
    clipped = [
        (max(c.start, wait_start), min(c.end, wait_end), c.team)
        for c in custody
        if c.end > wait_start and c.start < wait_end
    ]
    points = sorted(
        {wait_start, wait_end, *(s for s, _, _ in clipped), *(e for _, e, _ in clipped)}
    )
    hours: dict[Hashable, float] = defaultdict(float)
    for left, right in itertools.pairwise(points):
        span = (right - left).total_seconds() / 3600
        holders = {team for s, e, team in clipped if s <= left and e >= right}
        if not holders:
            hours[FRONT_LINE] += span
            continue
        for team in holders:
            hours[team] += span / len(holders)
    return Decomposition((wait_end - wait_start).total_seconds() / 3600, dict(hours))


# ---- recognition -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRecord:
    """What a person did in a period, for suggesting recognitions."""

    person_id: int
    resolved_spanning_teams: int
    promises_kept: int
    promises_broken: int
    praise_from_other_departments: int


@dataclass(frozen=True)
class Suggestion:
    person_id: int
    reason: str
    detail: str


def suggest_recognitions(
    records: Iterable[PersonRecord],
    *,
    min_spanning: int = 3,
    min_promises: int = 3,
    min_praise: int = 2,
) -> list[Suggestion]:
    """People worth recognising: resolved requests that crossed several teams, kept every one of
    their (enough) promises, or were praised by people from other departments."""
    result = []
    for record in records:
        if record.resolved_spanning_teams >= min_spanning:
            result.append(
                Suggestion(
                    record.person_id,
                    "cross_team",
                    f"resolved {record.resolved_spanning_teams} requests that crossed several teams",
                )
            )
        if record.promises_broken == 0 and record.promises_kept >= min_promises:
            result.append(
                Suggestion(
                    record.person_id,
                    "promises",
                    f"kept all {record.promises_kept} promises",
                )
            )
        if record.praise_from_other_departments >= min_praise:
            result.append(
                Suggestion(
                    record.person_id,
                    "praise",
                    f"praised {record.praise_from_other_departments} times by other departments",
                )
            )
    return result
