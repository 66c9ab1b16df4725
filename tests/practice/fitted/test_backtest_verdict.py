"""The back-test's verdict: a team within 10%, outside it, or outside it by less than what
happened could itself have been off (the held-out mean's 95% margin)."""

from __future__ import annotations

import math
import statistics

import pytest

from followthrough.practice.fitted.backtest import TeamCheck, Verdict, margin, verdict


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
