"""What the desk's history says: counts aggregated in SQL (one row per team, per team and
weekday, and per pair of teams), and the shapes of each team's times from its requests' instants,
about SHAPE_SAMPLE requests per team (every n-th id beyond that). So fitting a desk with a
million requests reads a few hundred aggregate rows and about SHAPE_SAMPLE rows a team
(bench/fitted.py measures it)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, Integer, and_, case, func, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.expression import FunctionElement

from followthrough.history.models import Event
from followthrough.insight.sql import home_teams, seconds_between
from followthrough.org.models import Holiday, Membership, Service, Team
from followthrough.org.rules import WorkingCalendar
from followthrough.practice.fitted.shapes import (
    Shape,
    mean_margin,
    survival_shape,
    working_clock,
)
from followthrough.requests.models import Request

# Requests per team whose times make the shapes: beyond it a sample (every n-th id) is read,
# so a desk of a million requests reads about this many rows per team.
SHAPE_SAMPLE = 5_000
# A team's times are read from a change on (`read_history`'s `changes`) only with at least this
# long of the period after it: a few days would weigh the weekdays unevenly (a request in the
# last hour of a Friday waits the weekend) and be too few to fit on.
AFTER_CHANGE = timedelta(days=14)


class weekday_of(FunctionElement[int]):  # noqa: N801 - reads as a SQL function
    """The UTC weekday of an instant, 0 for Monday to 6 for Sunday (as the simulation counts)."""

    type = Integer()
    inherit_cache = True
    name = "weekday_of"


@compiles(weekday_of, "sqlite")
def _weekday_sqlite(element: weekday_of, compiler: Any, **kw: Any) -> str:
    (at,) = list(element.clauses)
    return f"((CAST(strftime('%w', {compiler.process(at, **kw)}) AS INTEGER) + 6) % 7)"


@compiles(weekday_of, "postgresql")
def _weekday_pg(element: weekday_of, compiler: Any, **kw: Any) -> str:
    (at,) = list(element.clauses)
    return f"(CAST(EXTRACT(ISODOW FROM {compiler.process(at, **kw)} AT TIME ZONE 'UTC') AS INTEGER) - 1)"


@dataclass(frozen=True, slots=True)
class TeamHistory:
    """One team as the history shows it over the period (hours are wall-clock hours)."""

    team_id: int
    name: str
    staff: int
    opens: float
    closes: float
    working_days: str
    received: int
    accepted: int
    mean_accept_hours: float
    resolved: int
    mean_resolve_hours: float
    # Standard deviation of the hours from acceptance to resolution, for the work time's spread.
    sd_work_hours: float
    mean_work_hours: float
    offers: int
    bounces: int
    handed_on: int
    resolve_target_hours: float
    timezone: str = "UTC"
    holidays: tuple[date, ...] = ()
    # Standard deviations of the hours to accept and to resolve, for the means' uncertainty.
    sd_accept_hours: float = 0.0
    sd_resolve_hours: float = 0.0
    # Working hours (on the team's calendar) from opening to acceptance and from acceptance to
    # resolution, of the period's requests; those still open at its end count as running.
    accept_shape: Shape = field(default_factory=Shape)
    work_shape: Shape = field(default_factory=Shape)
    # When the team's acceptance (its hours to accept, their shape, its bounces) was read from,
    # if not the period's start: a change in how it works within the period (`read_history`).
    accept_since: datetime | None = None
    # The mean hours to accept over the whole period, if the acceptance was read from a change:
    # the hours a request takes beyond its acceptance are read over the whole period.
    whole_accept_hours: float | None = None
    # The 95% margins of the means of hours to accept and to resolve, as shares of them, from
    # the sample of times (`shapes.mean_margin`); None unless asked for (`read_history`).
    accept_mean_margin: float | None = None
    resolve_mean_margin: float | None = None

    @property
    def rest_hours(self) -> float:
        """Mean hours to resolve beyond those to accept, over the whole period."""
        accept = self.mean_accept_hours
        if self.whole_accept_hours is not None:
            accept = self.whole_accept_hours
        return self.mean_resolve_hours - accept

    @property
    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(
            timezone=self.timezone,
            day_start_minute=round(self.opens * 60),
            day_end_minute=round(self.closes * 60),
            working_days=frozenset(int(day) for day in self.working_days),
            holidays=frozenset(self.holidays),
        )


@dataclass(frozen=True, slots=True)
class PairHistory:
    """Requests raised by people of one team (None: of no team) for another team."""

    from_team_id: int | None
    to_team_id: int
    requests: int


@dataclass(frozen=True, slots=True)
class History:
    """The desk's history between two instants, as the fit needs it."""

    since: datetime
    until: datetime
    teams: tuple[TeamHistory, ...]
    pairs: tuple[PairHistory, ...]
    # Requests opened per team and weekday (0 Monday) over the period.
    by_weekday: dict[tuple[int, int], int]
    # Requests opened per hour of the week (Monday 00:00-01:00 first) on the local clock of
    # the desk's main time zone (`clock_zone`), from the teams' samples of times, each
    # counting for as many of its team's requests as it stands for.
    opened_by_hour: tuple[float, ...] = ()

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86_400.0


