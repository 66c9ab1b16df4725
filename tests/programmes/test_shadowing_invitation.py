"""The booking's calendar invitation, parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from icalendar import Calendar

from followthrough.programmes.shadowing_invitation import Method, Person, Visit, invitation

STARTS = datetime(2026, 3, 3, 15, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
VISIT = Visit(
    booking_id=7,
    host=Person("Cleo Clerk", "cleo@example.com"),
    guest=Person("Åsa Assessor", "asha@example.com"),
    host_team="Policy Admin",
    guest_department="Claims",
    starts_at=STARTS,
    ends_at=STARTS + timedelta(hours=2),
    page_url="https://desk.example.com/shadowing",
)


def test_the_invitation_names_the_event_the_people_and_the_times_in_utc() -> None:
    text = invitation(VISIT, Method.REQUEST, 0, "desk.test", datetime(2026, 3, 1, tzinfo=UTC))
    calendar = Calendar.from_ical(text)
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == "shadowing-7@desk.test"
    assert int(event["SEQUENCE"]) == 0
    # 15:30 at +05:30 is 10:00 UTC, written with a Z.
    assert "DTSTART:20260303T100000Z" in text
    assert "DTEND:20260303T120000Z" in text
    assert event.decoded("DTSTART") == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    assert str(event["ORGANIZER"]) == "mailto:cleo@example.com"
    assert event["ORGANIZER"].params["CN"] == "Cleo Clerk"
    assert str(event["ATTENDEE"]) == "mailto:asha@example.com"
    assert event["ATTENDEE"].params["CN"] == "Åsa Assessor"
    assert event["ATTENDEE"].params["ROLE"] == "REQ-PARTICIPANT"
    assert str(event["SUMMARY"]) == "Job shadowing: Åsa Assessor with Policy Admin"
    assert "https://desk.example.com/shadowing" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"


def test_the_cancellation_keeps_the_uid_with_the_next_sequence() -> None:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    sent = Calendar.from_ical(invitation(VISIT, Method.REQUEST, 0, "desk.test", at))
    cancelled = Calendar.from_ical(invitation(VISIT, Method.CANCEL, 1, "desk.test", at))
    assert str(cancelled["METHOD"]) == "CANCEL"
    (before,) = sent.walk("VEVENT")
    (after,) = cancelled.walk("VEVENT")
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == 1
    assert str(after["STATUS"]) == "CANCELLED"
