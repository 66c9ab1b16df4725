"""The back-test's verdict: a team within 10%, outside it, or outside it by less than what
happened could itself have been off (the held-out mean's 95% margin)."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followthrough.practice.fitted.backtest import (
    MIN_RUNS,
    SIMULATED_REQUESTS,
    TeamCheck,
    Verdict,
    chance_within,
    margin,
    misses_by_chance,
    runs_for,
    verdict,
)


def test_the_margin_is_the_95_percent_half_width_of_the_mean_as_a_share_of_it() -> None:
    values = [1.0, 2.0, 3.0, 10.0, 4.0, 0.5, 7.0, 2.5]
    mean = statistics.fmean(values)
    # The standard deviation the history reads in SQL: from the mean of squares (population).
    sd = math.sqrt(statistics.fmean(v * v for v in values) - mean * mean)
    sample_error = statistics.stdev(values) / math.sqrt(len(values))
    assert margin(sd, len(values), mean) == pytest.approx(1.959964 * sample_error / mean)


def test_a_mean_of_fewer_than_two_values_or_of_nothing_has_no_margin() -> None:
    assert margin(0.0, 1, 3.0) == math.inf
    assert margin(1.0, 10, 0.0) == math.inf


@pytest.mark.parametrize(
    ("error", "margin_", "expected"),
    [
        (0.0, 0.0, Verdict.WITHIN),
        (0.10, 0.5, Verdict.WITHIN),
        (-0.10, 0.0, Verdict.WITHIN),
        # 15% off, but what happened is only known to within 8%: 10% cannot be told apart.
        (0.15, 0.08, Verdict.CANNOT_TELL),
        (-0.15, 0.05, Verdict.CANNOT_TELL),
        # 25% off with a margin of 8%: outside even if what happened were 8% off.
        (0.25, 0.08, Verdict.OUTSIDE),
        (-0.25, 0.08, Verdict.OUTSIDE),
        (0.15, math.inf, Verdict.CANNOT_TELL),
    ],
)
def test_verdicts(error: float, margin_: float, expected: Verdict) -> None:
    assert verdict(error, margin_) == expected


def test_a_team_is_within_only_if_both_times_are() -> None:
    def check(accept: float, resolve: float) -> TeamCheck:
        # Observed 10 and 100 hours with margins of 5%; simulated as given.
        return TeamCheck(1, "Claims", 50, 10.0, accept, 100.0, resolve, 0.05, 0.05)

    assert check(10.5, 95.0).verdict == Verdict.WITHIN
    assert check(11.2, 95.0).verdict == Verdict.CANNOT_TELL
    assert check(10.5, 130.0).verdict == Verdict.OUTSIDE
    assert check(11.2, 130.0).verdict == Verdict.OUTSIDE


def test_an_exactly_right_fit_is_within_as_often_as_its_margin_allows() -> None:
    # A margin of 10% is 1.96 standard deviations of chance: within 10% 95% of the time.
    assert chance_within(0.10) == pytest.approx(0.95, abs=1e-6)
    assert chance_within(0.0) == 1.0
    assert chance_within(math.inf) == 0.0
    # Against errors drawn so: a margin of 15% (sd 7.65%) is within 10% about 81% of the time.
    rng = random.Random(7)
    draws = [rng.gauss(0.0, 0.15 / 1.959964) for _ in range(100_000)]
    share = sum(1 for e in draws if abs(e) <= 0.10) / len(draws)
    assert chance_within(0.15) == pytest.approx(share, abs=0.005)


def test_the_misses_an_exactly_right_fit_would_show_add_up_over_teams() -> None:
    def check(accept_margin: float, resolve_margin: float) -> TeamCheck:
        return TeamCheck(1, "Claims", 50, 10.0, 10.0, 100.0, 100.0, accept_margin, resolve_margin)

    # Certain on both: never misses. Accept known to 10%: misses one time in twenty. Nothing
    # known of its acceptance: counted as a miss.
    teams = [check(0.0, 0.0), check(0.10, 0.0), check(math.inf, 0.0)]
    assert misses_by_chance(teams) == pytest.approx(0.0 + 0.05 + 1.0, abs=1e-6)
    # Both known to 10%: within on both 0.95 x 0.95 of the time.
    assert misses_by_chance([check(0.10, 0.10)]) == pytest.approx(1 - 0.95**2, abs=1e-6)


@given(requests=st.integers(min_value=1, max_value=10_000_000), most=st.integers(2, 50))
def test_runs_simulate_enough_requests_in_all_but_no_more_runs_than_needed(
    requests: int, most: int
) -> None:
    runs = runs_for(requests, most)
    assert min(MIN_RUNS, most) <= runs <= most
    # Enough simulated requests in all, unless capped at the most runs asked for.
    assert runs * requests >= SIMULATED_REQUESTS or runs == most
    # One run fewer would not have been enough, unless at the fewest a spread needs.
    assert (runs - 1) * requests < SIMULATED_REQUESTS or runs == min(MIN_RUNS, most)


def test_a_larger_history_needs_fewer_runs_and_the_default_demo_keeps_its_own() -> None:
    # The default demo's fit months (12,913 requests) and held-out months (6,107).
    assert runs_for(12_913, 12) == 12
    assert runs_for(6_107, 24) == 24
    # A million-request demo: a third of it held out, two thirds fitted on.
    assert runs_for(330_000, 24) == 3
    assert runs_for(660_000, 12) == 3
    assert runs_for(0, 24) == 24
