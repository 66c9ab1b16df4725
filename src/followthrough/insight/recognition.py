"""Recognition and review: suggestions from the history for a lead to confirm, and the weekly
company digest of confirmed recognitions and wins. Services flush; they never commit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from followthrough.errors import Conflict, NotAllowed, NotFound
from followthrough.history.models import Event
from followthrough.insight import rules
from followthrough.insight.models import Recognition
from followthrough.insight.sql import home_teams
from followthrough.org.models import Membership, Person, Team
from followthrough.requests.rules import Actor


def person_records(session: Session, start: datetime, end: datetime) -> list[rules.PersonRecord]:
    """What each person did in [start, end) that a recognition looks for, counted in SQL."""
    spanning: dict[int, int] = defaultdict(int)
    kept: dict[int, int] = defaultdict(int)
    broken: dict[int, int] = defaultdict(int)
    praise: dict[int, int] = defaultdict(int)
    moved = select(Event.request_id).where(
        Event.kind == "accepted", Event.other_team_id.is_not(None)
    )
    for person_id, n in session.execute(
        select(Event.person_id, func.count())
        .where(
            Event.kind == "resolved",
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
            Event.kind.in_(("promise_kept", "promise_broken")),
            Event.at >= start,
            Event.at < end,
        )
        .group_by(Event.person_id, Event.kind)
    ):
        if person_id is not None:
            (kept if kind == "promise_kept" else broken)[person_id] = n
    giver, receiver = aliased(home_teams()), aliased(home_teams())
    giver_team, receiver_team = aliased(Team), aliased(Team)
    for person_id, n in session.execute(
        select(Event.person_id, func.count())
        .join(giver, giver.c.person_id == Event.actor_id)
        .join(receiver, receiver.c.person_id == Event.person_id)
        .join(giver_team, giver_team.id == giver.c.team_id)
        .join(receiver_team, receiver_team.id == receiver.c.team_id)
        .where(
            Event.kind == "feedback_given",
            Event.payload["kind"].as_string() == "praise",
            giver_team.department_id != receiver_team.department_id,
            Event.at >= start,
            Event.at < end,
        )
        .group_by(Event.person_id)
    ):
        if person_id is not None:
            praise[person_id] = n
    people = set(spanning) | set(kept) | set(broken) | set(praise)
    return [
        rules.PersonRecord(p, spanning[p], kept[p], broken[p], praise[p]) for p in sorted(people)
    ]


def suggest(
    session: Session, start: datetime, end: datetime, now: datetime, **thresholds: int
) -> list[Recognition]:
    """Store the period's suggestions (once per person, reason and period) and return the new;
    `thresholds` override `rules.suggest_recognitions`' minimums."""
    existing = {
        (row.person_id, row.reason)
        for row in session.execute(
            select(Recognition.person_id, Recognition.reason).where(
                Recognition.period_start == start
            )
        )
    }
    created = []
    for suggestion in rules.suggest_recognitions(person_records(session, start, end), **thresholds):
        if (suggestion.person_id, suggestion.reason) in existing:
            continue
        recognition = Recognition(
            person_id=suggestion.person_id,
            reason=suggestion.reason,
            detail=suggestion.detail,
            period_start=start,
            period_end=end,
            state="suggested",
            suggested_at=now,
        )
        session.add(recognition)
        created.append(recognition)
    session.flush()
    return created


def _led_people(session: Session, viewer: Actor) -> set[int]:
    """The people in the teams the viewer leads."""
    if not viewer.lead_of:
        return set()
    return set(
        session.scalars(select(Membership.person_id).where(Membership.team_id.in_(viewer.lead_of)))
    )


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
    ids = {r.person_id for r in rows} | {r.confirmed_by_id for r in rows if r.confirmed_by_id}
    names = {
        p.id: p.name
        for p in session.execute(select(Person.id, Person.name).where(Person.id.in_(ids)))
    }
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


def suggestions_for(session: Session, viewer: Actor) -> list[RecognitionView]:
    """Open suggestions about the people the viewer leads (a lead's to-do list)."""
    people = _led_people(session, viewer)
    rows = list(
        session.scalars(
            select(Recognition)
            .where(Recognition.state == "suggested", Recognition.person_id.in_(people))
            .order_by(Recognition.period_start.desc(), Recognition.id)
        )
    )
    return views(session, rows)


def decide(
    session: Session, viewer: Actor, recognition_id: int, confirm: bool, now: datetime
) -> RecognitionView:
    """A lead of one of the person's teams confirms or dismisses a suggestion, once."""
    recognition = session.get(Recognition, recognition_id, with_for_update=True)
    if recognition is None:
        raise NotFound(f"recognition {recognition_id} does not exist", field="recognition_id")
    if recognition.person_id not in _led_people(session, viewer):
        raise NotAllowed("only a lead of one of their teams can confirm a recognition")
    if recognition.state != "suggested":
        raise Conflict(f"the recognition is already {recognition.state}", field="recognition_id")
    recognition.state = "confirmed" if confirm else "dismissed"
    recognition.decided_at = now
    recognition.confirmed_by_id = viewer.person_id
    session.flush()
    return views(session, [recognition])[0]


@dataclass(frozen=True)
class Digest:
    """The company's week: confirmed recognitions and the wins of the week."""

    week_start: datetime
    week_end: datetime
    recognitions: list[RecognitionView]
    resolved: int
    within_target: int
    promises_kept: int
    praise: int
    ratings: int
    mean_rating: float | None


def week_of(at: datetime) -> datetime:
    """Monday 00:00 UTC of the week `at` falls in."""
    return rules.bucket_starts(at, at + timedelta(seconds=1), "week")[0]


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
    within = 0
    in_week = and_(Event.at >= week_start, Event.at < week_end)
    for kind, n, target in session.execute(
        select(
            Event.kind,
            func.count(),
            func.sum(case((Event.payload["within_target"].as_boolean(), 1), else_=0)),
        )
        .where(Event.kind.in_(("resolved", "promise_kept", "rated")), in_week)
        .group_by(Event.kind)
    ):
        counts[kind] = n
        if kind == "resolved":
            within = int(target or 0)
    praise = session.scalar(
        select(func.count()).where(
            Event.kind == "feedback_given",
            Event.payload["kind"].as_string() == "praise",
            in_week,
        )
    )
    rating_sum = session.scalar(
        select(
            func.sum(
                Event.payload["understand"].as_float()
                + Event.payload["own"].as_float()
                + Event.payload["serve"].as_float()
                + Event.payload["communicate"].as_float()
            )
        ).where(Event.kind == "rated", in_week)
    )
    ratings = counts["rated"]
    return Digest(
        week_start,
        week_end,
        views(session, rows),
        counts["resolved"],
        within,
        counts["promise_kept"],
        int(praise or 0),
        ratings,
        None if not ratings or rating_sum is None else float(rating_sum) / (4 * ratings),
    )
