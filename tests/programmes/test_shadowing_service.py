"""Job shadowing on a real database (SQLite and PostgreSQL), its invitations delivered to a real
SMTP server: offer, book (one guest, another department, both people's working hours), cancel
(the cancellation under the same UID), and reflections shared with both teams."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from followthrough.db import Database
from followthrough.errors import Conflict, InvalidInput, NotAllowed, NotFound
from followthrough.mail.outbound import send_outbox
from followthrough.mail.preferences import Delivery, Preference
from followthrough.mail.preferences_service import save_preference
from followthrough.notify.models import Notification
from followthrough.org.models import Team
from followthrough.programmes.shadowing_models import ShadowingBooking
from followthrough.programmes.shadowing_scheduled import reflection_asker
from followthrough.programmes.shadowing_service import (
    MailPlaces,
    book_slot,
    cancel_booking,
    my_bookings,
    my_slots,
    offer_slot,
    open_slots,
    shared_reflections,
    withdraw_slot,
    write_reflection,
)
from tests.conftest import T0
from tests.factories import World
from tests.mail.conftest import SmtpServer, start_smtp_server
from tests.mail.helpers import DOMAIN, mail_settings


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """The mail tests' real SMTP server (tests/mail/conftest.py), here too."""
    server = start_smtp_server()
    try:
        yield server
    finally:
        server.controller.stop()


PLACES = MailPlaces(DOMAIN, "https://desk.example.com")
# T0 is Monday 2 March 2026, 09:00 UTC; every team of the world works 09:00-17:00 UTC.
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
TUESDAY_12 = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def offer_tuesday(db: Database, world: World) -> int:
    """Cleo (Policy Admin) offers Tuesday 10:00-12:00 UTC."""
    with db.unit_of_work() as session:
        slot = offer_slot(
            session, world.people["cleo"], world.teams["admin"], TUESDAY_10, TUESDAY_12, T0
        )
        return slot.id


def invitations(smtp_server: SmtpServer, address: str) -> list[tuple[EmailMessage, Calendar]]:
    """Each message to `address` with the calendar it carries, in the order received."""
    found = []
    for received in smtp_server.received:
        message = received.message()
        if address not in received.recipients:
            continue
        parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert len(parts) == 1, message
        found.append((message, Calendar.from_ical(parts[0].get_content())))
    return found


