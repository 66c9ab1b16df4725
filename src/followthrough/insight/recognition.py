"""Recognition and review: suggestions from the history for a lead to confirm, and the weekly
company digest of confirmed recognitions and wins. Services flush; they never commit.

Suggestions are individual figures: a lead sees them about the people they lead, nobody else
does. Working them out stores nothing; a lead's confirmation (or dismissal) is the one write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from followthrough.errors import Conflict, NotFound
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind, FeedbackGiven, Rated, Resolved
from followthrough.insight import rules
from followthrough.insight.models import Recognition
from followthrough.insight.sql import home_teams
from followthrough.org.actors import Actor
from followthrough.org.local_time import Clock
from followthrough.org.models import Membership, Person, Team

# The payload keys read in SQL, checked against the typed payloads when this module loads.
FEEDBACK_KIND = FeedbackGiven.key("kind")
WITHIN_TARGET = Resolved.key("within_target")
RATING_KEYS = tuple(Rated.key(block) for block in rules.RATING_BLOCKS)


def person_records(
    session: Session, start: datetime, end: datetime, people: Collection[int]
) -> list[rules.PersonRecord]:
    """What each of `people` did in [start, end) that a recognition looks for, counted in SQL."""
    spanning: dict[int, int] = defaultdict(int)
    kept: dict[int, int] = defaultdict(int)
    broken: dict[int, int] = defaultdict(int)
    praise: dict[int, int] = defaultdict(int)
    if not people:
        return []
    whose = Event.person_id.in_(sorted(people))
    moved = select(Event.request_id).where(
        Event.kind == EventKind.ACCEPTED, Event.other_team_id.is_not(None)
    )
    for person_id, n in session.execute(
        select(Event.person_id, func.count())
        .where(
            Event.kind == EventKind.RESOLVED,
            whose,
            Event.at >= start,
            Event.at < end,
            Event.request_id.in_(moved),
        )
        .group_by(Event.person_id)
    ):
        if person_id is not None:
            spanning[person_id] = n
    for person_id, kind, n in session.execute(
        select(Event.person_id, Event.kind, func.count())
        .where(
            Event.kind.in_((EventKind.PROMISE_KEPT, EventKind.PROMISE_BROKEN)),
            whose,
            Event.at >= start,
            Event.at < end,
        )
        .group_by(Event.person_id, Event.kind)
    ):
        if person_id is not None:
            (kept if kind == EventKind.PROMISE_KEPT else broken)[person_id] = n
    giver, receiver = aliased(home_teams()), aliased(home_teams())
    giver_team, receiver_team = aliased(Team), aliased(Team)
    for person_id, n in session.execute(
        select(Event.person_id, func.count())
        .join(giver, giver.c.person_id == Event.actor_id)
        .join(receiver, receiver.c.person_id == Event.person_id)
        .join(giver_team, giver_team.id == giver.c.team_id)
        .join(receiver_team, receiver_team.id == receiver.c.team_id)
        .where(
            Event.kind == EventKind.FEEDBACK_GIVEN,
            Event.payload[FEEDBACK_KIND].as_string() == "praise",
            giver_team.department_id != receiver_team.department_id,
            whose,
            Event.at >= start,
            Event.at < end,
        )
        .group_by(Event.person_id)
    ):
        if person_id is not None:
            praise[person_id] = n
    found = set(spanning) | set(kept) | set(broken) | set(praise)
    return [
        rules.PersonRecord(p, spanning[p], kept[p], broken[p], praise[p]) for p in sorted(found)
    ]


def led_people(session: Session, viewer: Actor) -> set[int]:
    """Whose individual figures a lead sees besides their own: the people in the teams they
    lead (the individual-figures rule, `rules.may_see_person`)."""
    if not viewer.lead_of:
        return set()
    return set(
        session.scalars(select(Membership.person_id).where(Membership.team_id.in_(viewer.lead_of)))
    ) - {viewer.person_id}


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion to recognise someone, worked out from the history when asked and stored
    nowhere: only a lead's decision is stored."""

    person_id: int
    person: str
    reason: str
    detail: str
    period_start: datetime
    period_end: datetime


def _names(session: Session, ids: Collection[int]) -> dict[int, str]:
    return {
        p.id: p.name
        for p in session.execute(select(Person.id, Person.name).where(Person.id.in_(sorted(ids))))
    }


def suggestions_for(
    session: Session, viewer: Actor, start: datetime, end: datetime, **thresholds: int
) -> list[SuggestionView]:
    """The period's suggestions about the people the viewer leads, minus those a lead already
    confirmed or dismissed for the period; `thresholds` override `rules.suggest_recognitions`'
    minimums. Reads only: nothing is stored until a lead decides (`decide`)."""
    people = led_people(session, viewer)
    found = rules.suggest_recognitions(person_records(session, start, end, people), **thresholds)
    decided = {
        (person_id, reason)
        for person_id, reason in session.execute(
            select(Recognition.person_id, Recognition.reason).where(
                Recognition.period_start == start, Recognition.person_id.in_(sorted(people))
            )
        )
    }
    names = _names(session, {s.person_id for s in found})
    return [
        SuggestionView(s.person_id, names.get(s.person_id, ""), s.reason, s.detail, start, end)
        for s in found
        if (s.person_id, s.reason) not in decided
    ]


