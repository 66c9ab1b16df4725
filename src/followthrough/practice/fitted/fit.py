"""Fit the business simulation's scenario to the desk's history.

Each team becomes a department of the simulation (staff from its members, opening hours and
working days from its calendar) offering one service; each pair of requesting and receiving
teams becomes an internal journey with the pair's arrival rate. The receiving team's
acceptance delay and bounce chance come through the scenario's behaviour lines: acceptance
hours fall from `ceiling` at ownership 0 to 0 at ownership 1, so a team's ownership is set to
give its own mean; the bounce chance is 1 - the mean of both teams' communication.

The history measures wall-clock hours (nights and weekends included); the simulation takes
working hours and adds the waits itself. So after the first guess the working hours are
calibrated: the fitted company is simulated over the same period and each team's acceptance
and work hours are scaled by observed / simulated, a few times. Only the fit's own months are
used for this, so the back-test on later months stays honest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from followthrough.practice.fitted.history import History, TeamHistory, clock_zone
from followthrough.practice.sim.calendar import HOURS_PER_WEEK
from followthrough.practice.sim.replications import run_replications
from followthrough.practice.sim.scenario import (
    Behaviour,
    Customers,
    Department,
    Effect,
    Journey,
    Scenario,
    Service,
    Step,
)
from followthrough.practice.sim.stats import Estimate

NAME = "Your company (fitted)"
# Hours at ownership 0; every team's fitted acceptance mean must stay below it.
MIN_CEILING = 48.0
# Work time never fitted below this, so a team with instant resolutions still takes some time.
MIN_HOURS = 0.05
CALIBRATION_ROUNDS = 4
# Share of a person's parallel work slots busy on average, after fitting (see slots_per_person).
SLOT_LOAD = 0.4
CALIBRATION_REPLICATIONS = 3
# A weekday with fewer of the period's requests than this is not an arrival day.
ARRIVAL_DAY_SHARE = 0.01


def department_id(team_id: int) -> str:
    return f"team_{team_id}"


def service_id(team_id: int) -> str:
    return f"work_{team_id}"


def journey_id(from_team_id: int | None, to_team_id: int) -> str:
    return f"from_{from_team_id or 0}_to_{to_team_id}"


def team_of(department: str) -> int:
    return int(department.rsplit("_", 1)[1])


@dataclass(frozen=True, slots=True)
class TeamFigures:
    """Per team, mean hours to accept and to resolve (observed or simulated)."""

    accept_hours: dict[int, float] = field(default_factory=dict)
    resolve_hours: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fit:
    """A fitted scenario and the working hours behind it."""

    scenario: Scenario
    history: History
    # Working hours per team the calibration arrived at (acceptance, work).
    accept_working_hours: dict[int, float]
    work_hours: dict[int, float]


def slots_per_person(team: TeamHistory, days: float) -> int:
    """How many requests a person has in hand at once, so the simulation's queues are the desk's.

    On a desk a person works several requests in parallel (most elapsed hours are waiting on
    someone), while the simulation's staff do one thing at a time. By Little's law the requests
    in hand are arrivals per hour x mean hours in hand; each member gets enough slots that they
    are SLOT_LOAD busy."""
    in_hand = team.received / (days * 24.0) * team.mean_work_hours
    members = max(1, team.staff)
    return max(1, math.ceil(in_hand / (members * SLOT_LOAD)))


def modelled_teams(history: History) -> list[TeamHistory]:
    """Teams with resolved requests in the period: the others have nothing to simulate."""
    return [t for t in history.teams if t.resolved > 0 and t.accepted > 0]


def arrival_days(history: History) -> tuple[int, ...]:
    """The weekdays requests arrive on (0 Monday): those with at least ARRIVAL_DAY_SHARE of the
    period's requests. Each team works its own week; this is the week of the requesters."""
    counts = [0] * 7
    for (_, day), requests in history.by_weekday.items():
        counts[day] += requests
    total = sum(counts)
    days = tuple(day for day in range(7) if total and counts[day] >= ARRIVAL_DAY_SHARE * total)
    return days or (0, 1, 2, 3, 4)


def team_week(team: TeamHistory) -> tuple[int, ...]:
    """The team's working days as the simulation counts them (ISO digits 1-7 → 0-6)."""
    return tuple(sorted(int(day) - 1 for day in team.working_days))


