"""A person's own settings saved twice at the same moment (a double click, two tabs) over real
HTTP: every save answers as a single one would, never 500, and the last one is kept.

On PostgreSQL the other save is held open in a transaction of the test's own that has already
written the row, and committed only once the requests wait behind it: each of them then meets the
row it did not see when it looked, as the loser of a real race does. SQLite's writers take turns,
so there the saves simply follow each other."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from followthrough.chat.models import ChatRoute
from followthrough.db import Base, Database
from followthrough.mail.models import NotificationChoice, NotificationSchedule
from followthrough.programmes.models import BuddyEnrolment
from followthrough.programmes.shadowing_models import ShadowingReflection
from followthrough.programmes.shadowing_service import MailPlaces, book_slot, offer_slot
from tests.conftest import Clock, LiveServer, at_once, issue_tokens
from tests.factories import World
from tests.web.pages import Visitor

AT_ONCE = 6
SLACK = "https://hooks.slack.com/services/T000/B000/XXXX"


def _waiting_on_locks(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            or 0
        )


@contextmanager
def saved_elsewhere_meanwhile(db: Database, rows: Callable[[], list[Base]]) -> Iterator[None]:
    """On PostgreSQL, `rows` written by another transaction that commits once requests wait
    behind it (or after 10 s); on SQLite, nothing."""
    if db.is_sqlite:
        yield
        return
    other = Session(db.engine)
    other.add_all(rows())
    other.flush()
    committed = threading.Event()

    def commit_when_waited_on() -> None:
        deadline = time.monotonic() + 10
        while _waiting_on_locks(db) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        other.commit()
        other.close()
        committed.set()

    holder = threading.Thread(target=commit_when_waited_on)
    holder.start()
    try:
        yield
    finally:
        holder.join(timeout=30)
        assert committed.is_set()


def _visitor(live_server: LiveServer, handle: str) -> Visitor:
    person = Visitor(live_server.base_url)
    assert person.sign_in(handle).status_code == 303
    return person


def test_opting_in_to_buddies_twice_at_once_keeps_one_enrolment(
    db: Database, world: World, live_server: LiveServer
) -> None:
    otto = world.people["otto"]
    visitor = _visitor(live_server, "otto")
    try:
        elsewhere = lambda: [  # noqa: E731
            BuddyEnrolment(
                person_id=otto, opted_in=False, prefers_trio=False, changed_at=datetime.now(UTC)
            )
        ]
        with saved_elsewhere_meanwhile(db, elsewhere):
            answers = at_once([lambda: visitor.post("/buddies", {"take_part": "in"})] * AT_ONCE)
        assert [a.status_code for a in answers] == [303] * AT_ONCE
        with db.unit_of_work(readonly=True) as session:
            enrolment = session.get(BuddyEnrolment, otto)
            assert enrolment is not None
            assert enrolment.opted_in
    finally:
        visitor.close()


def test_setting_my_chat_channel_twice_at_once_keeps_one_channel(
    db: Database, world: World, live_server: LiveServer
) -> None:
    otto = world.people["otto"]
    visitor = _visitor(live_server, "otto")
    try:
        elsewhere = lambda: [  # noqa: E731
            ChatRoute(
                person_id=otto,
                platform="teams",
                url="https://example.webhook.office.com/webhookb2/old",
                created_at=datetime.now(UTC),
            )
        ]
        with saved_elsewhere_meanwhile(db, elsewhere):
            answers = at_once(
                [lambda: visitor.post("/account/chat", {"platform": "slack", "url": SLACK})]
                * AT_ONCE
            )
        assert [a.status_code for a in answers] == [303] * AT_ONCE
        with db.unit_of_work(readonly=True) as session:
            routes = session.scalars(select(ChatRoute).where(ChatRoute.person_id == otto)).all()
            assert [(r.platform, r.url) for r in routes] == [("slack", SLACK)]
    finally:
        visitor.close()


def test_saving_notification_choices_twice_at_once_keeps_the_choices_once(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    otto = world.people["otto"]
    tokens = issue_tokens(db, world, clock)
    api = live_server.client(tokens["otto"])
    visitor = _visitor(live_server, "otto")
    try:
        elsewhere = lambda: [  # noqa: E731
            NotificationSchedule(person_id=otto, digest_minute=7 * 60),
            NotificationChoice(person_id=otto, kind="offer", delivery="off"),
        ]
        choices = {"kinds": {"offer": "daily_digest"}, "digest_at": "09:00"}
        with saved_elsewhere_meanwhile(db, elsewhere):
            answers = at_once(
                [lambda: api.put("/me/notification-choices", json=choices)] * AT_ONCE
                + [lambda: visitor.post("/profile/notifications", {"digest_at": "09:00"})]
            )
        assert sorted(a.status_code for a in answers) == [200] * AT_ONCE + [303]
        with db.unit_of_work(readonly=True) as session:
            assert session.get(NotificationSchedule, otto) is not None
            kinds = session.scalars(
                select(NotificationChoice.kind).where(NotificationChoice.person_id == otto)
            ).all()
            assert len(kinds) == len(set(kinds))
    finally:
        visitor.close()


def test_writing_a_reflection_twice_at_once_keeps_one_reflection(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    cleo, asha = world.people["cleo"], world.people["asha"]
    places = MailPlaces(mail_domain="example.com", public_url="http://desk.example")
    starts = clock() + timedelta(days=1, hours=1)  # Tuesday 10:00
    with db.unit_of_work() as session:
        slot = offer_slot(
            session, cleo, world.teams["admin"], starts, starts + timedelta(hours=2), clock()
        )
        booking_id = book_slot(session, asha, slot.id, places, clock()).id
    clock.advance(days=1, hours=4)  # the visit is over
    visitor = _visitor(live_server, "asha")
    try:
        elsewhere = lambda: [  # noqa: E731
            ShadowingReflection(
                booking_id=booking_id, person_id=asha, text="first", written_at=clock()
            )
        ]
        with saved_elsewhere_meanwhile(db, elsewhere):
            answers = at_once(
                [
                    lambda: visitor.post(
                        f"/shadowing/bookings/{booking_id}/reflection",
                        {"reflection": "Every change is checked twice."},
                    )
                ]
                * AT_ONCE
            )
        assert [a.status_code for a in answers] == [303] * AT_ONCE
        with db.unit_of_work(readonly=True) as session:
            assert session.scalar(select(func.count()).select_from(ShadowingReflection)) == 1
            kept = session.get(ShadowingReflection, (booking_id, asha))
            assert kept is not None
            assert kept.text == "Every change is checked twice."
    finally:
        visitor.close()
