"""A lunch-and-learn place's invitation delivered to a real SMTP server (SQLite and
PostgreSQL): the mail carries a valid iCalendar REQUEST for the session's time and place."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from icalendar import Calendar

from followthrough.db import Database
from followthrough.mail.outbound import send_outbox
from followthrough.programmes.lunch import propose, sign_up
from tests.conftest import T0
from tests.factories import World
from tests.mail.conftest import SmtpServer, start_smtp_server
from tests.mail.helpers import DOMAIN, mail_settings


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = start_smtp_server()
    try:
        yield server
    finally:
        server.controller.stop()


def test_taking_a_place_mails_the_calendar_invitation(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    starts = T0 + timedelta(days=2, hours=3)  # Wednesday 12:00 UTC
    with db.unit_of_work() as session:
        lunch = propose(
            session,
            world.people["carl"],
            title="A claim's journey",
            team_id=world.teams["claims"],
            starts_at=starts,
            minutes=40,
            place="Room 3",
            capacity=5,
            now=T0,
        )
        sign_up(session, lunch.id, world.people["cleo"], mail_domain=DOMAIN, now=T0)
        lunch_id = lunch.id
    report = send_outbox(db, mail_settings(db, smtp_server.settings()), T0 + timedelta(seconds=1))
    assert report.counts["sent"] == 1, report
    (received,) = smtp_server.received
    assert received.recipients == ("cleo@example.com",)
    message = received.message()
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    calendar = Calendar.from_ical(part.get_content())
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"lunch-{lunch_id}-{world.people['cleo']}@{DOMAIN}"
    assert event.decoded("DTSTART") == starts
    assert event.decoded("DTEND") == starts + timedelta(minutes=40)
    assert str(event["LOCATION"]) == "Room 3"
    assert str(event["SUMMARY"]) == "Lunch and learn: A claim's journey"
    assert "A claim's journey" in message.get_body(("plain",)).get_content()
