"""The inbox on both databases: each notification is its person's alone, queued for mail with
it, and read only by that person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from followthrough.db import Database
from followthrough.notify import service as notify
from followthrough.notify.models import Notification, OutboxMessage
from tests.conftest import T0
from tests.factories import World


def test_a_notification_lands_in_one_inbox_and_is_queued_for_mail_with_it(
    db: Database, world: World
) -> None:
    dan, asha = world.people["dan"], world.people["asha"]
    with db.unit_of_work() as session:
        notify.notify(session, dan, "feedback", "Asha thanked you", T0)
        notify.notify(session, dan, "feedback", "Cleo thanked you", T0 + timedelta(minutes=1))
    with db.unit_of_work(readonly=True) as session:
        assert [n.message for n in notify.inbox(session, dan)] == [
            "Cleo thanked you",
            "Asha thanked you",
        ]
        assert notify.unread_count(session, dan) == 2
        assert notify.inbox(session, asha) == []
        queued = session.execute(
            select(OutboxMessage.notification_id, OutboxMessage.channel, OutboxMessage.state)
        ).all()
        ids = set(session.scalars(select(Notification.id)))
    assert sorted(q.notification_id for q in queued) == sorted(ids)
    assert {(q.channel, q.state) for q in queued} == {("email", "pending")}


def test_only_the_person_marks_their_notifications_read(db: Database, world: World) -> None:
    dan, asha = world.people["dan"], world.people["asha"]
    with db.unit_of_work() as session:
        for minute in range(3):
            notify.notify(session, dan, "feedback", f"note {minute}", T0)
    with db.unit_of_work() as session:
        first, second, third = sorted(n.id for n in notify.inbox(session, dan))
        # Someone else's ids change nothing.
        assert notify.mark_read(session, asha, [first, second], T0) == 0
        assert notify.mark_read(session, dan, [first], T0 + timedelta(hours=1)) == 1
        # Already read: not read again (its time stays the first reading's).
        assert notify.mark_read(session, dan, [first], T0 + timedelta(hours=2)) == 0
    with db.unit_of_work(readonly=True) as session:
        assert notify.unread_count(session, dan) == 2
        assert [n.id for n in notify.inbox(session, dan, unread_only=True)] == [third, second]
        read = session.get(Notification, first)
        assert read is not None
        assert read.read_at == T0 + timedelta(hours=1)
    with db.unit_of_work() as session:
        assert notify.mark_read(session, dan, None, T0 + timedelta(hours=3)) == 2
    with db.unit_of_work(readonly=True) as session:
        assert notify.unread_count(session, dan) == 0


def test_an_unknown_kind_is_refused(db: Database, world: World) -> None:
    with db.unit_of_work() as session, pytest.raises(ValueError, match="unknown notification kind"):
        notify.notify(session, world.people["dan"], "gossip", "psst", T0)
