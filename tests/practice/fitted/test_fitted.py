"""The simulation fitted to the demo insurer: the history it reads, the back-test on held-out
months, and the what-if beside the current state. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from followthrough.db import Database
from followthrough.demo import buddies
from followthrough.demo.generator import build_demo
from followthrough.demo.history import END, START
from followthrough.errors import InvalidInput
from followthrough.org.models import Department, Membership, Team
from followthrough.practice.fitted.backtest import Backtest, Verdict, backtest, misses_by_chance
from followthrough.practice.fitted.fit import fit
from followthrough.practice.fitted.history import read_history
from followthrough.practice.fitted.shapes import mean_margin
from followthrough.practice.fitted.toml_file import scenario_toml
from followthrough.practice.fitted.whatif import Change, what_if
from followthrough.practice.fitted_cli import fitted_app
from followthrough.practice.sim.replications import run_replications
from followthrough.practice.sim.scenario import parse_scenario
from followthrough.programmes.effect import teams_joined
from followthrough.requests.models import Request

SINCE = datetime(2026, 5, 20, tzinfo=UTC)
CUT_OFF = datetime(2026, 9, 20, tzinfo=UTC)
UNTIL = END + timedelta(hours=1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fitted') / 'demo.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    # Without the buddy programme's built-in effect: from week 9 to 17 of the history it halves
    # the joining departments' time to accept other departments' requests, so the held-out
    # months would be those of a changed company, which no fit of the months before can know.
    build_demo(url, requests=3000, seed=2026, buddy_effect=0.0, console=Console(file=io.StringIO()))
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def checked(demo: Database) -> Backtest:
    with demo.unit_of_work(readonly=True) as session:
        return backtest(session, SINCE, CUT_OFF, UNTIL, replications=6)


@pytest.fixture(scope="module")
def checked_knowing_the_programme(demo: Database) -> Backtest:
    """The back-test as the command runs it: knowing when each department joined the buddy
    programme (the demo writes the programme, here without its effect)."""
    with demo.unit_of_work(readonly=True) as session:
        joined = teams_joined(session)
        return backtest(session, SINCE, CUT_OFF, UNTIL, replications=6, changes=joined)


def _hours(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else (later - earlier).total_seconds() / 3600.0


def test_the_history_read_in_sql_is_what_the_rows_say(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        history = read_history(session, SINCE, CUT_OFF)
        rows = session.execute(
            select(
                Request.team_id,
                Request.requester_id,
                Request.opened_at,
                Request.accepted_at,
                Request.resolved_at,
            ).where(
                Request.opened_at >= SINCE,
                Request.opened_at < CUT_OFF,
                Request.state != "merged",
            )
        ).all()
        members = session.execute(select(Membership.person_id, Membership.team_id)).all()
        leads = session.execute(select(Team.lead_id, Team.id)).all()
    home: dict[int, int] = {}
    for person, team in [*members, *leads]:
        if person is not None:
            home[person] = min(team, home.get(person, team))
    by_team: dict[int, list[tuple[float | None, float | None]]] = {}
    pairs: dict[tuple[int | None, int], int] = {}
    weekdays: dict[tuple[int, int], int] = {}
    for team, requester, opened, accepted, resolved in rows:
        # What happened after the period's end is not known to the period.
        accepted = accepted if accepted is not None and accepted < CUT_OFF else None
        resolved = resolved if resolved is not None and resolved < CUT_OFF else None
        by_team.setdefault(team, []).append((_hours(accepted, opened), _hours(resolved, opened)))
        key = (home.get(requester), team)
        pairs[key] = pairs.get(key, 0) + 1
        day = (team, opened.astimezone(UTC).weekday())
        weekdays[day] = weekdays.get(day, 0) + 1
    assert history.by_weekday == weekdays
    assert {(p.from_team_id, p.to_team_id): p.requests for p in history.pairs} == pairs
    for team in history.teams:
        lives = by_team.get(team.team_id, [])
        assert team.received == len(lives)
        accepts = [a for a, _ in lives if a is not None]
        resolves = [r for _, r in lives if r is not None]
        assert team.accepted == len(accepts)
        assert team.resolved == len(resolves)
        if accepts:
            assert team.mean_accept_hours == pytest.approx(sum(accepts) / len(accepts), rel=1e-6)
        if resolves:
            assert team.mean_resolve_hours == pytest.approx(sum(resolves) / len(resolves), rel=1e-6)


def test_a_team_that_changed_in_the_months_has_its_acceptance_read_from_the_change(
    demo: Database,
) -> None:
    with demo.unit_of_work(readonly=True) as session:
        ids = {t.name: t.id for t in session.execute(select(Team)).scalars()}
        motor, property_, billing = ids["Motor Claims"], ids["Property Claims"], ids["Billing"]
        triage = ids["Service Desk"]  # routes requests on: accepts none itself
        changed = datetime(2026, 7, 15, tzinfo=UTC)
        history = read_history(
            session,
            SINCE,
            CUT_OFF,
            {
                motor: changed,
                # Ten days before the end: too little after it to fit on.
                property_: CUT_OFF - timedelta(days=10),
                # Before the period: already in all of it.
                billing: SINCE - timedelta(days=3),
                # Nothing accepted since: no acceptance as it is now to read.
                triage: changed,
            },
        )
        plain = read_history(session, SINCE, CUT_OFF)
    accepts, resolves = _times(demo, SINCE, CUT_OFF)
    since_change, _ = _times(demo, changed, CUT_OFF)
    teams = {t.team_id: t for t in history.teams}
    before = {t.team_id: t for t in plain.teams}
    team = teams[motor]
    assert team.accept_since == changed
    # Acceptance as it is now: the requests opened since the change, with their spread.
    assert team.accepted == len(since_change[motor])
    assert team.mean_accept_hours == pytest.approx(statistics.fmean(since_change[motor]), rel=1e-6)
    assert team.sd_accept_hours == pytest.approx(statistics.pstdev(since_change[motor]), rel=1e-3)
    # Its arrivals, resolutions and the hours beyond acceptance: the whole period.
    assert team.received == before[motor].received
    assert team.resolved == len(resolves[motor])
    assert team.mean_resolve_hours == pytest.approx(statistics.fmean(resolves[motor]), rel=1e-6)
    assert team.rest_hours == pytest.approx(
        statistics.fmean(resolves[motor]) - statistics.fmean(accepts[motor]), rel=1e-6
    )
    assert team.accept_shape.values != before[motor].accept_shape.values
    assert team.work_shape == before[motor].work_shape
    for other in (property_, billing, triage):
        assert teams[other] == before[other]
    assert history.pairs == plain.pairs
    assert history.opened_by_hour == plain.opened_by_hour


def _times(
    demo: Database, since: datetime, until: datetime
) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    """Per team, the hours to accept and to resolve of the requests opened in [since, until),
    counting only what happened before `until`."""
    with demo.unit_of_work(readonly=True) as session:
        rows = session.execute(
            select(
                Request.team_id, Request.opened_at, Request.accepted_at, Request.resolved_at
            ).where(
                Request.opened_at >= since,
                Request.opened_at < until,
                Request.state != "merged",
            )
        ).all()
    accepts: dict[int, list[float]] = {}
    resolves: dict[int, list[float]] = {}
    for team, opened, accepted, resolved in rows:
        if accepted is not None and accepted < until:
            accepts.setdefault(team, []).append((accepted - opened).total_seconds() / 3600.0)
        if resolved is not None and resolved < until:
            resolves.setdefault(team, []).append((resolved - opened).total_seconds() / 3600.0)
    return accepts, resolves


def _margin(values: list[float]) -> float:
    """The margin of these times' mean, as shapes.mean_margin gives it (tested on its own)."""
    return mean_margin(np.array(values), len(values))


