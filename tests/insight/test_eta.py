"""Calibrated timescales on synthetic histories whose true quantiles are known."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from followthrough.insight.eta import walk_forward
from followthrough.org.rules import WorkingCalendar
from followthrough.timescale.calibration import (
    GAMMA,
    ConformityScores,
    EtaCase,
    EtaQuery,
    TooLittleHistory,
    aci_update,
    as_of,
    fit_eta_model,
    outcome_of,
)

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


FAR = 1000.0  # a reach beyond every score: followed long enough to judge any bound


def test_score_quantile_without_open_requests_is_the_corrected_empirical_quantile() -> None:
    scores = ConformityScores([float(s) for s in range(1, 101)], [True] * 100, [FAR] * 100)
    # ceil(0.8 * 101) = 81st smallest of 1..100.
    assert scores.quantile(0.8) == 81.0
    # Within 80, only 80 of 100: fewer than 80.8.
    assert scores.at_least(0.8) == 80.0


def test_too_many_open_requests_certify_no_bound_and_say_what_is_ruled_out() -> None:
    resolved = [float(s) for s in range(1, 51)]
    honest = ConformityScores(
        resolved + [60.0] * 50, [True] * 50 + [False] * 50, [FAR] * 50 + [60.0] * 50
    )
    naive = ConformityScores(resolved, [True] * 50, [FAR] * 50)
    assert naive.quantile(0.8) is not None
    assert naive.quantile(0.8) < 50.0
    # Half are open beyond every resolution: no bound is certified (not the largest score
    # seen), and within 50 at most half are resolved, so the bound lies beyond 50.
    assert honest.quantile(0.8) is None
    assert honest.at_least(0.8) == 50.0


def test_a_young_request_is_judged_only_as_far_as_its_follow_up_reaches() -> None:
    old = [float(s) for s in range(1, 101)]
    # 100 young requests followed for 2 (log-hours above the guess): the quick half resolved,
    # the slow half still open. Judging the quick ones at every bound would count their hits
    # and never their twins' misses.
    young_scores = [0.5] * 50 + [2.0] * 50
    scores = ConformityScores(
        old + young_scores, [True] * 100 + [True] * 50 + [False] * 50, [FAR] * 100 + [2.0] * 100
    )
    assert scores.quantile(0.8) == 81.0
    dropped_open = ConformityScores(old + [0.5] * 50, [True] * 150, [FAR] * 150)
    assert dropped_open.quantile(0.8) == 71.0


def test_a_level_beyond_what_the_history_can_certify_gives_no_bound_however_low_alpha_goes() -> (
    None
):
    scores = ConformityScores([float(s) for s in range(1, 81)], [True] * 80, [FAR] * 80)
    bounds = [scores.quantile(1 - alpha) for alpha in (0.3, 0.2, 0.1, 0.05, 0.02)]
    finite = [b for b in bounds if b is not None]
    assert finite == sorted(finite)
    # 1 - alpha > 80/81: no finite bound is honest, whatever the largest score seen.
    assert scores.quantile(1 - 0.01) is None
    assert scores.quantile(1 + 0.05) is None


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


def test_a_hit_is_learnt_when_its_bound_passes_like_a_miss_not_at_the_resolution() -> None:
    query = EtaQuery(START, "Fix a policy", "Policy Admin", "normal", "", 0)
    quick = EtaCase(query, 3.0, True, START + timedelta(hours=3), ALWAYS)
    assert outcome_of(quick, 10.0, START + timedelta(hours=9)) is None
    outcome = outcome_of(quick, 10.0, START + timedelta(hours=12))
    assert outcome is not None
    assert not outcome.miss
    assert outcome.known_at == START + timedelta(hours=10)


def test_as_of_censors_a_request_that_resolved_later() -> None:
    query = EtaQuery(START, "Fix a policy", "Policy Admin", "normal", "", 0)
    case = EtaCase(query, 20.0, True, START + timedelta(hours=20), ALWAYS)
    earlier = as_of(case, START + timedelta(hours=5))
    assert (earlier.hours, earlier.resolved, earlier.resolved_at) == (5.0, False, None)
    assert as_of(case, START + timedelta(hours=25)) == case


def test_the_bound_is_near_the_true_80th_percentile_of_each_service() -> None:
    cases, end = _history(random.Random(1), 1500)
    model = fit_eta_model(cases, end)
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
        bounds = sorted(p.bound_hours or math.inf for p in model.predict(queries))
        assert bounds[25] == pytest.approx(median * true_q80, rel=0.25)


def test_walk_forward_covers_eight_in_ten_on_a_time_ordered_split() -> None:
    cases, end = _history(random.Random(2), 2000)
    result = walk_forward(cases, end)
    assert 0.76 <= result.overall.coverage <= 0.84
    assert result.overall.counted > 800
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


def test_the_model_learns_only_from_requests_old_enough_and_is_not_capped_by_young_ones() -> None:
    # Requests every 0.02 h (48 h in all) with lognormal times around 1-12 h: at the end much of
    # the newest quarter is open. Calibrating on it (as before) could not reach 8 in 10 and fell
    # back to the largest score, a bound near the short follow-up; old enough requests give the
    # true bound.
    rng = random.Random(5)
    cases, end = _history(rng, 2400, every_hours=0.02)
    young_open = [c for c in cases[-600:] if not c.resolved]
    assert len(young_open) > 200
    model = fit_eta_model(cases, end)
    assert model.too_young > 0
    true_q80 = math.exp(0.8 * 0.8416)
    for service, median in MEDIANS.items():
        query = EtaQuery(end, service, TEAMS[service], "normal", f"{service} please", 0)
        (prediction,) = model.predict([query])
        assert prediction.bound_hours is not None
        assert prediction.bound_hours == pytest.approx(median * true_q80, rel=0.3)


def test_a_history_with_nothing_old_enough_refuses_to_fit_and_says_why() -> None:
    cases, end = _history(random.Random(6), 300, every_hours=0.01)
    with pytest.raises(TooLittleHistory, match="old enough to learn from"):
        fit_eta_model(cases, end)


def test_at_alpha_zero_the_model_states_no_bound_but_what_the_history_rules_out() -> None:
    cases, end = _history(random.Random(7), 1500)
    model = fit_eta_model(cases, end)
    query = EtaQuery(end, "Pay a claim", "Claims", "normal", "Pay a claim please", 0)
    (base,) = model.base([query])
    nominal = model.calibrate(base)
    unsure = model.calibrate(base, alpha=0.0)
    assert nominal.bound_hours is not None
    assert unsure.bound_hours is None
    assert unsure.median_hours is not None
    assert unsure.at_least_hours >= nominal.bound_hours
