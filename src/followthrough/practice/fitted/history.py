"""What the desk's history says, aggregated in SQL: one row per team, per team and weekday, and
per pair of teams. Nothing here loads events or requests one by one, so fitting a desk with a
million requests reads a few hundred rows (bench/fitted.py measures it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from followthrough.history.models import Event
from followthrough.insight.sql import home_teams, seconds_between
from followthrough.org.models import Membership, Service, Team
from followthrough.requests.models import Request


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

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86_400.0


def read_history(session: Session, since: datetime, until: datetime) -> History:
    """The period's aggregates; requests count in the period they were opened in, and their
    acceptance and resolution only if they came before its end (`until`).

    Merged duplicates are left out: their work was done under the request they went into."""
    in_period = and_(
        Request.opened_at >= since, Request.opened_at < until, Request.state != "merged"
    )
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
    accept_only = case((accepted_in, hours_to_accept), else_=None)
    resolve_only = case((resolved_in, hours_to_resolve), else_=None)
    per_team = (
        select(
            Request.team_id,
            func.count(Request.id).label("received"),
            func.count(accept_only).label("accepted"),
            func.avg(accept_only).label("accept"),
            func.count(resolve_only).label("resolved"),
            func.avg(resolve_only).label("resolve"),
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
        .where(Event.at >= since, Event.at < until, Event.kind.in_(("offered", "declined")))
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
    teams = []
    for team in session.execute(select(Team).order_by(Team.id)).scalars():
        row = requests.get(team.id)
        counted = events.get(team.id)
        worked_count = int(row.worked) if row else 0
        mean_work = float(row.work or 0.0) if row else 0.0
        variance = (float(row.work_sq or 0.0) - mean_work**2) if row and worked_count else 0.0
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
                mean_accept_hours=float(row.accept or 0.0) if row else 0.0,
                resolved=int(row.resolved) if row else 0,
                mean_resolve_hours=float(row.resolve or 0.0) if row else 0.0,
                sd_work_hours=max(variance, 0.0) ** 0.5,
                mean_work_hours=mean_work,
                offers=int(counted.offers or 0) if counted else 0,
                bounces=int(counted.bounces or 0) if counted else 0,
                handed_on=int(counted.handed or 0) if counted else 0,
                resolve_target_hours=float(targets.get(team.id) or 24.0),
            )
        )
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
    return History(since, until, tuple(teams), pairs, by_weekday)