def hours_ahead(history: History, since: datetime, until: datetime) -> dict[int, float]:
    """Per team, hours its clock is ahead of the simulation's (the desk's main time zone), as
    the time zones stand on average over the simulated period [since, until): a calendar fact
    known for any months, like the change to winter time."""
    days = max(1, (until - since).days)
    instants = [since + timedelta(days=day + 0.5) for day in range(days)]

    def mean_offset(zone: str) -> float:
        local = ZoneInfo(zone)
        shifts = [at.astimezone(local).utcoffset() or timedelta() for at in instants]
        return sum(shift.total_seconds() for shift in shifts) / len(shifts) / 3600.0

    teams = modelled_teams(history)
    main = mean_offset(clock_zone(history.teams))
    return {t.team_id: round(mean_offset(t.timezone) - main, 3) for t in teams}


def run_start(zone: str, since: datetime) -> tuple[date, float]:
    """The Monday the simulation's clock counts from (day 0, a local date in the desk's main
    time zone) and the hours on the local clock from its midnight to `since`, when the run
    starts: so the simulated weeks fall on the real weekdays and a holiday on its real day."""
    local = since.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    monday = local.date() - timedelta(days=local.weekday())
    return monday, (local - datetime.combine(monday, time())).total_seconds() / 3600.0


def holiday_days(team: TeamHistory, monday: date, days: int) -> tuple[int, ...]:
    """The team's holidays as days of the simulation's clock from `monday`, within the run."""
    return tuple(
        sorted({(day - monday).days for day in team.holidays if 0 <= (day - monday).days < days})
    )


def _counted_from(team: TeamHistory, since: datetime, starts_at: float) -> float:
    """Hours of the run's clock at which the team's acceptance was first read (0: from the
    start): the run starts `starts_at` hours into its day 0, at `since`."""
    if team.accept_since is None:
        return 0.0
    return starts_at + (team.accept_since - since).total_seconds() / 3600.0


def arrival_profile(history: History) -> tuple[float, ...]:
    """Requests opened per hour of the week on the simulation's clock (empty: none counted)."""
    counts = history.opened_by_hour
    if len(counts) != HOURS_PER_WEEK or not sum(counts) > 0:
        return ()
    return counts


def build_scenario(
    history: History,
    accept_working_hours: Mapping[int, float],
    work_hours: Mapping[int, float],
    *,
    days: int | None = None,
    period: tuple[datetime, datetime] | None = None,
    staff: Mapping[int, int] | None = None,
    bounce_factor: float = 1.0,
    as_measured: bool = False,
) -> Scenario:
    """The scenario for given working hours; `staff` and `bounce_factor` are what-if changes.
    `period` is the months simulated, for their time zones' offsets (default: the history's).
    `as_measured`: a team whose acceptance was read from a change in the history's months has
    the simulation's acceptance counted over the same months (for the calibration)."""
    teams = modelled_teams(history)
    ceiling = max([MIN_CEILING, *(2.0 * h for h in accept_working_hours.values())])
    departments = []
    services = []
    since, until = period or (history.since, history.until)
    ahead = hours_ahead(history, since, until)
    run_days = days or max(1, round(history.days))
    monday, starts_at = run_start(clock_zone(history.teams), since)
    # Days of the clock the run reaches (it starts `starts_at` hours into day 0), one spare.
    last_day = math.ceil(starts_at / 24.0) + run_days + 1
    for team in teams:
        share = team.bounces / team.offers if team.offers else 0.0
        bounce = min(0.9, share * bounce_factor)
        people = (staff or {}).get(team.team_id, team.staff)
        slots = slots_per_person(team, history.days)
        departments.append(
            Department(
                id=department_id(team.team_id),
                name=team.name,
                staff=max(1, people) * slots,
                opens=team.opens,
                closes=team.closes if team.closes > team.opens else 24.0,
                ownership=1.0 - accept_working_hours[team.team_id] / ceiling,
                communication=1.0 - bounce,
                workdays=team_week(team),
                hours_ahead=ahead[team.team_id],
                accept_shape=team.accept_shape.values,
                accept_counted_from=_counted_from(team, since, starts_at) if as_measured else 0.0,
                holidays=holiday_days(team, monday, last_day),
            )
        )
        mean = max(MIN_HOURS, work_hours[team.team_id])
        cv = team.sd_work_hours / team.mean_work_hours if team.mean_work_hours > 0 else 1.0
        services.append(
            Service(
                id=service_id(team.team_id),
                name=f"Requests to {team.name}",
                department=department_id(team.team_id),
                hours=mean,
                cv=min(cv, 3.0),
                target_hours=team.resolve_target_hours,
                shape=team.work_shape.values,
            )
        )
    modelled = {t.team_id for t in teams}
    week = arrival_days(history)
    # The simulation raises no requests on the raising team's holidays, so a team's rate is
    # per day it was at work in the history's period.
    at_work = {
        t.team_id: max(
            1.0,
            history.days
            - sum(
                1
                for day in t.holidays
                if history.since.date() <= day < history.until.date() and day.weekday() in week
            ),
        )
        for t in teams
    }
    journeys = []
    for pair in history.pairs:
        if pair.to_team_id not in modelled or pair.requests == 0:
            continue
        sender = pair.from_team_id if pair.from_team_id in modelled else pair.to_team_id
        journeys.append(
            Journey(
                id=journey_id(pair.from_team_id, pair.to_team_id),
                name=f"Requests to {history_name(history, pair.to_team_id)}",
                per_day=pair.requests / at_work[sender],
                owner=department_id(sender),
                external=False,
                working_hours_only=True,
                promise_days=365.0,
                steps=(Step(service=service_id(pair.to_team_id)),),
            )
        )
    return Scenario(
        name=NAME,
        description="Fitted from the desk's own history.",
        days=run_days,
        workdays=week,
        arrival_profile=arrival_profile(history),
        starts_at=starts_at,
        behaviour=Behaviour(
            accept_hours=Effect(at_0=ceiling, at_1=0.0),
            bounce=Effect(at_0=1.0, at_1=0.0),
            turnover_per_year=0.0,
            churn_when_unhappy=0.0,
        ),
        customers=Customers(base=1, revenue_per_year=0.0, background_churn_per_year=0.0),
        departments=tuple(departments),
        services=tuple(services),
        journeys=tuple(journeys),
    )


