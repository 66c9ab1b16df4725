"""The balanced scorecard: what got done and how, per person, team or department, from the event
history, aggregated in SQL; and who may see which scorecard.

Every figure is defined in docs/insight.md. Queries group by subject (and by week or month for
the trend) and return a few hundred rows at most; `rules.figures_of` does the arithmetic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from followthrough.errors import InvalidInput, NotFound
from followthrough.history.models import Event
from followthrough.history.payloads import (
    IMPORTED_FROM,
    Accepted,
    EventKind,
    FeedbackGiven,
    Rated,
    Resolved,
    UpdatePosted,
)
from followthrough.insight import rules
from followthrough.insight.rules import Figures, Tally
from followthrough.insight.sql import bucket, seconds_between
from followthrough.org.actors import Actor
from followthrough.org.local_time import Clock
from followthrough.org.models import Department, Membership, Person, Team

Level = Literal["person", "team", "department"]
LEVELS: tuple[Level, ...] = ("person", "team", "department")
Key = tuple[int, str | None]
# A trend's buckets: their first instants and their names, in order.
Buckets = tuple[list[datetime], list[str]]

TALLY_KINDS = (
    EventKind.RESOLVED,
    EventKind.ACCEPTED,
    EventKind.DECLINED,
    EventKind.PROMISE_KEPT,
    EventKind.PROMISE_BROKEN,
    EventKind.RATED,
    EventKind.UPDATE_REMINDED,
)

# The payload keys read in SQL, checked against the typed payloads when this module loads.
WAITED_SECONDS = Accepted.key("waited_seconds")
PREVIOUS_OWNER = Accepted.key("previous_owner_id")
BOUNCE = Accepted.key("bounce")
WITHIN_TARGET = Resolved.key("within_target")
FROM_REQUESTER = UpdatePosted.key("from_requester")
FEEDBACK_KIND = FeedbackGiven.key("kind")
RATING_KEYS = {block: Rated.key(block) for block in rules.RATING_BLOCKS}


def require_level(level: str) -> Level:
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}", field="level")
    return level


def _subject(level: Level, person: Any, team: Any) -> tuple[Any, Any]:
    """The subject column for a level, and the Team alias to join when it is the department."""
    if level == "person":
        return person, None
    if level == "team":
        return team, None
    owner = aliased(Team)
    return owner.department_id, (owner, owner.id == team)


def _grouped(
    session: Session,
    level: Level,
    person: Any,
    team: Any,
    columns: list[Any],
    where: list[ColumnElement[bool]],
    at: Any,
    buckets: Buckets | None,
    source: Any = Event,
    also_by: tuple[Any, ...] = (),
) -> list[Any]:
    subject, join = _subject(level, person, team)
    bucket_column = bucket(at, *buckets) if buckets else literal(None)
    query = select(subject.label("subject"), bucket_column.label("bucket"), *columns).select_from(
        source
    )
    if join is not None:
        query = query.join(join[0], join[1])
    # Extra grouping columns (the kind) go first: on SQLite this lets the planner read the
    # period through ix_event_kind_at (only the kinds asked for) instead of every team's events.
    query = query.where(subject.is_not(None), *where).group_by(*also_by, subject, bucket_column)
    return list(session.execute(query))


def tallies(
    session: Session,
    level: Level,
    start: datetime,
    end: datetime,
    unit: str | None = None,
    subject_id: int | None = None,
    clock: Clock = rules.UTC_CLOCK,
) -> dict[Key, Tally]:
    """The scorecard tallies of every subject of `level` in [start, end), per bucket if `unit`
    (weeks or months on `clock`'s calendar, named by their first day there)."""
    result: dict[Key, Tally] = defaultdict(Tally)
    buckets: Buckets | None = None
    if unit:
        starts = rules.bucket_starts(start, end, unit, clock)
        buckets = (starts, [rules.bucket_label(at, clock) for at in starts])

    def add(key: Key, **values: Any) -> None:
        tally = result[key]
        for name, value in values.items():
            setattr(tally, name, getattr(tally, name) + (value or 0))

    in_period = [Event.at >= start, Event.at < end]

    def only(subject: Any) -> list[ColumnElement[bool]]:
        return [] if subject_id is None else [subject == subject_id]

    # Counts and sums straight from one pass over the period's events.
    person = case(
        (Event.kind.in_((EventKind.DECLINED, EventKind.UPDATE_POSTED)), Event.actor_id),
        else_=Event.person_id,
    )
    payload = Event.payload
    resolved = Event.kind == EventKind.RESOLVED
    within_target = payload[WITHIN_TARGET].as_boolean()
    rows = _grouped(
        session,
        level,
        person,
        Event.team_id,
        [
            Event.kind,
            func.count().label("n"),
            func.sum(
                case((Event.kind == EventKind.ACCEPTED, payload[WAITED_SECONDS].as_float()))
            ).label("waited"),
            func.sum(case((and_(resolved, within_target), 1))).label("within"),
            # Resolutions without a target (imported ones whose target is unknown) are
            # neither within nor outside it.
            func.sum(case((and_(resolved, within_target.is_not(None)), 1))).label("measured"),
            *(
                func.sum(case((Event.kind == EventKind.RATED, payload[key].as_integer()))).label(
                    block
                )
                for block, key in RATING_KEYS.items()
            ),
        ],
        [Event.kind.in_(TALLY_KINDS), *in_period, *_only_subject(level, subject_id, person)],
        Event.at,
        buckets,
        also_by=(Event.kind,),
    )
    for row in rows:
        key = (row.subject, row.bucket)
        if row.kind == EventKind.RESOLVED:
            add(key, handled=row.n, within_target=row.within, measured=row.measured)
        elif row.kind == EventKind.ACCEPTED:
            add(key, accepted=row.n, accept_seconds=row.waited, handoffs_accepted=row.n)
        elif row.kind == EventKind.DECLINED:
            add(key, handoffs_declined=row.n)
        elif row.kind == EventKind.PROMISE_KEPT:
            add(key, promises_kept=row.n)
        elif row.kind == EventKind.PROMISE_BROKEN:
            add(key, promises_broken=row.n)
        elif row.kind == EventKind.UPDATE_REMINDED:
            add(key, updates_missed=row.n)
        elif row.kind == EventKind.RATED:
            add(key, ratings=row.n, **{b: getattr(row, b) for b in rules.RATING_BLOCKS})

    # Time to resolve: from the request's opening to each resolution. The kind is inlined so
    # the planner can use the partial index of openings (ix_event_opened_request_id).
    opened = aliased(Event)
    resolved_rows = _grouped(
        session,
        level,
        Event.person_id,
        Event.team_id,
        [
            func.count().label("n"),
            func.sum(seconds_between(opened.at, Event.at)).label("seconds"),
        ],
        [
            Event.kind == EventKind.RESOLVED,
            *in_period,
            *_only_subject(level, subject_id, Event.person_id),
        ],
        Event.at,
        buckets,
        source=Event.__table__.join(
            opened,
            and_(
                opened.request_id == Event.request_id,
                opened.kind == literal(EventKind.OPENED.value, literal_execute=True),
            ),
        ),
    )
    for row in resolved_rows:
        add((row.subject, row.bucket), resolve_count=row.n, resolve_seconds=row.seconds)

    # Updates on time: an update from the owning side that was not preceded by a reminder. An
    # imported update was owed on no cadence the desk kept (the other system sent no
    # reminders), so it is neither on time nor missed and is not counted. The
    # previous update-ladder event of the period is looked up per update, walking back along
    # the request's own events; updates are few and reminders many, so this reads far fewer
    # rows than numbering every ladder event of the period.
    earlier = aliased(Event)
    previous = (
        select(earlier.kind)
        .where(
            earlier.request_id == Event.request_id,
            earlier.id < Event.id,
            _on_update_ladder(earlier),
            earlier.at >= start,
            earlier.at < end,
        )
        .order_by(earlier.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    on_time_rows = _grouped(
        session,
        level,
        Event.actor_id,
        Event.team_id,
        [func.count().label("n")],
        [
            Event.kind == EventKind.UPDATE_POSTED,
            Event.payload[FROM_REQUESTER].as_boolean().is_(None),
            Event.payload[IMPORTED_FROM].as_string().is_(None),
            *in_period,
            func.coalesce(previous, "") != EventKind.UPDATE_REMINDED,
            *_only_subject(level, subject_id, Event.actor_id),
        ],
        Event.at,
        buckets,
    )
    for row in on_time_rows:
        add((row.subject, row.bucket), updates_on_time=row.n)

    # Bounces caused: the person and team that sent the request back where it had been.
    bounce_rows = _grouped(
        session,
        level,
        Event.payload[PREVIOUS_OWNER].as_integer(),
        Event.other_team_id,
        [func.count().label("n")],
        [
            Event.kind == EventKind.ACCEPTED,
            Event.payload[BOUNCE].as_boolean().is_(True),
            *in_period,
            *_only_subject(
                level,
                subject_id,
                Event.payload[PREVIOUS_OWNER].as_integer(),
                Event.other_team_id,
            ),
        ],
        Event.at,
        buckets,
    )
    for row in bounce_rows:
        add((row.subject, row.bucket), bounces_caused=row.n)

    # Praise and constructive feedback received, counted for each team the receiver belongs to.
    belongs = _belongs()
    feedback_rows = _grouped(
        session,
        level,
        Event.person_id,
        belongs.c.team_id,
        [
            func.sum(case((Event.payload[FEEDBACK_KIND].as_string() == "praise", 1))).label(
                "praise"
            ),
            func.sum(case((Event.payload[FEEDBACK_KIND].as_string() == "constructive", 1))).label(
                "constructive"
            ),
        ],
        [
            Event.kind == EventKind.FEEDBACK_GIVEN,
            *in_period,
            *_only_subject(level, subject_id, Event.person_id, belongs.c.team_id),
        ],
        Event.at,
        buckets,
        source=Event.__table__.join(belongs, belongs.c.person_id == Event.person_id)
        if level != "person"
        else Event,
    )
    for row in feedback_rows:
        add((row.subject, row.bucket), praise=row.praise, constructive=row.constructive)
    return dict(result)


def _only_subject(
    level: Level, subject_id: int | None, person: Any, team: Any = Event.team_id
) -> list[ColumnElement[bool]]:
    """Narrow a query to one subject, so a single scorecard reads only its own rows."""
    if subject_id is None:
        return []
    if level == "person":
        return [person == subject_id]
    if level == "team":
        return [team == subject_id]
    return [team.in_(select(Team.id).where(Team.department_id == subject_id))]


def _on_update_ladder(event: Any) -> ColumnElement[bool]:
    """An event on a request's update ladder: an update from the owning side, or a reminder."""
    return or_(
        and_(
            event.kind == EventKind.UPDATE_POSTED,
            event.payload[FROM_REQUESTER].as_boolean().is_(None),
        ),
        event.kind == EventKind.UPDATE_REMINDED,
    )


def _belongs() -> Any:
    """(person_id, team_id) for every member and lead of every team."""
    return union_all(
        select(Membership.person_id.label("person_id"), Membership.team_id.label("team_id")),
        select(Team.lead_id.label("person_id"), Team.id.label("team_id")).where(
            Team.lead_id.is_not(None)
        ),
    ).subquery("belongs")


# ---- who may see what ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A subject of a scorecard: its name, its people, and its leads."""

    level: Level
    id: int
    name: str
    people: frozenset[int]
    leads: frozenset[int]


def groups(session: Session, level: Level) -> dict[int, Group]:
    """Every person, team or department with the people in it and who leads them."""
    belongs = _belongs()
    pairs = list(session.execute(select(belongs.c.person_id, belongs.c.team_id)))
    teams = {t.id: t for t in session.scalars(select(Team))}
    if level == "team":
        people: dict[int, set[int]] = defaultdict(set)
        for person_id, team_id in pairs:
            people[team_id].add(person_id)
        return {
            t.id: Group(
                "team",
                t.id,
                t.name,
                frozenset(people[t.id]),
                frozenset({t.lead_id} if t.lead_id else set()),
            )
            for t in teams.values()
        }
    if level == "department":
        people = defaultdict(set)
        leads: dict[int, set[int]] = defaultdict(set)
        for person_id, team_id in pairs:
            people[teams[team_id].department_id].add(person_id)
        for t in teams.values():
            if t.lead_id:
                leads[t.department_id].add(t.lead_id)
        return {
            d.id: Group("department", d.id, d.name, frozenset(people[d.id]), frozenset(leads[d.id]))
            for d in session.scalars(select(Department))
        }
    leads_of: dict[int, set[int]] = defaultdict(set)
    for person_id, team_id in pairs:
        lead = teams[team_id].lead_id
        if lead is not None and lead != person_id:
            leads_of[person_id].add(lead)
    return {
        p.id: Group("person", p.id, p.name, frozenset({p.id}), frozenset(leads_of[p.id]))
        for p in session.scalars(select(Person).where(Person.active.is_(True)))
    }


def may_see(viewer: Actor, group: Group, minimum_group_size: int) -> bool:
    """The privacy rule, applied to one subject (see docs/insight.md, Privacy)."""
    if group.level == "person":
        return rules.may_see_person(viewer.person_id, group.id, group.leads)
    inside = viewer.person_id in group.people or viewer.person_id in group.leads
    return rules.may_see_group(len(group.people), inside, minimum_group_size)


# ---- reports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    bucket: str
    figures: Figures


@dataclass(frozen=True)
class Scorecard:
    """One subject's scorecard over a period, with the previous period and the trend.

    `withheld` is true when the privacy rule hides a group's figures from this viewer; the
    figures are then absent, not zero.
    """

    level: Level
    subject_id: int
    name: str
    start: datetime
    end: datetime
    people: int
    withheld: bool
    figures: Figures | None
    previous: Figures | None
    change: dict[str, float | None]
    series: list[Point]


def _changes(current: Figures, previous: Figures) -> dict[str, float | None]:
    return {
        f.name: rules.change(getattr(current, f.name), getattr(previous, f.name))
        for f in fields(Figures)
    }


def _withheld(group: Group, start: datetime, end: datetime) -> Scorecard:
    return Scorecard(
        group.level, group.id, group.name, start, end, len(group.people), True, None, None, {}, []
    )


def scorecard(
    session: Session,
    viewer: Actor,
    level: Level,
    subject_id: int,
    start: datetime,
    end: datetime,
    *,
    unit: str = "week",
    minimum_group_size: int = 5,
    clock: Clock = rules.UTC_CLOCK,
) -> Scorecard:
    """One scorecard with its weekly or monthly trend and the change against the period before.
    The trend's weeks and months are those of the viewer's calendar (`clock`), each named by
    its first day: a lead reads the weeks they lived, Monday to Sunday where they are.

    A person's scorecard the viewer may not see does not exist for them (NotFound); a small
    group's is returned withheld.
    """
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    group = groups(session, level).get(subject_id)
    if group is None or (level == "person" and not may_see(viewer, group, minimum_group_size)):
        raise NotFound(f"{level} {subject_id} does not exist", field="subject_id")
    if not may_see(viewer, group, minimum_group_size):
        return _withheld(group, start, end)
    current = tallies(session, level, start, end, unit, subject_id, clock)
    before_start, before_end = rules.previous_period(start, end)
    before = tallies(session, level, before_start, before_end, None, subject_id)
    series_tallies: dict[str, Tally] = defaultdict(Tally)
    for (subject, bucket_key), tally in current.items():
        if subject == subject_id and bucket_key is not None:
            series_tallies[bucket_key] = series_tallies[bucket_key] + tally
    labels = [rules.bucket_label(b, clock) for b in rules.bucket_starts(start, end, unit, clock)]
    series = [
        Point(label, rules.figures_of(series_tallies.get(label, Tally()))) for label in labels
    ]
    total = _sum(series_tallies.values())
    figures = rules.figures_of(total)
    previous = rules.figures_of(before.get((subject_id, None), Tally()))
    return Scorecard(
        level,
        group.id,
        group.name,
        start,
        end,
        len(group.people),
        False,
        figures,
        previous,
        _changes(figures, previous),
        series,
    )


def _sum(values: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in values:
        total = total + tally
    return total


def scorecards(
    session: Session,
    viewer: Actor,
    level: Level,
    start: datetime,
    end: datetime,
    *,
    minimum_group_size: int = 5,
) -> list[Scorecard]:
    """Every scorecard of a level the viewer may see (people: themselves and those they lead),
    with the change against the previous period; small groups outside the viewer's are withheld."""
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    current = tallies(session, level, start, end)
    before = tallies(session, level, *rules.previous_period(start, end))
    result = []
    for group in sorted(groups(session, level).values(), key=lambda g: g.name):
        visible = may_see(viewer, group, minimum_group_size)
        if level == "person" and not visible:
            continue
        if not visible:
            result.append(_withheld(group, start, end))
            continue
        figures = rules.figures_of(current.get((group.id, None), Tally()))
        previous = rules.figures_of(before.get((group.id, None), Tally()))
        result.append(
            Scorecard(
                level,
                group.id,
                group.name,
                start,
                end,
                len(group.people),
                False,
                figures,
                previous,
                _changes(figures, previous),
                [],
            )
        )
    return result
