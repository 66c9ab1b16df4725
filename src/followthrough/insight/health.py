"""Relationship health: per ordered pair of teams (A's experience of B), a beta-reputation trust
score from the positive and negative interactions in the history, with forgetting, its
uncertainty interval and its trend.

The interactions are counted per UTC day in SQL (a few rows per pair and day); decay and the
Beta quantiles are computed from those counts by `rules.trust_of`. docs/insight.md lists which
events count as positive or negative, and for whom.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from followthrough.history.models import Event
from followthrough.history.payloads import Accepted, EventKind, FeedbackGiven, Rated
from followthrough.insight import rules
from followthrough.insight.rules import Interaction, Trust
from followthrough.insight.silo import load_org
from followthrough.insight.sql import day_of, home_teams

HALF_LIFE = timedelta(days=30)
# Accepted within this long is "accepted quickly" (a positive experience).
QUICK_ACCEPT = timedelta(hours=4)
GOOD_RATING = 4.0  # mean of the four blocks at or above: positive
LOW_RATING = 2.5  # at or below: negative
TREND_POINTS = 8
TREND_STEP = timedelta(days=7)
# Evidence older than this many half-lives weighs under 1/64: left out of the query.
LOOKBACK_HALF_LIVES = 6

# The payload keys read in SQL, checked against the typed payloads when this module loads.
RATING_KEYS = tuple(Rated.key(block) for block in rules.RATING_BLOCKS)
BOUNCE = Accepted.key("bounce")
WAITED_SECONDS = Accepted.key("waited_seconds")
FEEDBACK_KIND = FeedbackGiven.key("kind")


@dataclass(frozen=True)
class DayCount:
    experienced_by: int
    experience_of: int
    day: str
    positive: bool
    count: int


def interaction_counts(session: Session, start: datetime, end: datetime) -> list[DayCount]:
    """Positive and negative interactions per ordered team pair and UTC day in [start, end)."""
    home = home_teams()
    receiver_home = aliased(home)
    opened = aliased(Event)
    requester_team = home.c.team_id
    # A is who experienced it: the team that handed the request on, or the requester's team.
    sender = func.coalesce(Event.other_team_id, requester_team)
    understand, own, serve, communicate = (Event.payload[k].as_float() for k in RATING_KEYS)
    mean_rating = (understand + own + serve + communicate) / 4.0
    is_bounce = Event.payload[BOUNCE].as_boolean().is_(True)
    positive = case(
        (
            and_(
                Event.kind == EventKind.ACCEPTED,
                Event.payload[WAITED_SECONDS].as_float() <= QUICK_ACCEPT.total_seconds(),
            ),
            True,
        ),
        (Event.kind == EventKind.PROMISE_KEPT, True),
        (and_(Event.kind == EventKind.RATED, mean_rating >= GOOD_RATING), True),
        (Event.kind == EventKind.DECLINED, False),
        (Event.kind == EventKind.PROMISE_BROKEN, False),
        (and_(Event.kind == EventKind.RATED, mean_rating <= LOW_RATING), False),
        else_=None,
    )
    day = day_of(Event.at)
    about_requests = (
        select(
            sender.label("a"),
            Event.team_id.label("b"),
            day.label("day"),
            positive.label("positive"),
        )
        .select_from(Event)
        .join(opened, and_(opened.request_id == Event.request_id, opened.kind == EventKind.OPENED))
        .outerjoin(home, home.c.person_id == opened.actor_id)
        .where(
            Event.kind.in_(
                (
                    EventKind.ACCEPTED,
                    EventKind.DECLINED,
                    EventKind.PROMISE_KEPT,
                    EventKind.PROMISE_BROKEN,
                    EventKind.RATED,
                )
            ),
            or_(Event.kind != EventKind.ACCEPTED, ~is_bounce),
            Event.at >= start,
            Event.at < end,
        )
    )
    # A bounce: the team the request came back to (A) experienced the team that sent it back.
    bounces = select(
        Event.team_id.label("a"),
        Event.other_team_id.label("b"),
        day.label("day"),
        literal(False).label("positive"),
    ).where(Event.kind == EventKind.ACCEPTED, is_bounce, Event.at >= start, Event.at < end)
    giver_home = aliased(home)
    praise = (
        select(
            giver_home.c.team_id.label("a"),
            receiver_home.c.team_id.label("b"),
            day.label("day"),
            literal(True).label("positive"),
        )
        .join(giver_home, giver_home.c.person_id == Event.actor_id)
        .join(receiver_home, receiver_home.c.person_id == Event.person_id)
        .where(
            Event.kind == EventKind.FEEDBACK_GIVEN,
            Event.payload[FEEDBACK_KIND].as_string() == "praise",
            Event.at >= start,
            Event.at < end,
        )
    )
    everything = union_all(about_requests, bounces, praise).subquery()
    rows = session.execute(
        select(
            everything.c.a, everything.c.b, everything.c.day, everything.c.positive, func.count()
        )
        .where(
            everything.c.positive.is_not(None),
            everything.c.a.is_not(None),
            everything.c.b.is_not(None),
            everything.c.a != everything.c.b,
        )
        .group_by(everything.c.a, everything.c.b, everything.c.day, everything.c.positive)
    )
    return [DayCount(a, b, d, bool(p), n) for a, b, d, p, n in rows]


def _interactions(counts: list[DayCount]) -> dict[tuple[int, int], list[Interaction]]:
    """Each day's count as one weighted interaction at that day's noon (UTC)."""
    result: dict[tuple[int, int], list[Interaction]] = defaultdict(list)
    for c in counts:
        noon = datetime.fromisoformat(c.day).replace(hour=12, tzinfo=UTC)
        result[(c.experienced_by, c.experience_of)].append(Interaction(noon, c.positive, c.count))
    return result


@dataclass(frozen=True)
class PairHealth:
    """How team A (experienced_by) experiences team B (experience_of), as of `at`."""

    experienced_by: int
    experience_of: int
    experienced_by_name: str
    experience_of_name: str
    trust: Trust
    series: list[tuple[datetime, Trust]]
    deteriorating: bool
    positives: int
    negatives: int


def relationship_health(
    session: Session,
    now: datetime,
    *,
    half_life: timedelta = HALF_LIFE,
    team_id: int | None = None,
) -> list[PairHealth]:
    """Every ordered team pair with interactions, worst trust first; optionally only the pairs
    one team is part of. The trend has a point per week for the last eight weeks."""
    points = [now - TREND_STEP * i for i in range(TREND_POINTS - 1, -1, -1)]
    start = points[0] - half_life * LOOKBACK_HALF_LIVES
    counts = interaction_counts(session, start, now)
    org = load_org(session)
    result = []
    for (a, b), interactions in _interactions(counts).items():
        if team_id is not None and team_id not in (a, b):
            continue
        series = rules.trust_series(interactions, points, half_life)
        recent = [i for i in interactions if i.at > points[0]]
        result.append(
            PairHealth(
                a,
                b,
                org.team_names.get(a, str(a)),
                org.team_names.get(b, str(b)),
                series[-1],
                list(zip(points, series, strict=True)),
                rules.is_deteriorating(series),
                int(sum(i.weight for i in recent if i.positive)),
                int(sum(i.weight for i in recent if not i.positive)),
            )
        )
    return sorted(result, key=lambda p: (p.trust.score, p.experienced_by_name))


def trust_scores(
    session: Session, now: datetime, *, half_life: timedelta = HALF_LIFE
) -> dict[tuple[int, int], float]:
    """Every ordered team pair's trust score at `now`, the one `relationship_health` shows
    (the same evidence), without its interval or trend: what the buddy pairing weighs, at a
    fraction of the work (no Beta quantiles)."""
    start = now - TREND_STEP * (TREND_POINTS - 1) - half_life * LOOKBACK_HALF_LIVES
    return {
        pair: rules.trust_score(*rules.decayed_evidence(interactions, now, half_life))
        for pair, interactions in _interactions(interaction_counts(session, start, now)).items()
    }


def pair_health(
    session: Session, now: datetime, a: int, b: int, *, half_life: timedelta = HALF_LIFE
) -> PairHealth | None:
    """A's experience of B, or None when they have no interactions in the lookback."""
    for pair in relationship_health(session, now, half_life=half_life, team_id=a):
        if (pair.experienced_by, pair.experience_of) == (a, b):
            return pair
    return None
