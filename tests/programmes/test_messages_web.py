"""Leaders' messages over real HTTP (SQLite and PostgreSQL): a lead opens the prefilled draft,
edits and sends it; everyone active is notified (mail queued) and reads it in the archive;
someone who leads no team may read but not write."""

from __future__ import annotations

from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.notify.models import Notification, OutboxMessage
from followthrough.org.models import Person
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.web.pages import Visitor


def visitor(live_server: LiveServer, handle: str) -> Visitor:
    person = Visitor(live_server.base_url)
    assert person.sign_in(handle).status_code == 303
    return person


def test_a_lead_sends_the_weeks_message_and_everyone_reads_it(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    carl, asha = visitor(live_server, "carl"), visitor(live_server, "asha")
    try:
        draft = carl.get("/messages/new")
        assert draft.status_code == 200
        assert "Working across teams: the week of 2 March 2026" in draft.text  # T0's week
        assert "No recognition was confirmed this week" in draft.text
        refused = carl.post("/messages", {"subject": "", "body": "Hello"})
        assert refused.status_code == 422
        assert "give the message a subject" in refused.text.lower()
        sent = carl.post(
            "/messages",
            {"subject": "Thank you, Claims and Policy Admin", "body": "Dear all,\n\nWell done."},
        )
        assert sent.status_code == 303
        assert asha.get("/messages/new").status_code == 403
        assert asha.post("/messages", {"subject": "Hi", "body": "x"}).status_code == 403
        archive = asha.get("/messages")
        assert archive.status_code == 200
        assert "Thank you, Claims and Policy Admin" in archive.text
        assert "Well done." in archive.text
        assert "From Carl Claims Lead" in archive.text
    finally:
        carl.close()
        asha.close()
    with db.unit_of_work(readonly=True) as session:
        active = session.scalar(select(func.count()).where(Person.active.is_(True)))
        notified = session.scalars(
            select(Notification.person_id).where(Notification.kind == "leader_message")
        ).all()
        queued = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .join(Notification, Notification.id == OutboxMessage.notification_id)
            .where(Notification.kind == "leader_message")
        )
    assert len(set(notified)) == len(notified) == active == len(world.people)
    assert queued == active