def test_the_back_test_compares_with_what_happened_in_the_held_out_months(
    demo: Database, checked: Backtest
) -> None:
    accepts, resolves = _times(demo, CUT_OFF, UNTIL)
    fit_accepts, fit_resolves = _times(demo, SINCE, CUT_OFF)
    assert checked.teams, "every team with requests is checked"
    for team in checked.teams:
        tid = team.team_id
        assert team.resolved == len(resolves[tid])
        assert team.resolve_hours == pytest.approx(statistics.fmean(resolves[tid]), rel=1e-6)
        assert team.accept_hours == pytest.approx(statistics.fmean(accepts[tid]), rel=1e-6)
        # Each error comes with how far chance could move it: the 95% margins of the held-out
        # months' mean and of the fit months' mean together, each from exactly those times.
        assert team.accept_margin == pytest.approx(
            math.hypot(_margin(accepts[tid]), _margin(fit_accepts[tid])), rel=1e-3
        )
        assert team.resolve_margin == pytest.approx(
            math.hypot(_margin(resolves[tid]), _margin(fit_resolves[tid])), rel=1e-3
        )
        assert team.simulated_resolve_hours > 0
        assert team.simulated_accept_hours > 0


def test_no_team_misses_by_more_than_the_months_own_chance_allows(
    checked: Backtest, checked_knowing_the_programme: Backtest
) -> None:
    # On this small demo most teams' months cannot tell 10% (margins of 20-100%), but a fit
    # that got a team wrong (its calendar, its rates, its shape of times) misses by more.
    # Knowing the programme (here without its effect) the joined teams' acceptance is read
    # from fewer weeks: still no more than chance apart.
    for result in (checked, checked_knowing_the_programme):
        outside = {
            t.team: (round(t.accept_error, 2), round(t.resolve_error, 2))
            for t in result.teams
            if t.verdict == Verdict.OUTSIDE
        }
        assert outside == {}
        assert all(math.isfinite(t.accept_margin) for t in result.teams)