@dataclass(frozen=True)
class RecognitionView:
    id: int
    person_id: int
    person: str
    reason: str
    detail: str
    period_start: datetime
    period_end: datetime
    state: str
    decided_at: datetime | None
    confirmed_by: str | None


def views(session: Session, rows: list[Recognition]) -> list[RecognitionView]:
    names = _names(
        session,
        {r.person_id for r in rows} | {r.confirmed_by_id for r in rows if r.confirmed_by_id},
    )
    return [
        RecognitionView(
            r.id,
            r.person_id,
            names.get(r.person_id, ""),
            r.reason,
            r.detail,
            r.period_start,
            r.period_end,
            r.state,
            r.decided_at,
            None if r.confirmed_by_id is None else names.get(r.confirmed_by_id),
        )
        for r in rows
    ]


def decide(
    session: Session,
    viewer: Actor,
    person_id: int,
    reason: str,
    start: datetime,
    end: datetime,
    confirm: bool,
    now: datetime,
    **thresholds: int,
) -> RecognitionView:
    """A lead of one of the person's teams confirms or dismisses a suggestion of the period,
    once; the decision (with the suggestion it was about) is the first thing stored.

    The suggestion is worked out again, so only what the history supports can be confirmed.
    Someone whose figures the viewer may not see does not exist for them (NotFound).
    """
    if person_id not in led_people(session, viewer):
        raise NotFound(f"person {person_id} does not exist", field="person_id")
    suggestion = next(
        (
            s
            for s in rules.suggest_recognitions(
                person_records(session, start, end, {person_id}), **thresholds
            )
            if s.reason == reason
        ),
        None,
    )
    if suggestion is None:
        raise NotFound(
            f"nothing in that period suggests recognising person {person_id} for {reason!r}",
            field="reason",
        )
    recognition = Recognition(
        person_id=person_id,
        reason=reason,
        detail=suggestion.detail,
        period_start=start,
        period_end=end,
        state="confirmed" if confirm else "dismissed",
        suggested_at=now,
        decided_at=now,
        confirmed_by_id=viewer.person_id,
    )
    try:
        # The unique (person, reason, period start) makes a second decision, even a
        # simultaneous one by another lead, a conflict rather than a second row.
        with session.begin_nested():
            session.add(recognition)
    except IntegrityError:
        raise Conflict(
            "that recognition has already been confirmed or dismissed", field="reason"
        ) from None
    return views(session, [recognition])[0]


@dataclass(frozen=True)
class Digest:
    """The company's week: confirmed recognitions and the wins of the week."""

    week_start: datetime
    week_end: datetime
    recognitions: list[RecognitionView]
    resolved: int
    within_target: int
    measured: int  # resolutions with a target to be measured against (imports may have none)
    promises_kept: int
    praise: int
    ratings: int
    mean_rating: float | None


def week_of(at: datetime, clock: Clock = rules.UTC_CLOCK) -> datetime:
    """The first instant of the week (from Monday 00:00 on `clock`'s calendar) `at` falls in."""
    return rules.bucket_starts(at, at + timedelta(seconds=1), "week", clock)[0]


def digest(session: Session, week_start: datetime) -> Digest:
    """Confirmed recognitions decided in the week, and the week's wins from the history."""
    week_end = week_start + timedelta(days=7)
    rows = list(
        session.scalars(
            select(Recognition)
            .where(
                Recognition.state == "confirmed",
                Recognition.decided_at >= week_start,
                Recognition.decided_at < week_end,
            )
            .order_by(Recognition.decided_at)
        )
    )
    counts: dict[str, int] = defaultdict(int)
    within = measured = 0
    in_week = and_(Event.at >= week_start, Event.at < week_end)
    within_target = Event.payload[WITHIN_TARGET].as_boolean()
    for kind, n, target, with_target in session.execute(
        select(
            Event.kind,
            func.count(),
            func.sum(case((within_target, 1), else_=0)),
            func.sum(case((within_target.is_not(None), 1), else_=0)),
        )
        .where(
            Event.kind.in_((EventKind.RESOLVED, EventKind.PROMISE_KEPT, EventKind.RATED)), in_week
        )
        .group_by(Event.kind)
    ):
        counts[kind] = n
        if kind == EventKind.RESOLVED:
            within, measured = int(target or 0), int(with_target or 0)
    praise = session.scalar(
        select(func.count()).where(
            Event.kind == EventKind.FEEDBACK_GIVEN,
            Event.payload[FEEDBACK_KIND].as_string() == "praise",
            in_week,
        )
    )
    understand, own, serve, communicate = (Event.payload[k].as_float() for k in RATING_KEYS)
    rating_sum = session.scalar(
        select(func.sum(understand + own + serve + communicate)).where(
            Event.kind == EventKind.RATED, in_week
        )
    )
    ratings = counts[EventKind.RATED]
    return Digest(
        week_start,
        week_end,
        views(session, rows),
        counts[EventKind.RESOLVED],
        within,
        measured,
        counts[EventKind.PROMISE_KEPT],
        int(praise or 0),
        ratings,
        None if not ratings or rating_sum is None else float(rating_sum) / (4 * ratings),
    )
