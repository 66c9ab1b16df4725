"""The guessing limits, as plain functions: how long a wrong guess makes the next one wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from followthrough.auth.rules import (
    JOIN_CODE_PER_ADDRESS,
    SIGN_IN_PER_ACCOUNT,
    SIGN_IN_PER_ADDRESS,
    Limit,
    join_code_wait,
    retry_after_seconds,
    sign_in_wait,
    wait_after_failures,
    wait_in_words,
)

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _at(*seconds: float) -> list[datetime]:
    return [T + timedelta(seconds=s) for s in seconds]


def test_four_wrong_passwords_for_an_account_cost_no_wait() -> None:
    assert sign_in_wait(_at(0, 1, 2, 3), [], T + timedelta(seconds=3)) == timedelta(0)


def test_the_fifth_wrong_password_makes_the_account_wait_thirty_seconds() -> None:
    failures = _at(0, 1, 2, 3, 4)
    assert sign_in_wait(failures, [], T + timedelta(seconds=4)) == timedelta(seconds=30)
    assert sign_in_wait(failures, [], T + timedelta(seconds=33)) == timedelta(seconds=1)
    assert sign_in_wait(failures, [], T + timedelta(seconds=34)) == timedelta(0)


def test_each_further_wrong_password_doubles_the_wait() -> None:
    # 6 failures: 60 s after the last; 7: 120 s; 8: 240 s.
    for count, expected in [(6, 60), (7, 120), (8, 240)]:
        failures = _at(*range(count))
        last = T + timedelta(seconds=count - 1)
        assert sign_in_wait(failures, [], last) == timedelta(seconds=expected), count


def test_the_wait_stops_growing_at_fifteen_minutes() -> None:
    failures = _at(*range(30))
    last = T + timedelta(seconds=29)
    assert sign_in_wait(failures, [], last) == timedelta(minutes=15)


def test_failures_older_than_an_hour_are_forgotten() -> None:
    failures = _at(0, 1, 2, 3, 4)
    an_hour_later = T + timedelta(hours=1, seconds=4)
    assert sign_in_wait(failures, [], an_hour_later) == timedelta(0)
    # Four forgotten, one remembered: no wait.
    assert sign_in_wait(failures, [], T + timedelta(hours=1, seconds=3)) == timedelta(0)


def test_an_address_may_fail_twenty_times_before_it_waits() -> None:
    now = T + timedelta(seconds=19)
    assert sign_in_wait([], _at(*range(19)), now) == timedelta(0)
    assert sign_in_wait([], _at(*range(20)), now) == timedelta(seconds=30)


def test_sign_in_waits_for_the_longer_of_account_and_address() -> None:
    now = T + timedelta(seconds=20)
    account = _at(*range(6))  # 60 s after second 5: 45 s from now
    address = _at(*range(21))  # 60 s after second 20: 60 s from now
    assert sign_in_wait(account, address, now) == timedelta(seconds=60)
    assert sign_in_wait(account, [], now) == timedelta(seconds=45)


def test_join_codes_allow_ten_wrong_guesses_per_address() -> None:
    now = T + timedelta(seconds=10)
    assert join_code_wait(_at(*range(9)), now) == timedelta(0)
    # 30 s after the tenth failure, at second 9.
    assert join_code_wait(_at(*range(10)), now) == timedelta(seconds=29)


def test_retry_after_rounds_up_and_is_at_least_one_second() -> None:
    assert retry_after_seconds(timedelta(seconds=30)) == 30
    assert retry_after_seconds(timedelta(seconds=30.1)) == 31
    assert retry_after_seconds(timedelta(milliseconds=1)) == 1


def test_waits_are_told_in_seconds_then_minutes() -> None:
    assert wait_in_words(45) == "45 seconds"
    assert wait_in_words(240) == "4 minutes"


# Failures up to two hours before now (the clock only moves forward).
offsets = st.lists(st.integers(min_value=-7200, max_value=0), max_size=80)
limits = st.sampled_from([SIGN_IN_PER_ACCOUNT, SIGN_IN_PER_ADDRESS, JOIN_CODE_PER_ADDRESS])


@given(offsets, limits)
def test_no_wait_is_longer_than_the_longest(seconds: list[int], limit: Limit) -> None:
    wait = wait_after_failures(_at(*seconds), limit, T)
    assert timedelta(0) <= wait <= limit.longest_wait


@given(offsets, st.integers(min_value=-7200, max_value=0), limits)
def test_another_failure_never_shortens_the_wait(
    seconds: list[int], extra: int, limit: Limit
) -> None:
    failures = _at(*seconds)
    before = wait_after_failures(failures, limit, T)
    assert wait_after_failures([*failures, *_at(extra)], limit, T) >= before


@given(offsets, limits)
def test_after_waiting_the_wait_the_next_attempt_is_allowed(
    seconds: list[int], limit: Limit
) -> None:
    failures = _at(*seconds)
    wait = wait_after_failures(failures, limit, T)
    assert wait_after_failures(failures, limit, T + wait) == timedelta(0)


@given(st.integers(min_value=0, max_value=4), limits)
def test_fewer_failures_than_the_free_ones_never_wait(count: int, limit: Limit) -> None:
    assert wait_after_failures([T] * count, limit, T) == timedelta(0)