def test_a_booking_sends_both_people_the_invitation_and_a_cancellation_the_same_event(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    slot_id = offer_tuesday(db, world)
    with db.unit_of_work() as session:
        booking = book_slot(session, world.people["asha"], slot_id, PLACES, T0)
        booking_id = booking.id
    settings = mail_settings(db, smtp_server.settings())
    report = send_outbox(db, settings, T0 + timedelta(seconds=1))
    assert report.counts["sent"] == 2, report

    expected_uid = f"shadowing-{booking_id}@{DOMAIN}"
    for address in ("cleo@example.com", "asha@example.com"):
        ((message, calendar),) = invitations(smtp_server, address)
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        assert part.get_param("method") == "REQUEST"
        assert str(calendar["METHOD"]) == "REQUEST"
        (event,) = calendar.walk("VEVENT")
        assert str(event["UID"]) == expected_uid
        assert int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART") == TUESDAY_10
        assert event.decoded("DTEND") == TUESDAY_12
        assert str(event["ORGANIZER"]) == "mailto:cleo@example.com"
        assert str(event["ATTENDEE"]) == "mailto:asha@example.com"
        assert "Asha Assessor" in str(event["SUMMARY"])
        assert "Policy Admin" in str(event["SUMMARY"])
        assert "Claims" in str(event["DESCRIPTION"])
        # The readable bodies are still there beside it.
        assert "Tue 3 Mar, 10:00" in message.get_body(("plain",)).get_content()

    # Cancelled by the guest: both are sent the cancellation of the same event.
    with db.unit_of_work() as session:
        cancel_booking(session, world.people["asha"], booking_id, PLACES, T0 + timedelta(hours=1))
    report = send_outbox(db, settings, T0 + timedelta(hours=1, seconds=1))
    assert report.counts["sent"] == 2, report
    for address in ("cleo@example.com", "asha@example.com"):
        (_, _), (message, calendar) = invitations(smtp_server, address)
        assert str(calendar["METHOD"]) == "CANCEL"
        (event,) = calendar.walk("VEVENT")
        assert str(event["UID"]) == expected_uid
        assert int(event["SEQUENCE"]) == 1
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        assert part.get_param("method") == "CANCEL"

    # The slot is open again, and someone else can book it.
    with db.unit_of_work() as session:
        assert [s.slot_id for s in open_slots(session, world.people["carl"], T0)] == [slot_id]
        again = book_slot(session, world.people["carl"], slot_id, PLACES, T0 + timedelta(hours=2))
        assert again.id != booking_id


def test_one_guest_per_slot_from_another_department_within_their_hours(
    db: Database, world: World
) -> None:
    slot_id = offer_tuesday(db, world)
    with db.unit_of_work() as session:
        # Lee leads Policy Admin: the slot is in his own department.
        with pytest.raises(NotAllowed):
            book_slot(session, world.people["lee"], slot_id, PLACES, T0)
        with pytest.raises(NotAllowed):
            book_slot(session, world.people["otto"], slot_id, PLACES, T0)  # in no team
        with pytest.raises(NotFound):
            book_slot(session, world.people["asha"], slot_id + 1000, PLACES, T0)
        # Claims work in Kolkata from now on: 10:00-12:00 UTC runs past their 11:30 UTC close.
        claims = session.get(Team, world.teams["claims"])
        assert claims is not None
        claims.timezone = "Asia/Kolkata"
        session.flush()
        with pytest.raises(InvalidInput):
            book_slot(session, world.people["asha"], slot_id, PLACES, T0)
        assert [s.in_your_hours for s in open_slots(session, world.people["asha"], T0)] == [False]
        claims.timezone = "UTC"
        session.flush()
    with db.unit_of_work() as session:
        book_slot(session, world.people["asha"], slot_id, PLACES, T0)
    with db.unit_of_work() as session:
        with pytest.raises(Conflict):
            book_slot(session, world.people["hana"], slot_id, PLACES, T0)
        # Nobody may book once it has started, and a booked slot is not offered to others.
        assert open_slots(session, world.people["hana"], T0) == []
        assert [s.booked for s in my_slots(session, world.people["cleo"], T0)] == [True]
        with pytest.raises(Conflict):
            withdraw_slot(session, world.people["cleo"], slot_id, T0)


def test_offers_only_in_the_hosts_team_and_working_hours(db: Database, world: World) -> None:
    with db.unit_of_work() as session:
        with pytest.raises(NotAllowed):
            offer_slot(
                session, world.people["asha"], world.teams["admin"], TUESDAY_10, TUESDAY_12, T0
            )
        with pytest.raises(InvalidInput):
            offer_slot(
                session,
                world.people["cleo"],
                world.teams["admin"],
                TUESDAY_10 + timedelta(hours=6),  # 16:00-18:00, past 17:00
                TUESDAY_12 + timedelta(hours=6),
                T0,
            )
        slot = offer_slot(
            session, world.people["cleo"], world.teams["admin"], TUESDAY_10, TUESDAY_12, T0
        )
        withdraw_slot(session, world.people["cleo"], slot.id, T0)
        assert open_slots(session, world.people["asha"], T0) == []
        with pytest.raises(NotFound):
            withdraw_slot(session, world.people["asha"], slot.id, T0)


def test_reflections_come_after_the_visit_and_are_shared_with_both_teams(
    db: Database, world: World
) -> None:
    slot_id = offer_tuesday(db, world)
    with db.unit_of_work() as session:
        booking_id = book_slot(session, world.people["asha"], slot_id, PLACES, T0).id
    with db.unit_of_work() as session:
        with pytest.raises(Conflict):
            write_reflection(session, world.people["asha"], booking_id, "too early", TUESDAY_10)
        with pytest.raises(NotFound):
            write_reflection(session, world.people["hana"], booking_id, "not mine", TUESDAY_12)
        with pytest.raises(Conflict):
            cancel_booking(session, world.people["cleo"], booking_id, PLACES, TUESDAY_10)
    with db.unit_of_work() as session:
        write_reflection(
            session,
            world.people["asha"],
            booking_id,
            "Every policy change is checked twice by hand.",
            TUESDAY_12,
        )
    with db.unit_of_work() as session:
        # Claims (the guest's team: carl leads it) and Policy Admin (lee leads it) read it.
        for handle in ("asha", "cleo", "carl", "lee"):
            shared = shared_reflections(session, world.people[handle])
            assert [r.text for r in shared] == ["Every policy change is checked twice by hand."]
            assert shared[0].written_by == "Asha Assessor"
            assert not shared[0].hosting
        for handle in ("hana", "tess", "otto"):
            assert shared_reflections(session, world.people[handle]) == []
        (visit,) = my_bookings(session, world.people["asha"])
        assert visit.my_reflection == "Every policy change is checked twice by hand."
        assert (visit.hosting, visit.other) == (False, "Cleo Clerk")
        (hosted,) = my_bookings(session, world.people["cleo"])
        assert (hosted.hosting, hosted.other, hosted.my_reflection) == (True, "Asha Assessor", None)


def test_a_guest_on_the_daily_summary_gets_the_invitation_attached_to_it(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    with db.unit_of_work() as session:
        save_preference(
            session, world.people["asha"], Preference(by_kind={"shadowing": Delivery.DAILY_DIGEST})
        )
    slot_id = offer_tuesday(db, world)
    with db.unit_of_work() as session:
        booking_id = book_slot(session, world.people["asha"], slot_id, PLACES, T0).id
    settings = mail_settings(db, smtp_server.settings())
    send_outbox(db, settings, T0 + timedelta(seconds=1))
    assert [r.recipients for r in smtp_server.received] == [("cleo@example.com",)]
    # Her summary goes at 08:00 the next morning (UTC, her clock).
    send_outbox(db, settings, datetime(2026, 3, 3, 8, 0, 1, tzinfo=UTC))
    (summary,) = [r.message() for r in smtp_server.received if "asha@example.com" in r.recipients]
    assert summary["Subject"].startswith("Your daily summary")
    (attached,) = [p for p in summary.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert attached.get_filename() == "invitation-1.ics"
    assert attached.get_param("method") == "REQUEST"
    (event,) = Calendar.from_ical(attached.get_content()).walk("VEVENT")
    assert str(event["UID"]) == f"shadowing-{booking_id}@{DOMAIN}"
    assert event.decoded("DTSTART") == TUESDAY_10
    assert "Cleo Clerk" in summary.get_body(("plain",)).get_content()


def test_the_database_itself_refuses_a_second_live_booking_of_a_slot(
    db: Database, world: World
) -> None:
    slot_id = offer_tuesday(db, world)
    with db.unit_of_work() as session:
        book_slot(session, world.people["asha"], slot_id, PLACES, T0)
    # Past the rules (as two bookings racing would be): the unique index stops the second.
    with db.unit_of_work() as session:
        session.add(
            ShadowingBooking(
                slot_id=slot_id,
                guest_id=world.people["hana"],
                guest_team_id=world.teams["hr"],
                booked_at=T0,
                sequence=0,
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_host_and_guest_are_asked_once_after_the_visit_but_not_after_a_cancelled_one(
    db: Database, world: World
) -> None:
    slot_id = offer_tuesday(db, world)
    with db.unit_of_work() as session:
        book_slot(session, world.people["asha"], slot_id, PLACES, T0)
        later = offer_slot(
            session,
            world.people["cleo"],
            world.teams["admin"],
            TUESDAY_10 - timedelta(hours=1),
            TUESDAY_10,
            T0,
        )
        cancelled = book_slot(session, world.people["hana"], later.id, PLACES, T0)
        cancel_booking(session, world.people["hana"], cancelled.id, PLACES, T0)
    settings = mail_settings(db)
    ask = reflection_asker(settings)
    assert ask(db, TUESDAY_12 - timedelta(minutes=1)) == 0  # still under way
    assert ask(db, TUESDAY_12) == 2
    assert ask(db, TUESDAY_12 + timedelta(hours=1)) == 0  # asked once
    with db.unit_of_work(readonly=True) as session:
        asked = session.execute(
            select(Notification.person_id, Notification.message).where(
                Notification.kind == "shadowing", Notification.message.like("What surprised%")
            )
        ).all()
    assert {person for person, _ in asked} == {world.people["asha"], world.people["cleo"]}
    assert all("https://desk.example.com/shadowing" in message for _, message in asked)
