"""The notification choice rules and the retry rules, directly."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followthrough.mail.outbound_rules import LONGEST_WAIT, after_failure, is_permanent, retry_wait
from followthrough.mail.preferences import (
    KIND_LABELS,
    Action,
    Delivery,
    Preference,
    QuietHours,
    delivery_for,
)
from followthrough.notify.service import NOTIFICATION_KINDS

KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+5:30 all year
LONDON = ZoneInfo("Europe/London")


def test_every_notification_kind_has_words() -> None:
    assert set(KIND_LABELS) == set(NOTIFICATION_KINDS)


def test_a_kind_never_chosen_goes_at_once() -> None:
    at = datetime(2026, 3, 2, 12, 0, tzinfo=KOLKATA)
    assert delivery_for(Preference(), "offer", at).action is Action.SEND


def test_a_kind_turned_off_is_dropped_whatever_the_hour() -> None:
    preference = Preference(by_kind={"note": Delivery.OFF}, quiet=QuietHours(time(22), time(7)))
    for hour in (3, 12, 23):
        at = datetime(2026, 3, 2, hour, 0, tzinfo=KOLKATA)
        assert delivery_for(preference, "note", at).action is Action.DROP
        assert delivery_for(preference, "offer", at).action is not Action.DROP


def test_quiet_hours_across_midnight_hold_until_they_end_on_the_persons_clock() -> None:
    preference = Preference(quiet=QuietHours(time(22), time(7)))
    late = datetime(2026, 3, 2, 23, 15, tzinfo=KOLKATA)
    decision = delivery_for(preference, "offer", late)
    assert decision.action is Action.HOLD
    # 07:00 in Kolkata on the 3rd is 01:30 UTC on the 3rd.
    assert decision.at == datetime(2026, 3, 3, 1, 30, tzinfo=UTC)
    early = datetime(2026, 3, 3, 6, 59, tzinfo=KOLKATA)
    assert delivery_for(preference, "offer", early).at == datetime(2026, 3, 3, 1, 30, tzinfo=UTC)
    assert delivery_for(preference, "offer", early.replace(hour=7, minute=0)).action is Action.SEND
    assert delivery_for(preference, "offer", late.replace(hour=21, minute=59)).action is Action.SEND


def test_equal_start_and_end_mean_no_quiet_hours() -> None:
    preference = Preference(quiet=QuietHours(time(9), time(9)))
    at = datetime(2026, 3, 2, 9, 0, tzinfo=KOLKATA)
    assert delivery_for(preference, "offer", at).action is Action.SEND


def test_the_daily_summary_goes_at_the_next_summary_time() -> None:
    preference = Preference(by_kind={"update_posted": Delivery.DAILY_DIGEST}, digest_at=time(8))
    before = datetime(2026, 3, 2, 7, 0, tzinfo=KOLKATA)
    after = datetime(2026, 3, 2, 8, 0, tzinfo=KOLKATA)
    assert delivery_for(preference, "update_posted", before).at == datetime(
        2026, 3, 2, 2, 30, tzinfo=UTC
    )
    # At 08:00 exactly the summary has just gone: the next is tomorrow's.
    decision = delivery_for(preference, "update_posted", after)
    assert decision.action is Action.DIGEST
    assert decision.at == datetime(2026, 3, 3, 2, 30, tzinfo=UTC)


def test_a_summary_time_inside_quiet_hours_moves_to_their_end() -> None:
    preference = Preference(
        by_kind={"note": Delivery.DAILY_DIGEST},
        quiet=QuietHours(time(22), time(9)),
        digest_at=time(8),
    )
    at = datetime(2026, 3, 2, 12, 0, tzinfo=KOLKATA)
    assert delivery_for(preference, "note", at).at == datetime(2026, 3, 3, 3, 30, tzinfo=UTC)


def test_a_wall_time_the_clocks_skip_moves_on_by_the_gap() -> None:
    # London skips 01:00-02:00 on 29 March 2026; quiet hours ending 01:30 end at 02:30 BST,
    # which is 01:30 UTC.
    preference = Preference(quiet=QuietHours(time(23), time(1, 30)))
    at = datetime(2026, 3, 28, 23, 30, tzinfo=LONDON)
    assert delivery_for(preference, "offer", at).at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        delivery_for(Preference(), "offer", datetime(2026, 3, 2, 12, 0))


minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@given(start=minutes, end=minutes, now=minutes)
def test_at_once_sends_exactly_outside_quiet_hours_and_holds_to_their_end(
    start: int, end: int, now: int
) -> None:
    quiet = QuietHours(time(start // 60, start % 60), time(end // 60, end % 60))
    local = datetime(2026, 3, 2, now // 60, now % 60, tzinfo=KOLKATA)
    decision = delivery_for(Preference(quiet=quiet), "offer", local)
    if start == end:
        inside = False
    elif start < end:
        inside = start <= now < end
    else:
        inside = now >= start or now < end
    assert (decision.action is Action.HOLD) == inside
    if inside:
        assert decision.at is not None
        held = decision.at.astimezone(KOLKATA)
        assert (held.hour, held.minute) == (end // 60, end % 60)
        assert timedelta(0) < decision.at - local <= timedelta(days=1)


def test_retries_wait_twice_as_long_each_time_up_to_a_limit() -> None:
    assert [retry_wait(n, 60).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert retry_wait(40, 60) == LONGEST_WAIT


def test_only_a_5xx_answer_is_permanent() -> None:
    assert is_permanent(550)
    assert is_permanent(554)
    assert not is_permanent(451)
    assert not is_permanent(None)
    at = datetime(2026, 3, 2, tzinfo=UTC)
    assert after_failure(1, 550, at, 8, 60).give_up
    assert after_failure(8, 451, at, 8, 60).give_up
    assert after_failure(2, None, at, 8, 60).retry_at == at + timedelta(seconds=120)
