"""Webhooks end to end against a real local receiver, on SQLite and PostgreSQL: queued with the
event, signed by the Standard Webhooks specification (checked with the reference library),
retried with growing waits for the whole retry window, switched off after persistent failure
with the admins told, and replayed from the log."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, or_, select
from standardwebhooks import Webhook

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.notify.models import Notification
from followthrough.requests import service
from followthrough.requests.service import NewRequest
from followthrough.webhooks import service as webhooks
from followthrough.webhooks.delivery import deliver_due
from followthrough.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.conftest import Clock
from tests.factories import World
from tests.webhooks.receiver import Receiver, receiving

KINDS = ["opened", "offered", "accepted"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(database_url=db.url)


def _subscribe(
    db: Database, world: World, clock: Clock, url: str, team: str | None = None
) -> tuple[int, str]:
    with db.unit_of_work() as session:
        made = webhooks.create_subscription(
            session,
            world.actor(session, "ada"),
            url=url,
            kinds=KINDS,
            team_id=world.teams[team] if team else None,
            description="the data warehouse",
            now=clock(),
        )
        return made.id, made.secret


def _open(db: Database, world: World, clock: Clock) -> int:
    with db.unit_of_work() as session:
        return service.open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(
                title="Policy P-1 has the wrong address",
                need="Correct it",
                service_id=world.services["correct_policy"],
            ),
            clock(),
        ).id


def _matching_events(db: Database, team_id: int | None = None) -> list[int]:
    """The events a subscription to KINDS should hear of, read from the history directly."""
    query = select(Event.id).where(Event.kind.in_(KINDS))
    if team_id is not None:
        query = query.where(or_(Event.team_id == team_id, Event.other_team_id == team_id))
    with db.unit_of_work(readonly=True) as session:
        return list(session.scalars(query.order_by(Event.id)))


def test_every_event_of_the_kinds_reaches_the_receiver_signed(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    _, secret = _subscribe(db, world, clock, receiver.url)
    request_id = _open(db, world, clock)
    expected = _matching_events(db)
    assert expected  # opened and offered at least
    assert deliver_due(db, settings, clock()) == len(expected)
    assert len(receiver.received) == len(expected)
    verifier = Webhook(secret)
    seen = []
    for message in receiver.received:
        body = verifier.verify(message.body, message.headers)  # raises unless signed by us
        assert message.headers["content-type"] == "application/json"
        assert body["type"] == body["data"]["kind"]
        assert body["data"]["request_id"] == request_id
        seen.append(body["data"]["event_id"])
    assert sorted(seen) == expected
    assert len({m.headers["webhook-id"] for m in receiver.received}) == len(expected)
    # Delivered: nothing more goes out.
    assert deliver_due(db, settings, clock() + timedelta(days=1)) == 0


def test_a_team_subscription_hears_only_of_its_team(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    _subscribe(db, world, clock, receiver.url, team="hr")
    _open(db, world, clock)  # Claims raises for Policy Admin: nothing of HR's
    assert _matching_events(db, world.teams["hr"]) == []
    assert deliver_due(db, settings, clock()) == 0
    assert receiver.received == []


def test_an_event_rolled_back_queues_nothing(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    _subscribe(db, world, clock, receiver.url)

    def open_then_fail() -> None:
        with db.unit_of_work() as session:
            service.open_request(
                session,
                world.actor(session, "asha"),
                NewRequest(
                    title="Never", need="Rolled back", service_id=world.services["correct_policy"]
                ),
                clock(),
            )
            raise RuntimeError("the unit of work fails after the change")

    with pytest.raises(RuntimeError):
        open_then_fail()
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    assert deliver_due(db, settings, clock()) == 0


def _delivery(db: Database) -> WebhookDelivery:
    with db.unit_of_work() as session:  # committed, so the row stays readable afterwards
        return session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).first()  # type: ignore[return-value]


def test_a_failing_receiver_is_tried_again_after_growing_waits(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    subscription_id, _ = _subscribe(db, world, clock, receiver.url)
    with db.unit_of_work() as session:
        # One event only, so the schedule is one delivery's.
        webhooks.change_subscription(
            session, world.actor(session, "ada"), subscription_id, kinds=["opened"]
        )
    _open(db, world, clock)
    receiver.answer_with(500, 503, 502, 200)
    start = clock()
    assert deliver_due(db, settings, start) == 1
    # Written out by hand: 30 s after the first failure, 60 s after the second, 120 s after the third.
    assert _delivery(db).next_attempt_at == start + timedelta(seconds=30)
    assert deliver_due(db, settings, start + timedelta(seconds=29)) == 0
    assert deliver_due(db, settings, start + timedelta(seconds=30)) == 1
    assert _delivery(db).next_attempt_at == start + timedelta(seconds=90)
    assert deliver_due(db, settings, start + timedelta(seconds=90)) == 1
    assert _delivery(db).next_attempt_at == start + timedelta(seconds=210)
    assert deliver_due(db, settings, start + timedelta(seconds=210)) == 1
    delivered = _delivery(db)
    assert delivered.state == "delivered"
    assert delivered.attempts == 4
    ids = {m.headers["webhook-id"] for m in receiver.received}
    assert len(receiver.received) == 4
    assert len(ids) == 1  # the same message every time: the receiver can drop a repeat
    with db.unit_of_work(readonly=True) as session:
        codes = list(
            session.scalars(select(WebhookAttempt.status_code).order_by(WebhookAttempt.id))
        )
    assert codes == [500, 503, 502, 200]


def test_persistent_failure_for_72_hours_switches_the_webhook_off_and_tells_the_admin(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    subscription_id, _ = _subscribe(db, world, clock, receiver.url)
    with db.unit_of_work() as session:
        webhooks.change_subscription(
            session, world.actor(session, "ada"), subscription_id, kinds=["opened"]
        )
    _open(db, world, clock)
    receiver.answer_with(500)
    start = clock()
    now = start
    tries = 0
    while _delivery(db).state == "pending":
        tries += deliver_due(db, settings, now)
        now = _delivery(db).next_attempt_at
        assert tries < 100
    # The waits, worked out by hand: 30 s doubling (30, 60, ..., 15360 s: nine waits, 4.26 h in
    # all), then 6 h each; the last try falls at the end of the 72 hours.
    waits = [30 * 2**n for n in range(10) if 30 * 2**n < 6 * 3600]
    elapsed, expected_tries = 0, 1
    while elapsed < 72 * 3600:
        wait = waits[expected_tries - 1] if expected_tries <= len(waits) else 6 * 3600
        elapsed = min(elapsed + wait, 72 * 3600)
        expected_tries += 1
    assert tries == expected_tries
    assert len(receiver.received) == expected_tries
    with db.unit_of_work(readonly=True) as session:
        last = session.scalar(select(func.max(WebhookAttempt.at)))
        assert last == start + timedelta(hours=72)
        subscription = session.get(WebhookSubscription, subscription_id)
        assert subscription is not None
        assert not subscription.enabled
        assert "72 hours" in (subscription.disabled_reason or "")
        told = session.scalars(
            select(Notification).where(Notification.kind == "integration_disabled")
        ).all()
        assert [n.person_id for n in told] == [world.people["ada"]]
        assert "the data warehouse" in told[0].message
    # Switched off: new events queue nothing for it.
    _open(db, world, clock)
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_a_replay_sends_the_same_message_again_and_the_log_keeps_both(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    subscription_id, secret = _subscribe(db, world, clock, receiver.url)
    with db.unit_of_work() as session:
        webhooks.change_subscription(
            session, world.actor(session, "ada"), subscription_id, kinds=["opened"]
        )
    _open(db, world, clock)
    assert deliver_due(db, settings, clock()) == 1
    delivery_id = _delivery(db).id
    clock.advance(hours=1)
    with db.unit_of_work() as session:
        webhooks.replay(session, world.actor(session, "ada"), subscription_id, delivery_id, clock())
    assert deliver_due(db, settings, clock()) == 1
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    assert first.body == again.body
    Webhook(secret).verify(again.body, again.headers)
    with db.unit_of_work() as session:
        log, total = webhooks.delivery_log(session, world.actor(session, "ada"), subscription_id)
    assert total == 1
    assert [(a.status_code, a.replayed) for a in log[0].attempts] == [
        (200, False),
        (None, True),
        (200, False),
    ]


def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    subscription_id, old = _subscribe(db, world, clock, receiver.url)
    with db.unit_of_work() as session:
        new = webhooks.rotate_secret(
            session, world.actor(session, "ada"), subscription_id, clock()
        ).secret
    assert new != old
    _open(db, world, clock)
    deliver_due(db, settings, clock())
    message = receiver.received[0]
    assert len(message.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(message.body, message.headers)
    Webhook(new).verify(message.body, message.headers)
    clock.advance(hours=25)
    delivery_id = _delivery(db).id
    with db.unit_of_work() as session:
        webhooks.replay(session, world.actor(session, "ada"), subscription_id, delivery_id, clock())
    deliver_due(db, settings, clock())
    later = receiver.received[-1]
    Webhook(new).verify(later.body, later.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old).verify(later.body, later.headers)


def test_a_receiver_that_is_not_there_is_a_failed_attempt_not_an_error(
    db: Database, world: World, clock: Clock, settings: Settings
) -> None:
    _subscribe(db, world, clock, "http://127.0.0.1:9/nothing-listens-here")
    _open(db, world, clock)
    with httpx.Client(timeout=2) as client:
        assert deliver_due(db, settings, clock(), client=client) >= 1
    with db.unit_of_work(readonly=True) as session:
        attempt = session.scalars(select(WebhookAttempt)).first()
        assert attempt is not None
        assert attempt.status_code is None
        assert "ConnectError" in (attempt.error or "")


def test_two_senders_at_once_send_each_message_once(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    """Two senders claim from the same queue at the same time (PostgreSQL: SKIP LOCKED; SQLite:
    one writer at a time): every event reaches the receiver exactly once."""
    _subscribe(db, world, clock, receiver.url)
    for _ in range(6):
        _open(db, world, clock)
    expected = _matching_events(db)
    counts: list[int] = []
    start = threading.Barrier(2)

    def sender() -> None:
        start.wait()
        counts.append(deliver_due(db, settings, clock(), limit=2))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(counts) == len(expected)
    ids = [m.headers["webhook-id"] for m in receiver.received]
    assert len(ids) == len(expected)
    assert len(set(ids)) == len(expected)