def history_name(history: History, team_id: int) -> str:
    return next(t.name for t in history.teams if t.team_id == team_id)


def observed(history: History) -> TeamFigures:
    """What happened: mean wall-clock hours to accept and to resolve, per modelled team."""
    teams = modelled_teams(history)
    return TeamFigures(
        accept_hours={t.team_id: t.mean_accept_hours for t in teams},
        resolve_hours={t.team_id: t.mean_resolve_hours for t in teams},
    )


def simulated(estimates: Mapping[str, Estimate], scenario: Scenario) -> TeamFigures:
    """Per team means from replications' estimates: acceptance from the department, resolution
    from the journeys that end in the team, weighted by the cases they closed."""
    accept: dict[int, float] = {}
    resolve_sum: dict[int, float] = {}
    closed_sum: dict[int, float] = {}
    for department in scenario.departments:
        accept[team_of(department.id)] = estimates[
            f"departments.{department.id}.mean_accept_hours"
        ].mean
    for journey in scenario.journeys:
        team = team_of(journey.steps[0].service)
        closed = estimates[f"journeys.{journey.id}.cases_closed"].mean
        days = estimates[f"journeys.{journey.id}.mean_days"].mean
        resolve_sum[team] = resolve_sum.get(team, 0.0) + closed * days * 24.0
        closed_sum[team] = closed_sum.get(team, 0.0) + closed
    resolve = {t: resolve_sum[t] / closed_sum[t] for t in closed_sum if closed_sum[t] > 0}
    return TeamFigures(accept_hours=accept, resolve_hours=resolve)


def fit(
    history: History,
    seed: int = 0,
    rounds: int = CALIBRATION_ROUNDS,
    replications: int = CALIBRATION_REPLICATIONS,
) -> Fit:
    """Fit a scenario to the history, calibrating working hours against the same period."""
    target = observed(history)
    teams = modelled_teams(history)
    # First guess: the working hours seen on each team's calendar (else a quarter of the
    # wall-clock hours: 8 of 24 hours, 5 of 7 days).
    accept = {
        t.team_id: max(MIN_HOURS, t.accept_shape.mean or t.mean_accept_hours * 0.25) for t in teams
    }
    work = {t.team_id: max(MIN_HOURS, t.work_shape.mean or t.mean_work_hours * 0.25) for t in teams}
    for _ in range(rounds):
        scenario = build_scenario(history, accept, work, as_measured=True)
        summary = run_replications(scenario, replications, seed)
        got = simulated(summary.estimates, scenario)
        for team in teams:
            tid = team.team_id
            sim_accept = got.accept_hours.get(tid, 0.0)
            if sim_accept > 0 and target.accept_hours[tid] > 0:
                accept[tid] = max(MIN_HOURS, accept[tid] * target.accept_hours[tid] / sim_accept)
            sim_rest = got.resolve_hours.get(tid, 0.0) - sim_accept
            want_rest = team.rest_hours
            if sim_rest > 0 and want_rest > 0:
                work[tid] = max(MIN_HOURS, work[tid] * want_rest / sim_rest)
    return Fit(build_scenario(history, accept, work), history, accept, work)