def changes_within(
    changes: Mapping[int, datetime], since: datetime, until: datetime
) -> dict[int, datetime]:
    """Of the teams' changes, those a period [since, until) reads the team's times from: after
    its start and at least AFTER_CHANGE before its end (a change before the period is already
    in all of it; one later than that leaves too little of the period after it)."""
    return {team: at for team, at in changes.items() if since < at <= until - AFTER_CHANGE}


def read_history(
    session: Session,
    since: datetime,
    until: datetime,
    changes: Mapping[int, datetime] | None = None,
    *,
    margins: bool = False,
) -> History:
    """The period's aggregates; requests count in the period they were opened in, and their
    acceptance and resolution only if they came before its end (`until`). With `margins`,
    each team's means of hours to accept and to resolve come with their margins (a bootstrap
    of the sample of times: the back-test's; a second or so on a large desk).

    `changes` are, per team, when the way it accepts changed (its department joined the
    buddy programme): the fit is of the company as it is now, so a team that changed within
    the period (`changes_within`) has its acceptance and bounces read from the change on; its
    arrivals, resolutions and work still over the whole period, whose end cuts off long
    requests as a simulation of it does.

    Merged duplicates are left out: their work was done under the request they went into."""
    in_period = and_(
        Request.opened_at >= since, Request.opened_at < until, Request.state != "merged"
    )
    after = _accepting_since(session, in_period, changes_within(changes or {}, since, until), until)
    timed = _since_change(Request.team_id, Request.opened_at, after)
    # Only what happened within the period counts, as in a simulation of the period: a request
    # opened in its last weeks and resolved after it is, for this period, still open. Without
    # this the fit's months would count long requests a simulation of them cannot finish.
    accepted_in = Request.accepted_at < until
    resolved_in = Request.resolved_at < until
    hours_to_accept = seconds_between(Request.opened_at, Request.accepted_at) / 3600.0
    hours_to_resolve = seconds_between(Request.opened_at, Request.resolved_at) / 3600.0
    work = seconds_between(Request.accepted_at, Request.resolved_at) / 3600.0
    worked = and_(accepted_in, resolved_in)
    work_only = case((worked, work), else_=None)
    # A team's acceptance as it is now: from its change on, if it changed.
    accept_only = case((and_(accepted_in, timed), hours_to_accept), else_=None)
    resolve_only = case((resolved_in, hours_to_resolve), else_=None)
    per_team = (
        select(
            Request.team_id,
            func.count(Request.id).label("received"),
            func.count(accept_only).label("accepted"),
            func.avg(accept_only).label("accept"),
            func.avg(accept_only * accept_only).label("accept_sq"),
            func.avg(case((accepted_in, hours_to_accept), else_=None)).label("accept_all"),
            func.count(resolve_only).label("resolved"),
            func.avg(resolve_only).label("resolve"),
            func.avg(resolve_only * resolve_only).label("resolve_sq"),
            func.count(work_only).label("worked"),
            func.avg(work_only).label("work"),
            func.avg(work_only * work_only).label("work_sq"),
        )
        .where(in_period)
        .group_by(Request.team_id)
    )
    requests = {row.team_id: row for row in session.execute(per_team)}
    # Offers received, bounces (declined) and handoffs onward, from the event history.
    event_counts = (
        select(
            Event.team_id,
            func.sum(case((Event.kind == "offered", 1), else_=0)).label("offers"),
            func.sum(case((Event.kind == "declined", 1), else_=0)).label("bounces"),
            func.sum(
                case(
                    (and_(Event.kind == "offered", Event.other_team_id.is_not(None)), 1),
                    else_=0,
                )
            ).label("handed"),
        )
        .where(
            Event.at >= since,
            Event.at < until,
            Event.kind.in_(("offered", "declined")),
            _since_change(Event.team_id, Event.at, after),
        )
        .group_by(Event.team_id)
    )
    events = {row.team_id: row for row in session.execute(event_counts)}
    staff = {
        team_id: int(count)
        for team_id, count in session.execute(
            select(Membership.team_id, func.count(Membership.person_id)).group_by(
                Membership.team_id
            )
        ).all()
    }
    targets = {
        team_id: float(hours or 24.0)
        for team_id, hours in session.execute(
            select(Service.team_id, func.avg(Service.resolve_target_hours)).group_by(
                Service.team_id
            )
        ).all()
    }
    holidays: dict[int, list[date]] = {}
    for team_id, day in session.execute(select(Holiday.team_id, Holiday.day)).all():
        holidays.setdefault(team_id, []).append(day)
    times = _times(session, in_period, {team: int(row.received) for team, row in requests.items()})
    teams = []
    for team in session.execute(select(Team).order_by(Team.id)).scalars():
        row = requests.get(team.id)
        counted = events.get(team.id)
        worked_count = int(row.worked) if row else 0
        mean_work = float(row.work or 0.0) if row else 0.0
        variance = (float(row.work_sq or 0.0) - mean_work**2) if row and worked_count else 0.0
        mean_accept = float(row.accept or 0.0) if row else 0.0
        mean_resolve = float(row.resolve or 0.0) if row else 0.0
        teams.append(
            TeamHistory(
                team_id=team.id,
                name=team.name,
                staff=int(staff.get(team.id, 0)),
                opens=team.day_start_minute / 60.0,
                closes=team.day_end_minute / 60.0,
                working_days=team.working_days,
                received=int(row.received) if row else 0,
                accepted=int(row.accepted) if row else 0,
                mean_accept_hours=mean_accept,
                resolved=int(row.resolved) if row else 0,
                mean_resolve_hours=mean_resolve,
                sd_work_hours=max(variance, 0.0) ** 0.5,
                mean_work_hours=mean_work,
                offers=int(counted.offers or 0) if counted else 0,
                bounces=int(counted.bounces or 0) if counted else 0,
                handed_on=int(counted.handed or 0) if counted else 0,
                resolve_target_hours=float(targets.get(team.id) or 24.0),
                timezone=team.timezone,
                holidays=tuple(sorted(holidays.get(team.id, []))),
                sd_accept_hours=_sd(row.accept_sq if row else None, mean_accept),
                sd_resolve_hours=_sd(row.resolve_sq if row else None, mean_resolve),
                accept_since=after.get(team.id),
                whole_accept_hours=float(row.accept_all or 0.0)
                if row and team.id in after
                else None,
            )
        )
        teams[-1] = _with_shapes(teams[-1], times.get(team.id, []), since, until, margins)
    home = home_teams()
    pair_rows = session.execute(
        select(home.c.team_id, Request.team_id, func.count(Request.id))
        .select_from(Request)
        .outerjoin(home, home.c.person_id == Request.requester_id)
        .where(in_period)
        .group_by(home.c.team_id, Request.team_id)
    ).all()
    pairs = tuple(
        PairHistory(from_team_id=source, to_team_id=target, requests=int(count))
        for source, target, count in pair_rows
    )
    weekday_rows = session.execute(
        select(Request.team_id, weekday_of(Request.opened_at), func.count(Request.id))
        .where(in_period)
        .group_by(Request.team_id, weekday_of(Request.opened_at))
    ).all()
    by_weekday = {(int(team), int(day)): int(count) for team, day, count in weekday_rows}
    opened_by_hour = _opened_by_hour(times, requests, clock_zone(teams))
    return History(since, until, tuple(teams), pairs, by_weekday, opened_by_hour)