def test_the_back_test_command_shows_each_team_with_its_margin_and_verdict(
    demo: Database, checked_knowing_the_programme: Backtest
) -> None:
    checked = checked_knowing_the_programme
    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(
        fitted_app,
        [
            "backtest",
            "--database-url",
            demo.url,
            "--since",
            f"{SINCE:%Y-%m-%d}",
            "--cut-off",
            f"{CUT_OFF:%Y-%m-%d}",
            "--until",
            f"{UNTIL:%Y-%m-%dT%H:%M}",
            "--replications",
            "6",
        ],
    )
    assert result.exit_code == 0, result.output
    # The same back-test as the fixture's (same seeds): each team's row with its errors and
    # their margins, and the count of each verdict.
    for team in checked.teams:
        row = next(line for line in result.output.splitlines() if team.team in line)
        assert f"{team.accept_error:+.0%} ±{team.accept_margin:.0%}" in row
        assert f"{team.resolve_error:+.0%} ±{team.resolve_margin:.0%}" in row
    within = sum(1 for t in checked.teams if t.verdict == Verdict.WITHIN)
    assert "Simulated: 6 runs of the held-out months" in result.output
    assert f"{within} of {len(checked.teams)} teams within 10% on both" in result.output
    # And how many of them a fit exactly right would leave outside 10% on these months.
    assert (
        f"would leave about {misses_by_chance(checked.teams):.1f} of these "
        f"{len(checked.teams)} teams not within 10%." in " ".join(result.output.split())
    )
    # Under the table, the buddy programme's waves and how the fit took them: the July and
    # August waves from their joining, the September one (four days before the cut-off) not.
    plan = buddies.plan_buddies(START, END)
    names = {t.team_id: t.name for t in checked.fit.history.teams}
    with demo.unit_of_work(readonly=True) as session:
        department = {
            names[team.id]: name
            for team, name in session.execute(
                select(Team, Department.name).join(Department, Department.id == Team.department_id)
            )
        }
    output = " ".join(result.output.split())
    # The triage desk accepts nothing itself (it routes requests on): fitted as it was.
    idle = {t.name for t in checked.fit.history.teams if not t.accepted}
    for name in idle:
        assert f"(nothing accepted since: fitted as they were): {name}." in output
    for wave in sorted(set(plan.joined.values())):
        teams = [
            n for n in names.values() if plan.joined.get(department[n]) == wave and n not in idle
        ]
        how = (
            "their acceptance is fitted from then on"
            if wave <= CUT_OFF - timedelta(days=14)
            else "less than 14 days before the cut-off"
        )
        assert f"Joined the buddy programme on {wave:%d %b %Y} ({how}" in output
        assert f"{', '.join(teams)}." in output


def test_the_back_test_command_names_a_cut_off_outside_the_period(demo: Database) -> None:
    result = CliRunner().invoke(
        fitted_app,
        [
            "backtest",
            "--database-url",
            demo.url,
            "--since",
            "2026-09-01",
            "--cut-off",
            "2026-08-01",
        ],
    )
    assert result.exit_code == 2
    assert "--cut-off" in result.output


def test_a_faster_acceptance_target_changes_that_team_only(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        fitted = fit(read_history(session, SINCE, CUT_OFF), rounds=2)
        policy_admin = session.execute(
            select(Team.id).where(Team.name == "Policy Admin")
        ).scalar_one()
    result = what_if(fitted, Change(accept_within_hours={policy_admin: 0.5}), replications=4)
    for team in result.teams:
        if team.team_id == policy_admin:
            # Half a working hour is at most a few wall-clock hours after a night.
            assert team.accept_changed.high < team.accept_now.low
            assert team.accept_changed.mean < team.accept_now.mean / 2
        else:
            # Each team draws from its own streams, so the others are exactly as before.
            assert team.accept_changed.mean == team.accept_now.mean
    with pytest.raises(InvalidInput, match="bounces_kept"):
        what_if(fitted, Change(bounces_kept=1.5))
    with pytest.raises(InvalidInput, match="extra_people"):
        what_if(fitted, Change(extra_people={999_999: 1}))


def test_the_fitted_company_is_written_as_a_scenario_file_that_reads_back_equal(
    demo: Database,
) -> None:
    with demo.unit_of_work(readonly=True) as session:
        fitted = fit(read_history(session, SINCE, CUT_OFF), rounds=1)
    text = scenario_toml(fitted.scenario)
    assert parse_scenario(text, "fitted.toml") == fitted.scenario
    # And it runs like any scenario file.
    summary = run_replications(parse_scenario(text, "fitted.toml"), 2, seed=3, days=14)
    assert summary.estimates["handoffs"].mean > 0
