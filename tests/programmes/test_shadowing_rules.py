"""Job shadowing's pure rules: what may be offered, booked, cancelled and reflected on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from followthrough.errors import Conflict, InvalidInput, NotAllowed
from followthrough.org.rules import WorkingCalendar
from followthrough.programmes import shadowing_rules as rules

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
# Tuesday 3 March 2026.
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
LONDON = WorkingCalendar()  # UTC, 09:00-17:00, Monday to Friday
# 09:00-17:00 in Kolkata is 03:30-11:30 UTC.
KOLKATA = WorkingCalendar(timezone="Asia/Kolkata")


def slot(**changes: object) -> rules.SlotFacts:
    values: dict[str, object] = {
        "host_id": 1,
        "department_id": 10,
        "starts_at": TUESDAY_10,
        "ends_at": TUESDAY_10 + timedelta(hours=1),
        "withdrawn": False,
        "booked": False,
    }
    values.update(changes)
    return rules.SlotFacts(**values)  # type: ignore[arg-type]


def test_working_hours_hold_only_when_every_minute_is_working_time() -> None:
    assert rules.within_working_hours(LONDON, TUESDAY_10, TUESDAY_10 + timedelta(hours=7))
    # 10:00-17:01 runs a minute past closing.
    assert not rules.within_working_hours(
        LONDON, TUESDAY_10, TUESDAY_10 + timedelta(hours=7, minutes=1)
    )
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    assert not rules.within_working_hours(LONDON, saturday, saturday + timedelta(hours=1))
    holiday = WorkingCalendar(holidays=frozenset({date(2026, 3, 3)}))
    assert not rules.within_working_hours(holiday, TUESDAY_10, TUESDAY_10 + timedelta(hours=1))
    # Kolkata's day ends at 11:30 UTC.
    assert rules.within_working_hours(KOLKATA, TUESDAY_10, TUESDAY_10 + timedelta(minutes=90))
    assert not rules.within_working_hours(KOLKATA, TUESDAY_10, TUESDAY_10 + timedelta(hours=2))
    # Overnight: Monday 16:00 to Tuesday 10:00 spans closed hours.
    assert not rules.within_working_hours(LONDON, TUESDAY_10 - timedelta(hours=18), TUESDAY_10)


def test_an_offer_is_in_the_future_between_half_an_hour_and_a_day_and_in_working_hours() -> None:
    rules.check_offer(TUESDAY_10, TUESDAY_10 + timedelta(minutes=30), LONDON, NOW)
    cases = [
        (TUESDAY_10, TUESDAY_10, "ends_at"),
        (NOW - timedelta(hours=1), NOW, "starts_at"),
        (TUESDAY_10, TUESDAY_10 + timedelta(minutes=29), "ends_at"),
        (TUESDAY_10, TUESDAY_10 + timedelta(hours=8, minutes=1), "ends_at"),
        (TUESDAY_10, TUESDAY_10 + timedelta(hours=2), "starts_at"),  # Kolkata closes 11:30
    ]
    for start, end, field in cases:
        with pytest.raises(InvalidInput) as refused:
            rules.check_offer(start, end, KOLKATA, NOW)
        assert refused.value.field == field, (start, end)


def test_a_guest_books_an_open_future_slot_of_another_department_in_their_hours() -> None:
    rules.check_booking(slot(), 2, {20}, LONDON, NOW)
    with pytest.raises(Conflict):
        rules.check_booking(slot(booked=True), 2, {20}, LONDON, NOW)
    with pytest.raises(Conflict):
        rules.check_booking(slot(withdrawn=True), 2, {20}, LONDON, NOW)
    with pytest.raises(Conflict):
        rules.check_booking(slot(), 2, {20}, LONDON, TUESDAY_10)
    with pytest.raises(NotAllowed):
        rules.check_booking(slot(), 2, {20, 10}, LONDON, NOW)  # their own department too
    with pytest.raises(NotAllowed):
        rules.check_booking(slot(), 1, set(), LONDON, NOW)  # the host
    with pytest.raises(NotAllowed):
        rules.check_booking(slot(), 2, set(), None, NOW)  # in no team
    late = slot(starts_at=TUESDAY_10 + timedelta(hours=2), ends_at=TUESDAY_10 + timedelta(hours=3))
    with pytest.raises(InvalidInput):
        rules.check_booking(late, 2, {20}, KOLKATA, NOW)  # after the guest's day ends


def test_host_or_guest_cancel_before_the_start() -> None:
    rules.check_cancel(1, 2, TUESDAY_10, False, 1, NOW)
    rules.check_cancel(1, 2, TUESDAY_10, False, 2, NOW)
    with pytest.raises(NotAllowed):
        rules.check_cancel(1, 2, TUESDAY_10, False, 3, NOW)
    with pytest.raises(Conflict):
        rules.check_cancel(1, 2, TUESDAY_10, True, 2, NOW)
    with pytest.raises(Conflict):
        rules.check_cancel(1, 2, TUESDAY_10, False, 2, TUESDAY_10)


def test_a_reflection_comes_after_the_visit_from_host_or_guest() -> None:
    end = TUESDAY_10 + timedelta(hours=1)
    assert rules.check_reflection(1, 2, end, False, 2, "  They answer 40 calls an hour. ", end) == (
        "They answer 40 calls an hour."
    )
    with pytest.raises(Conflict):
        rules.check_reflection(1, 2, end, False, 2, "early", end - timedelta(seconds=1))
    with pytest.raises(Conflict):
        rules.check_reflection(1, 2, end, True, 2, "cancelled", end)
    with pytest.raises(NotAllowed):
        rules.check_reflection(1, 2, end, False, 3, "someone else", end)
    with pytest.raises(InvalidInput):
        rules.check_reflection(1, 2, end, False, 1, "   ", end)
    with pytest.raises(InvalidInput):
        rules.check_reflection(1, 2, end, False, 1, "x" * 2001, end)
    assert len(rules.check_reflection(1, 2, end, False, 1, "x" * 2000, end)) == 2000


def test_reflections_are_shared_with_both_teams() -> None:
    assert rules.may_read_reflection(1, [], 1, 2, [7, 8])
    assert rules.may_read_reflection(5, [8], 1, 2, [7, 8])
    assert not rules.may_read_reflection(5, [9], 1, 2, [7, 8])