def _accepting_since(
    session: Session, in_period: Any, changes: Mapping[int, datetime], until: datetime
) -> dict[int, datetime]:
    """The changes after which the team accepted something before `until`: one that has not
    has no acceptance as it is now to read, and keeps the one it had."""
    if not changes:
        return {}
    accepting = session.scalars(
        select(Request.team_id)
        .where(
            in_period,
            Request.team_id.in_(list(changes)),
            Request.accepted_at < until,
            _since_change(Request.team_id, Request.opened_at, changes),
        )
        .distinct()
    ).all()
    return {team: changes[team] for team in accepting}


def _since_change(
    team: InstrumentedAttribute[Any],
    at: InstrumentedAttribute[datetime],
    changes: Mapping[int, datetime],
) -> ColumnElement[bool]:
    """True for a row of a team that did not change, or at or after its team's change."""
    if not changes:
        return true()
    return or_(
        team.is_(None),
        team.not_in(list(changes)),
        *(and_(team == team_id, at >= changed) for team_id, changed in changes.items()),
    )


def _sd(mean_square: Any, mean: float) -> float:
    """Standard deviation from the mean of squares and the mean (0 when there is nothing)."""
    return math.sqrt(max(float(mean_square or 0.0) - mean * mean, 0.0))


def clock_zone(teams: Sequence[TeamHistory]) -> str:
    """The time zone of the desk's clock: the one whose teams receive most requests."""
    received: dict[str, int] = {}
    for team in teams:
        received[team.timezone] = received.get(team.timezone, 0) + team.received
    return max(received, key=lambda zone: (received[zone], zone)) if received else "UTC"


