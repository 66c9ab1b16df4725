"""Kaplan-Meier timescales: honest about still-open requests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followthrough.timescale.rules import (
    EstimateBasis,
    Observation,
    conditional_quantile,
    describe_hours,
    estimate_remaining,
    kaplan_meier,
    survival_at,
)


def test_without_open_requests_it_is_the_empirical_distribution() -> None:
    steps = kaplan_meier([Observation(h, True) for h in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)])
    assert steps[0] == (1, pytest.approx(0.9))
    assert conditional_quantile(steps, 0.8) == 8
    assert conditional_quantile(steps, 0.5) == 5


def test_open_requests_are_censored_not_dropped() -> None:
    # Textbook example: times 3, 5+, 6, 8+, 10 -> S(3)=0.8, S(6)=0.8*2/3, S(10)=0.
    obs = [
        Observation(3, True),
        Observation(5, False),
        Observation(6, True),
        Observation(8, False),
        Observation(10, True),
    ]
    steps = kaplan_meier(obs)
    assert [t for t, _ in steps] == [3, 6, 10]
    assert steps[0][1] == pytest.approx(0.8)
    assert steps[1][1] == pytest.approx(0.8 * 2 / 3)
    assert steps[2][1] == pytest.approx(0.0)


def test_dropping_open_requests_would_understate_the_time() -> None:
    resolved = [Observation(h, True) for h in range(1, 11)]
    slow_open = [Observation(50, False)] * 10
    honest = kaplan_meier(resolved + slow_open)
    naive = kaplan_meier(resolved)
    assert conditional_quantile(naive, 0.5) == 5
    assert conditional_quantile(honest, 0.5) == 10
    # Half the requests are still open after 50 hours: no 8-in-10 bound can honestly be given.
    assert conditional_quantile(naive, 0.8) == 8
    assert conditional_quantile(honest, 0.8) is None


def test_remaining_time_is_conditional_on_time_already_spent() -> None:
    steps = kaplan_meier([Observation(h, True) for h in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)])
    # Given 5 hours spent, the remaining are 6..10: 8 in 10 of them within 9.
    assert conditional_quantile(steps, 0.8, elapsed=5) == 9


def test_thin_history_falls_back_to_the_target_and_says_so() -> None:
    steps = kaplan_meier([Observation(2, True)] * 3)
    estimate = estimate_remaining(steps, 3, 20, elapsed=1, target_hours=16, hours_per_day=8)
    assert estimate is not None
    assert not estimate.from_history
    assert estimate.likely_hours == 15
    assert "Not enough history" in estimate.basis
    assert "2 business days" in estimate.basis


def test_enough_history_gives_an_eight_in_ten_sentence() -> None:
    steps = kaplan_meier([Observation(float(h), True) for h in range(1, 41)])
    estimate = estimate_remaining(steps, 40, 20, elapsed=0, target_hours=16, hours_per_day=8)
    assert estimate is not None
    assert estimate.from_history
    assert estimate.likely_hours == 32
    assert estimate.basis == "8 in 10 similar requests were resolved within 4 business days"


def test_a_curve_that_never_reaches_eight_in_ten_says_more_than_and_promises_nothing() -> None:
    # 30 resolved within 1..30 hours, 30 still open after 40: half are still open, so 8 in 10
    # cannot be stated; what is known is that it takes more than the longest resolution seen.
    observations = [Observation(float(h), True) for h in range(1, 31)]
    observations += [Observation(40.0, False)] * 30
    steps = kaplan_meier(observations)
    estimate = estimate_remaining(steps, 30, 20, elapsed=2, target_hours=16, hours_per_day=8)
    assert estimate is not None
    assert estimate.kind is EstimateBasis.TOO_LITTLE_HISTORY
    assert not estimate.promised
    assert estimate.basis == "More than 4 business days; too little history to be sure"
    assert estimate.likely_hours == 28
    assert estimate.median_hours is None


def test_describe_rounds_up() -> None:
    assert describe_hours(0.2, 8) == "1 business hour"
    assert describe_hours(7.5, 8) == "8 business hours"
    assert describe_hours(8.5, 8) == "2 business days"


observations = st.lists(
    st.builds(Observation, st.floats(0, 500, allow_nan=False), st.booleans()),
    min_size=1,
    max_size=60,
)


@given(observations)
def test_survival_never_increases_and_stays_in_zero_one(obs: list[Observation]) -> None:
    steps = kaplan_meier(obs)
    values = [s for _, s in steps]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values == sorted(values, reverse=True)
    assert len(steps) <= sum(o.resolved for o in obs)


@given(observations, st.floats(0.05, 0.95), st.floats(0, 500))
def test_quantile_is_never_before_the_time_spent(
    obs: list[Observation], q: float, elapsed: float
) -> None:
    steps = kaplan_meier(obs)
    t = conditional_quantile(steps, q, elapsed)
    if t is not None:
        assert t >= elapsed
        assert survival_at(steps, t) <= (1 - q) * survival_at(steps, elapsed) + 1e-9
