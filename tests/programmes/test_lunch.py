"""Lunch and learn on a real database (SQLite and PostgreSQL): a session proposed, places taken
up to its capacity with a calendar invitation queued for mail, attendance, feedback from those
who came, the notes linked; and the refusals, each naming its field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from followthrough.db import Database
from followthrough.errors import Conflict, InvalidInput, NotAllowed
from followthrough.notify.models import Notification, OutboxMessage
from followthrough.programmes.lunch import (
    give_feedback,
    link_notes,
    propose,
    record_attendance,
    sessions,
    sign_up,
)
from tests.conftest import Clock
from tests.factories import World

DOMAIN = "desk.example.com"


def test_a_session_fills_up_invites_records_who_came_and_their_feedback(
    db: Database, world: World, clock: Clock
) -> None:
    p = world.people
    starts = clock.now + timedelta(days=3)
    with db.unit_of_work() as session:
        lunch = propose(
            session,
            p["asha"],
            title="What Finance needs in a claim payment request",
            team_id=world.teams["claims"],
            starts_at=starts,
            minutes=45,
            place="Room 3 or https://meet.example.com/lunch",
            capacity=2,
            now=clock.now,
        )
        lunch_id = lunch.id
        sign_up(session, lunch_id, p["cleo"], mail_domain=DOMAIN, now=clock.now)
        sign_up(session, lunch_id, p["cleo"], mail_domain=DOMAIN, now=clock.now)  # kept once
        sign_up(session, lunch_id, p["lee"], mail_domain=DOMAIN, now=clock.now)
    with db.unit_of_work() as session, pytest.raises(Conflict, match="full"):
        sign_up(session, lunch_id, p["hana"], mail_domain=DOMAIN, now=clock.now)
    with db.unit_of_work(readonly=True) as session:
        notes = session.scalars(
            select(Notification).where(Notification.kind == "lunch").order_by(Notification.id)
        ).all()
        assert [n.person_id for n in notes] == [p["cleo"], p["lee"]]
        queued = session.scalars(
            select(OutboxMessage).where(OutboxMessage.notification_id == notes[0].id)
        ).all()
        assert len(queued) == 1
        assert notes[0].calendar is not None
        event = Calendar.from_ical(notes[0].calendar).walk("VEVENT")[0]
        assert event.decoded("dtstart") == starts
        assert event.decoded("dtend") == starts + timedelta(minutes=45)
        assert str(event.get("summary")).startswith("Lunch and learn: What Finance needs")
        assert str(event.get("attendee")) == "mailto:cleo@example.com"
        (line,) = sessions(session, p["cleo"], is_admin=False, minimum_ratings=5)
        assert (line.taken, line.capacity, line.mine, line.runs) == (2, 2, True, False)

    clock.advance(days=3, minutes=50)
    with db.unit_of_work() as session, pytest.raises(NotAllowed):
        record_attendance(session, lunch_id, p["cleo"], {p["cleo"]}, clock.now)
    with db.unit_of_work() as session:
        record_attendance(session, lunch_id, p["asha"], {p["cleo"]}, clock.now)
        give_feedback(session, lunch_id, p["cleo"], 4, "Now I know what to attach.", clock.now)
        link_notes(session, lunch_id, p["carl"], "https://wiki.example.com/lunch/1")  # Claims' lead
    with db.unit_of_work() as session, pytest.raises(NotAllowed):
        give_feedback(session, lunch_id, p["lee"], 5, "", clock.now)  # did not come
    with db.unit_of_work() as session, pytest.raises(Conflict, match="started"):
        sign_up(session, lunch_id, p["hana"], mail_domain=DOMAIN, now=clock.now)
    with db.unit_of_work(readonly=True) as session:
        (line,) = sessions(session, p["asha"], is_admin=False, minimum_ratings=5)
        # One rating beside the list of who came would be Cleo's own: no mean until five.
        assert (line.came, line.ratings, line.mean_rating, line.runs) == (1, 1, None, True)
        (counted,) = sessions(session, p["asha"], is_admin=False, minimum_ratings=1)
        assert counted.mean_rating == 4.0
        assert line.notes_link == "https://wiki.example.com/lunch/1"
        assert [(name, came) for _, name, came in line.signed_up] == sorted(
            [("Cleo Clerk", True), ("Lee Lead", False)]
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"minutes": 5}, "minutes"),
        ({"place": ""}, "place"),
        ({"capacity": 0}, "capacity"),
        ({"starts_at": "past"}, "starts_at"),
        ({"team_id": 999999}, "team"),
    ],
)
def test_a_proposal_that_says_too_little_is_refused_naming_the_field(
    db: Database, world: World, clock: Clock, change: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {
        "title": "How Operations routes a claim",
        "team_id": world.teams["claims"],
        "starts_at": clock.now + timedelta(days=1),
        "minutes": 30,
        "place": "Room 1",
        "capacity": 10,
    }
    values.update(change)
    if values["starts_at"] == "past":
        values["starts_at"] = clock.now - timedelta(minutes=1)
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        propose(session, world.people["asha"], now=clock.now, **values)  # type: ignore[arg-type]
    assert refused.value.field == field