Times = tuple[datetime, datetime | None, datetime | None, datetime | None]


def _times(session: Session, in_period: Any, received: dict[int, int]) -> dict[int, list[Times]]:
    """Each team's requests' opening, acceptance, resolution and closing; of a team with more
    than SHAPE_SAMPLE requests, those whose id is a multiple of the step that keeps at most
    SHAPE_SAMPLE (a filter, not a sort: the period's rows are read once)."""
    steps = {team: -(-count // SHAPE_SAMPLE) for team, count in received.items()}
    query = select(
        Request.team_id,
        Request.opened_at,
        Request.accepted_at,
        Request.resolved_at,
        Request.closed_at,
    ).where(in_period)
    sampled = {team: step for team, step in steps.items() if step > 1}
    if sampled:
        step = case(sampled, value=Request.team_id, else_=1)
        query = query.where(Request.id % step == 0)
    by_team: dict[int, list[Times]] = {}
    for team_id, opened, accepted, resolved, closed in session.execute(query).all():
        by_team.setdefault(team_id, []).append((opened, accepted, resolved, closed))
    return by_team


def _with_shapes(
    team: TeamHistory,
    times: Sequence[Times],
    since: datetime,
    until: datetime,
    margins: bool = False,
) -> TeamHistory:
    """The team's shapes of working hours to accept (of the requests opened since its change,
    `accept_since`, if it changed) and at work (of all the period's); with `margins`, the
    margins of its means of wall-clock hours to accept and to resolve, read as the SQL means
    are: acceptance since the change, resolution over the period."""
    if not times:
        return team
    end = until.timestamp()

    def seconds(index: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        # An instant at or after the period's end is not known to the period: nan.
        instants = [t[index] for t in times]
        return np.array(
            [np.nan if at is None else at.timestamp() for at in instants], dtype=np.float64
        )

    opened, accepted, resolved, closed = seconds(0), seconds(1), seconds(2), seconds(3)
    accepted[accepted >= end] = np.nan
    resolved[resolved >= end] = np.nan
    closed[closed >= end] = np.nan
    # Closed without a resolution (withdrawn): it stopped running then; otherwise at the end.
    stopped = np.where(np.isnan(resolved) & ~np.isnan(closed), closed, end)
    clock = working_clock(team.calendar, since, until)
    was_accepted = ~np.isnan(accepted)
    now = opened >= (team.accept_since or since).timestamp()
    accept_shape = survival_shape(
        clock.hours_between(opened[now], np.where(was_accepted, accepted, stopped)[now]),
        was_accepted[now],
    )
    worked = was_accepted
    was_resolved = ~np.isnan(resolved[worked])
    work_shape = survival_shape(
        clock.hours_between(
            accepted[worked], np.where(was_resolved, resolved[worked], stopped[worked])
        ),
        was_resolved,
    )
    if not margins:
        return replace(team, accept_shape=accept_shape, work_shape=work_shape)
    accepted_now = now & was_accepted
    ended = ~np.isnan(resolved)
    return replace(
        team,
        accept_shape=accept_shape,
        work_shape=work_shape,
        accept_mean_margin=mean_margin(
            (accepted[accepted_now] - opened[accepted_now]) / 3600.0, team.accepted
        ),
        resolve_mean_margin=mean_margin((resolved[ended] - opened[ended]) / 3600.0, team.resolved),
    )


def _opened_by_hour(
    times: dict[int, list[Times]], requests: dict[int, Any], zone: str
) -> tuple[float, ...]:
    counts = [0.0] * 168
    local = ZoneInfo(zone)
    for team_id, sample in times.items():
        stands_for = int(requests[team_id].received) / len(sample)
        for opened, *_ in sample:
            at = opened.astimezone(local)
            counts[at.weekday() * 24 + at.hour] += stands_for
    return tuple(round(count, 3) for count in counts)
