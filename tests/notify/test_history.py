"""The notification history on both databases: every notification, newest first by time,
read and unread told apart and filtered, paged with true counts; marking read and unread."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from followthrough.db import Database
from followthrough.notify import service as notify
from followthrough.notify.models import Notification
from followthrough.notify.service import Shown
from tests.conftest import T0, Clock, LiveServer, issue_tokens
from tests.factories import World
from tests.web.pages import Visitor

# Written out of time order on purpose (a sweep can write an older due item after a newer
# change): the history goes by when each happened, not by when its row was written.
WRITTEN = [("third", 30), ("first", 10), ("fifth", 50), ("second", 20), ("fourth", 40)]
NEWEST_FIRST = ["fifth", "fourth", "third", "second", "first"]


def _write(db: Database, person: int) -> None:
    with db.unit_of_work() as session:
        for message, minute in WRITTEN:
            notify.notify(session, person, "feedback", message, T0 + timedelta(minutes=minute))


def test_newest_first_by_time_with_true_counts_and_pages(db: Database, world: World) -> None:
    dan, asha = world.people["dan"], world.people["asha"]
    _write(db, dan)
    _write(db, asha)  # someone else's never count
    with db.unit_of_work(readonly=True) as session:
        assert [n.message for n in notify.inbox(session, dan)] == NEWEST_FIRST
        pages = [notify.history(session, dan, Shown.ALL, offset=o, limit=2) for o in (0, 2, 4)]
        messages = [[n.message for n in p.items] for p in pages]
    assert messages == [
        ["fifth", "fourth"],
        ["third", "second"],
        ["first"],
    ]
    assert [(p.total, p.everything, p.unread, p.read) for p in pages] == [(5, 5, 5, 0)] * 3
    assert [(p.previous_offset, p.next_offset) for p in pages] == [(None, 2), (0, 4), (2, None)]


def test_read_and_unread_are_shown_apart_and_can_be_marked_either_way(
    db: Database, world: World
) -> None:
    dan = world.people["dan"]
    _write(db, dan)
    with db.unit_of_work() as session:
        ids = {n.message: n.id for n in notify.inbox(session, dan)}
        assert notify.mark_read(session, dan, [ids["second"], ids["fourth"]], T0) == 2
    with db.unit_of_work(readonly=True) as session:
        unread = notify.history(session, dan, Shown.UNREAD)
        read = notify.history(session, dan, Shown.READ)
        assert [n.message for n in unread.items] == ["fifth", "third", "first"]
        assert [n.message for n in read.items] == ["fourth", "second"]
    assert (unread.total, read.total, unread.everything) == (3, 2, 5)
    with db.unit_of_work() as session:
        # Unread again: only the person's own, only what was read.
        assert notify.mark_unread(session, world.people["asha"], [ids["fourth"]]) == 0
        assert notify.mark_unread(session, dan, [ids["fourth"], ids["fifth"]]) == 1
        assert notify.unread_count(session, dan) == 4
        assert notify.mark_read(session, dan, None, T0) == 4
    with db.unit_of_work(readonly=True) as session:
        everything = notify.history(session, dan, Shown.ALL)
        assert notify.history(session, dan, Shown.UNREAD).items == []
        # After "mark all read" nothing is lost: the history still holds all five, read.
        assert [n.message for n in everything.items] == NEWEST_FIRST
        assert all(n.read_at is not None for n in everything.items)
    assert (everything.total, everything.unread) == (5, 0)


def test_the_api_pages_the_history_and_marks_unread(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    dan = world.people["dan"]
    _write(db, dan)
    client = live_server.client(issue_tokens(db, world, clock)["dan"])
    first = client.get("/inbox", params={"limit": 2}).json()
    assert [n["message"] for n in first["items"]] == ["fifth", "fourth"]
    assert (first["total"], first["unread"], first["offset"]) == (5, 5, 0)
    last = client.get("/inbox", params={"limit": 2, "offset": 4}).json()
    assert [n["message"] for n in last["items"]] == ["first"]
    cleared = client.post("/inbox/read", json={}).json()
    assert cleared["unread"] == 0
    assert cleared["total"] == 5
    assert client.get("/inbox", params={"unread_only": True}).json()["items"] == []
    fourth = next(n["id"] for n in first["items"] if n["message"] == "fourth")
    again = client.post("/inbox/unread", json={"ids": [fourth]}).json()
    assert again["unread"] == 1
    read = client.get("/inbox", params={"shown": "read"}).json()
    assert [n["message"] for n in read["items"]] == ["fifth", "third", "second", "first"]
    refused = client.post("/inbox/unread", json={"ids": []})
    assert refused.status_code == 422
    assert refused.json()["field"].startswith("ids")
    assert client.get("/inbox", params={"shown": "sideways"}).status_code == 422


def test_the_history_page_after_mark_all_read(
    db: Database, world: World, live_server: LiveServer
) -> None:
    dan = world.people["dan"]
    with db.unit_of_work() as session:
        for minute in range(30):
            notify.notify(
                session, dan, "feedback", f"Note {minute:02d}", T0 + timedelta(minutes=minute)
            )
    visitor = Visitor(live_server.base_url)
    try:
        visitor.sign_in("dan")
        page = visitor.get("/notifications").text
        assert 'aria-label="30 unread"' in page  # the header's badge
        assert "Showing 1\u201325 of 30" in page
        assert page.index("Note 29") < page.index("Note 05")
        assert "Note 04" not in page
        older = visitor.get("/notifications?show=all&offset=25").text
        assert "Showing 26\u201330 of 30" in older
        assert "Note 00" in older
        cleared = visitor.post("/notifications/read", {"next": "/notifications?show=all&offset=0"})
        assert cleared.status_code == 303
        page = visitor.get(cleared.headers["location"]).text
        assert "Marked 30 read." in page
        assert 'aria-label="30 unread"' not in page
        assert "Mark all" not in page
        assert "Note 29" in page
        assert "Showing 1\u201325 of 30" in page
        assert "Mark unread" in page
        assert visitor.get("/notifications?show=unread").text.count("Nothing unread.") == 1
        # One back to unread, from the page.
        one = page.split('action="/notifications/', 1)[1].split("/", 1)[0]
        marked = visitor.post(
            f"/notifications/{one}/unread", {"next": "/notifications?show=unread"}
        )
        assert marked.headers["location"] == "/notifications?show=unread"
        unread_page = visitor.get("/notifications?show=unread").text
        assert "Showing 1\u20131 of 1" in unread_page
        assert 'aria-label="1 unread"' in unread_page
        # A foreign "next" never leads off the site.
        away = visitor.post(f"/notifications/{one}/read", {"next": "https://example.com/"})
        assert away.headers["location"] == "/notifications"
    finally:
        visitor.close()


def test_another_persons_notification_cannot_be_marked_and_is_not_told_from_a_missing_one(
    db: Database, world: World, live_server: LiveServer
) -> None:
    dan, asha = world.people["dan"], world.people["asha"]
    with db.unit_of_work() as session:
        notify.notify(session, asha, "feedback", "For Asha only", T0)
        theirs = session.scalars(
            select(Notification.id).where(Notification.person_id == asha)
        ).one()
    visitor = Visitor(live_server.base_url)
    try:
        visitor.sign_in("dan")
        for action in ("read", "unread"):
            foreign = visitor.post(f"/notifications/{theirs}/{action}", {})
            missing = visitor.post(f"/notifications/{theirs + 1000}/{action}", {})
            assert foreign.status_code == missing.status_code == 404
        with db.unit_of_work(readonly=True) as session:
            assert session.get(Notification, theirs).read_at is None  # type: ignore[union-attr]
        # Their own is still marked as before.
        with db.unit_of_work() as session:
            notify.notify(session, dan, "feedback", "For Dan", T0)
            own = session.scalars(
                select(Notification.id).where(Notification.person_id == dan)
            ).one()
        assert visitor.post(f"/notifications/{own}/read", {}).status_code == 303
    finally:
        visitor.close()
