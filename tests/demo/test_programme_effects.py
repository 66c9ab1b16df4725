"""The demo company's two programmes with an effect built into its history (docs/demo.md): on
the full demo (20,000 requests) each effect report holds, within its 95% interval, the effect
the switch makes, and on the same demo generated without the effects it says "no effect shown".

The effect a switch makes is measured directly, without the report's estimator: how much the
subjects that took part moved, in their weeks after taking part, between the demo with the
effects and the demo without them, beyond how the subjects never reached moved between the two
over the same weeks (the switch turns both programmes on, and the training lifts promises kept
everywhere, which relationship health counts). One test builds both demos (a minute of a core
each), so the two programmes share them."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.db import Database
from followthrough.demo import buddies
from followthrough.demo.company import TEAMS
from followthrough.demo.generator import build_demo
from followthrough.demo.history import END, START
from followthrough.insight import rules
from followthrough.insight.effect import (
    OUTCOME_NAMES,
    Outcome,
    OutcomeEffect,
    first_weeks,
    weekly_panels,
)
from followthrough.insight.scorecard import Level
from followthrough.learning import service as learning
from followthrough.learning.models import LearningModule
from followthrough.practice.fitted.backtest import Backtest, Verdict, backtest
from followthrough.practice.fitted.history import AFTER_CHANGE
from followthrough.programmes.effect import OUTCOMES as BUDDY_OUTCOMES
from followthrough.programmes.effect import buddy_effect, first_rounds, teams_joined

TRAINING_OUTCOMES = (OUTCOME_NAMES["updates_on_time"], OUTCOME_NAMES["promises_kept"])


@dataclass(frozen=True)
class Programme:
    """One programme's report on one demo, and the weekly figures it was estimated from."""

    report: dict[str, OutcomeEffect]
    panels: dict[str, dict[tuple[int, int], float]]
    first_week: dict[int, int | None]  # subjects not in it were never reached


def _programme(
    session: Session,
    level: Level,
    outcomes: tuple[Outcome, ...],
    report: list[OutcomeEffect],
    started: dict[int, datetime],
    start: datetime,
    end: datetime,
) -> Programme:
    return Programme(
        {o.outcome.name: o for o in report},
        weekly_panels(session, level, start, end, outcomes),
        first_weeks(dict(started), rules.bucket_starts(start, end, "week"), end),
    )


def _read(url: str) -> dict[str, Programme]:
    database = Database(url)
    try:
        with database.unit_of_work(readonly=True) as session:
            module = session.scalar(
                select(LearningModule.id).where(LearningModule.name == "Communication")
            )
            assert module is not None
            training = learning.effect_report(session, module, "person", END)
            buddies = buddy_effect(session, END)
            return {
                "training": _programme(
                    session,
                    "person",
                    TRAINING_OUTCOMES,
                    training.outcomes,
                    learning.completions(session, module),
                    training.start,
                    training.end,
                ),
                "buddies": _programme(
                    session,
                    "department",
                    BUDDY_OUTCOMES,
                    buddies.outcomes,
                    first_rounds(session),
                    buddies.start,
                    buddies.end,
                ),
            }
    finally:
        database.dispose()


def _switched(found: Programme, without: Programme, name: str) -> float:
    """The effect the switch made on outcome `name` (the module's docstring says how)."""
    a, b = found.panels[name], without.panels[name]
    both = [key for key in a if key in b]
    took_part = [
        (s, w) for s, w in both if (first := found.first_week.get(s)) is not None and w >= first
    ]
    weeks = {w for _, w in took_part}
    never = [(s, w) for s, w in both if found.first_week.get(s) is None and w in weeks]
    assert took_part
    assert never

    def moved(keys: list[tuple[int, int]]) -> float:
        return sum(a[k] - b[k] for k in keys) / len(keys)

    return moved(took_part) - moved(never)


@dataclass(frozen=True)
class Demos:
    with_effects: str
    without: str


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Demos:
    folder = tmp_path_factory.mktemp("programme-effects")
    made = Demos(f"sqlite:///{folder / 'with.sqlite3'}", f"sqlite:///{folder / 'without.sqlite3'}")
    build_demo(made.with_effects, seed=2026, console=Console(quiet=True))
    build_demo(
        made.without, seed=2026, console=Console(quiet=True), programme_lift=0.0, buddy_effect=0.0
    )
    return made


@pytest.mark.slow
def test_the_effect_reports_recover_the_demo_effects_and_no_effect_without_them(
    demos: Demos,
) -> None:
    found, without = _read(demos.with_effects), _read(demos.without)
    # The training: completers keep more promises and post more updates on time.
    # The buddy programme: departments in it send fewer requests back and accept sooner;
    # relationship health follows from both, too little at seven departments to show.
    shown = {
        "training": ("updates_on_time", "promises_kept"),
        "buddies": ("bounce_rate", "accept_hours"),
    }
    for programme, names in shown.items():
        for name in found[programme].panels:
            outcome = found[programme].report[name]
            switched = _switched(found[programme], without[programme], name)
            assert outcome.overall is not None, outcome.summary
            assert outcome.overall.low <= switched <= outcome.overall.high, (switched, outcome)
            assert outcome.verdict in (
                ("better",) if name in names else ("better", "no effect shown")
            ), outcome.summary
            nothing = without[programme].report[name]
            assert nothing.verdict == "no effect shown", nothing.summary


@pytest.mark.slow
def test_the_fitted_simulation_fits_the_departments_that_joined_as_they_are_now(
    demos: Demos,
) -> None:
    # Fit 20 May - 20 September, held out to the end. Policy Administration and Customer
    # Service joined in July, Claims and Finance in August: the programme halves their time to
    # accept other departments' requests, so fitted on all the months a simulation takes about
    # twice as long as the held-out months did (+100%); fitted from their joining, as long.
    since, cut_off = datetime(2026, 5, 20, tzinfo=UTC), datetime(2026, 9, 20, tzinfo=UTC)
    halfway = (1.0 / (1.0 - buddies.EFFECT) - 1.0) / 2.0
    database = Database(demos.with_effects)
    try:
        with database.unit_of_work(readonly=True) as session:
            joined = teams_joined(session)
            plain, knowing = (
                backtest(session, since, cut_off, END, replications=6, changes=changes)
                for changes in (None, joined)
            )
    finally:
        database.dispose()
    plan = buddies.plan_buddies(START, END)
    in_fit = {
        team.name
        for team in TEAMS
        if since < plan.joined.get(team.department, END) <= cut_off - AFTER_CHANGE
    }
    # Of those, the ones that accept requests (the triage desk only routes them on).
    accepting = {t.name for t in knowing.fit.history.teams if t.accepted}
    assert in_fit & accepting == {
        t.name for t in knowing.fit.history.teams if t.accept_since is not None
    }

    def mean_error(result: Backtest) -> float:
        return statistics.fmean(t.accept_error for t in result.teams if t.team in in_fit)

    assert mean_error(plain) > halfway
    assert abs(mean_error(knowing)) < halfway
    outside = {
        t.team: round(t.accept_error, 2)
        for t in knowing.teams
        if t.team in in_fit and t.accept_verdict == Verdict.OUTSIDE
    }
    assert outside == {}
