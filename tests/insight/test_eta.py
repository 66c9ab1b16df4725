"""Calibrated timescales on synthetic histories whose true quantiles are known."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from followthrough.insight.eta import (
    GAMMA,
    EtaCase,
    EtaQuery,
    ScoreCurve,
    aci_update,
    as_of,
    fit_eta_model,
    outcome_of,
    walk_forward,
)
from followthrough.org.rules import WorkingCalendar

# Round the clock, so business hours are plain hours and true quantiles are easy to state.
ALWAYS = WorkingCalendar(
    day_start_minute=0, day_end_minute=24 * 60, working_days=frozenset(range(1, 8))
)
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MEDIANS = {"Fix a policy": 4.0, "Pay a claim": 12.0, "Reset a password": 1.0}
TEAMS = {"Fix a policy": "Policy Admin", "Pay a claim": "Claims", "Reset a password": "IT"}


def _history(
    rng: random.Random,
    count: int,
    *,
    scale_after: tuple[int, float] = (0, 1.0),
    every_hours: float = 0.5,
) -> tuple[list[EtaCase], datetime]:
    """Requests opened every `every_hours`, lognormal times (sigma 0.8) per service.

    From request `scale_after[0]` on, times are multiplied by `scale_after[1]` (a drift).
    Outcomes are as known at the end: later requests may still be open.
    """
    cases = []
    for i in range(count):
        service = rng.choice(sorted(MEDIANS))
        opened = START + timedelta(hours=i * every_hours)
        factor = scale_after[1] if i >= scale_after[0] else 1.0
        hours = MEDIANS[service] * factor * rng.lognormvariate(0.0, 0.8)
        query = EtaQuery(opened, service, TEAMS[service], "normal", f"{service} please", load=0)
        cases.append(EtaCase(query, hours, True, opened + timedelta(hours=hours), ALWAYS))
    end = START + timedelta(hours=count * every_hours)
    return [as_of(c, end) for c in cases], end


def test_a_hit_raises_alpha_and_a_miss_lowers_it_by_the_aci_rule() -> None:
    assert aci_update(0.2, miss=False, level=0.8, gamma=0.01) == pytest.approx(0.202)
    assert aci_update(0.2, miss=True, level=0.8, gamma=0.01) == pytest.approx(0.192)
    # Four hits and one miss (exactly 8 in 10... of five: one in five) leave alpha where it was.
    alpha = 0.2
    for miss in (False, False, False, False, True):
        alpha = aci_update(alpha, miss, level=0.8, gamma=GAMMA)
    assert alpha == pytest.approx(0.2)


def test_score_quantile_without_open_requests_is_the_corrected_empirical_quantile() -> None:
    curve = ScoreCurve([float(s) for s in range(1, 101)], [True] * 100)
    # ceil(0.8 * 101) = 81st smallest of 1..100.
    assert curve.quantile(0.8) == 81.0


def test_open_requests_push_the_score_quantile_up_instead_of_being_dropped() -> None:
    resolved = [float(s) for s in range(1, 51)]
    slow_open = [60.0] * 50
    honest = ScoreCurve(resolved + slow_open, [True] * 50 + [False] * 50)
    naive = ScoreCurve(resolved, [True] * 50)
    assert naive.quantile(0.8) < 50.0
    # Half are open beyond every resolution: the curve cannot reach 80%, so it says the most.
    assert honest.quantile(0.8) == 60.0


def test_a_request_open_past_its_bound_is_a_miss_as_soon_as_the_bound_passes() -> None:
    query = EtaQuery(START, "Fix a policy", "Policy Admin", "normal", "", 0)
    still_open = EtaCase(query, hours=30.0, resolved=False, resolved_at=None, calendar=ALWAYS)
    outcome = outcome_of(still_open, bound_hours=10.0, now=START + timedelta(hours=30))
    assert outcome is not None
    assert outcome.miss
    assert outcome.known_at == START + timedelta(hours=10)


def test_a_late_resolution_counts_as_a_miss_from_the_bound_not_from_the_resolution() -> None:
    query = EtaQuery(START, "Fix a policy", "Policy Admin", "normal", "", 0)
    late = EtaCase(query, 30.0, True, START + timedelta(hours=30), ALWAYS)
    outcome = outcome_of(late, bound_hours=10.0, now=START + timedelta(hours=40))
    assert outcome == outcome_of(late, 10.0, START + timedelta(hours=40))
    assert outcome is not None
    assert outcome.miss
    assert outcome.known_at == START + timedelta(hours=10)


def test_a_young_open_request_within_its_bound_is_not_yet_known() -> None:
    query = EtaQuery(START, "Fix a policy", "Policy Admin", "normal", "", 0)
    young = EtaCase(query, 3.0, False, None, ALWAYS)
    assert outcome_of(young, bound_hours=10.0, now=START + timedelta(hours=3)) is None
    resolved = EtaCase(query, 3.0, True, START + timedelta(hours=3), ALWAYS)
    assert outcome_of(resolved, 10.0, START + timedelta(hours=3)) is not None


def test_as_of_censors_a_request_that_resolved_later() -> None:
    query = EtaQuery(START, "Fix a policy", "Policy Admin", "normal", "", 0)
    case = EtaCase(query, 20.0, True, START + timedelta(hours=20), ALWAYS)
    earlier = as_of(case, START + timedelta(hours=5))
    assert (earlier.hours, earlier.resolved, earlier.resolved_at) == (5.0, False, None)
    assert as_of(case, START + timedelta(hours=25)) == case


def test_the_bound_is_near_the_true_80th_percentile_of_each_service() -> None:
    cases, end = _history(random.Random(1), 1500)
    model = fit_eta_model(cases)
    true_q80 = math.exp(0.8 * 0.8416)  # lognormal(0, 0.8): the 80th percentile of the factor
    for service, median in MEDIANS.items():
        queries = [
            EtaQuery(
                end + timedelta(hours=7.3 * i),
                service,
                TEAMS[service],
                "normal",
                f"{service} please",
                0,
            )
            for i in range(50)
        ]
        bounds = sorted(p.bound_hours for p in model.predict(queries))
        assert bounds[25] == pytest.approx(median * true_q80, rel=0.25)


def test_walk_forward_covers_eight_in_ten_on_a_time_ordered_split() -> None:
    cases, end = _history(random.Random(2), 2000)
    result = walk_forward(cases, end)
    assert 0.76 <= result.overall.coverage <= 0.84
    assert result.overall.evaluated > 800
    assert {t.team for t in result.teams} == set(TEAMS.values())


def test_aci_keeps_coverage_when_the_work_slows_down_and_a_fixed_level_does_not() -> None:
    cases, end = _history(random.Random(3), 2400, scale_after=(1200, 2.0))
    fixed = walk_forward(cases, end, gamma=0.0)
    adaptive = walk_forward(cases, end, gamma=0.02)
    assert fixed.overall.coverage < 0.7
    assert adaptive.overall.coverage > fixed.overall.coverage + 0.05
    assert adaptive.overall.coverage >= 0.74


def test_the_training_part_only_sees_what_was_known_at_the_split() -> None:
    # Every request resolves after the split: a model fitted on resolutions from the future
    # would have them, the honest one has only open (censored) requests to learn from.
    rng = random.Random(4)
    cases, _ = _history(rng, 400, every_hours=0.01)
    trained_until = cases[200].query.opened_at
    known = [as_of(c, trained_until) for c in cases[:200]]
    assert sum(c.resolved for c in known) < sum(c.resolved for c in cases[:200])
    assert all(
        c.hours <= (trained_until - c.query.opened_at).total_seconds() / 3600 + 1e-9 for c in known
    )
