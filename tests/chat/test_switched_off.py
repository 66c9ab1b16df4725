"""A chat channel that keeps failing (a real local receiver answering 500 or not answering in
time) is switched off by the webhooks' rule after its retry window, recorded, and the admins
are told; an admin switches it on again through the API and the page, audited (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from followthrough.chat import service as chat
from followthrough.chat.delivery import post_due
from followthrough.chat.models import ChatPost, ChatRoute
from followthrough.cli import app
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.errors import Conflict, NotAllowed
from followthrough.history.models import Event
from followthrough.notify.models import Notification
from tests.conftest import Clock, LiveServer
from tests.factories import World, open_wrong_address
from tests.web.pages import Visitor
from tests.webhooks.receiver import HANG, Receiver

runner = CliRunner()


@pytest.fixture
def settings(db: Database) -> Settings:
    # A timeout shorter than the receiver's HANG: a hanging answer is no answer.
    return Settings(
        database_url=db.url,
        public_url="https://desk.example",
        chat_allow_any_host=True,
        webhook_timeout_seconds=0.5,
    )


def _open(db: Database, world: World, clock: Clock) -> int:
    with db.unit_of_work() as session:
        return open_wrong_address(session, world, clock())


def _my_channel(db: Database, world: World, clock: Clock, handle: str, url: str) -> int:
    with db.unit_of_work() as session:
        return chat.set_my_channel(
            session, world.actor(session, handle), "slack", url, clock(), any_host=True
        ).id


def _route(db: Database, route_id: int) -> ChatRoute:
    with db.unit_of_work(readonly=True) as session:
        route = session.get(ChatRoute, route_id)
        assert route is not None
        session.expunge(route)
        return route


def _pending(db: Database) -> ChatPost | None:
    with db.unit_of_work(readonly=True) as session:
        found = session.scalar(select(ChatPost).where(ChatPost.state == "pending"))
        if found is not None:
            session.expunge(found)
        return found


def _fail_for_a_day(
    db: Database, settings: Settings, receiver: Receiver, start_at: Clock
) -> tuple[int, timedelta]:
    """Post until the one pending post is given up; the tries and the time it took."""
    start = start_at()
    now, tries = start, 0
    while (post := _pending(db)) is not None:
        now = max(now, post.next_attempt_at)
        tries += post_due(db, settings, now)
        assert tries < 100
    return tries, now - start


def test_a_channel_failing_for_its_whole_retry_window_is_switched_off_and_admins_are_told(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    dan = world.people["dan"]  # the duty owner: told of the request offered to his team
    route_id = _my_channel(db, world, clock, "dan", receiver.url)
    # A 500, then no answer in time, then 500s: every kind of failure counts.
    receiver.answer_with(500, HANG, 500)
    _open(db, world, clock)
    tries, took = _fail_for_a_day(db, settings, receiver, clock)
    # The waits worked out by hand: 30 s doubling while under 6 h (30 ... 15,360 s: ten waits,
    # 30,690 s in all, so the 11th try is at 8.5 h), then 6 h each (14.5 h, 20.5 h), the last
    # try at the end of the 24 hours: 14 tries.
    waits = [30 * 2**n for n in range(10)]
    elapsed, expected = 0, 1
    while elapsed < 24 * 3600:
        wait = waits[expected - 1] if expected <= len(waits) else 6 * 3600
        elapsed = min(elapsed + wait, 24 * 3600)
        expected += 1
    assert tries == expected == 14
    assert took == timedelta(hours=24)
    assert len(receiver.received) == tries
    route = _route(db, route_id)
    assert not route.enabled
    assert route.disabled_reason == "every try for 24 hours failed (last answer: 500)"
    with db.unit_of_work(readonly=True) as session:
        told = session.execute(
            select(Notification.person_id, Notification.message)
            .where(Notification.kind == "integration_disabled")
            .order_by(Notification.person_id)
        ).all()
        assert sorted(p for p, _ in told) == sorted([world.people["ada"], dan])
        assert any("Dan" in m and "Slack" in m for p, m in told if p == world.people["ada"])
        (event,) = session.scalars(
            select(Event).where(Event.kind == "chat_channel_switched_off")
        ).all()
        assert (event.person_id, event.actor_id) == (dan, None)
        assert event.payload["reason"] == route.disabled_reason
        states = chat.channel_states(session, world.actor(session, "ada"))
    (state,) = [s for s in states if s.id == route_id]
    errors = [e for _, e in state.last_errors]
    assert errors
    assert errors[0].startswith("500")
    # Off: a new change queues nothing for the channel, and nothing is posted.
    _open(db, world, clock)
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(ChatPost)) == 1
    assert post_due(db, settings, clock() + timedelta(days=2)) == 0


def test_a_post_that_got_through_before_the_failing_one_was_queued_does_not_keep_it_on(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    route_id = _my_channel(db, world, clock, "dan", receiver.url)
    _open(db, world, clock)
    assert post_due(db, settings, clock()) == 1  # got through
    receiver.answer_with(500)
    clock.advance(minutes=1)
    _open(db, world, clock)
    _fail_for_a_day(db, settings, receiver, clock)
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).where(ChatPost.state == "failed")) == 1
    # The only success came before the given-up post was queued: every try since failed.
    assert not _route(db, route_id).enabled


def test_a_channel_that_got_a_post_through_since_the_failed_one_was_queued_stays_on(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    route_id = _my_channel(db, world, clock, "dan", receiver.url)
    receiver.answer_with(500)
    _open(db, world, clock)
    assert post_due(db, settings, clock()) == 1  # the first post fails
    receiver.answer_with(200)
    _open(db, world, clock)
    assert post_due(db, settings, clock()) == 1  # a later one gets through
    receiver.answer_with(500)
    _fail_for_a_day(db, settings, receiver, clock)
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).where(ChatPost.state == "failed")) == 1
    assert _route(db, route_id).enabled


def test_only_an_admin_switches_on_a_channel_the_desk_switched_off(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    route_id = _my_channel(db, world, clock, "dan", receiver.url)
    with db.unit_of_work() as session:
        with pytest.raises(Conflict, match="already on"):
            chat.switch_on(session, world.actor(session, "ada"), route_id, clock())
        chat.remove_my_channel(session, world.actor(session, "dan"))
    with db.unit_of_work() as session:
        with pytest.raises(Conflict, match="owner turned"):
            chat.switch_on(session, world.actor(session, "ada"), route_id, clock())
        route = session.get(ChatRoute, route_id)
        assert route is not None
        chat.switch_off_for_failure(session, route, "every try failed", clock())
    with db.unit_of_work() as session, pytest.raises(NotAllowed):
        chat.switch_on(session, world.actor(session, "lee"), route_id, clock())


def test_an_admin_switches_a_channel_on_through_the_api_and_the_page_audited(
    db: Database,
    world: World,
    clock: Clock,
    live_server: LiveServer,
    tokens: dict[str, str],
) -> None:
    routes = []
    for handle in ("dan", "cleo"):
        routes.append(_my_channel(db, world, clock, handle, f"http://127.0.0.1:9/{handle}"))
    with db.unit_of_work() as session:
        for route_id in routes:
            route = session.get(ChatRoute, route_id)
            assert route is not None
            chat.switch_off_for_failure(session, route, "every try for 24 hours failed", clock())
    ada, cleo = live_server.client(tokens["ada"]), live_server.client(tokens["cleo"])
    assert cleo.get("/admin/chat/channels").status_code == 403
    listed = ada.get("/admin/chat/channels")
    assert listed.status_code == 200
    off = {c["id"]: c for c in listed.json()}
    assert off[routes[0]]["enabled"] is False
    assert off[routes[0]]["disabled_reason"] == "every try for 24 hours failed"
    assert off[routes[0]]["host"] == "127.0.0.1"
    assert cleo.post(f"/admin/chat/channels/{routes[0]}/switch-on").status_code == 403
    missing = ada.post("/admin/chat/channels/999999/switch-on")
    assert missing.status_code == 404
    assert missing.json()["field"] == "channel_id"
    on = ada.post(f"/admin/chat/channels/{routes[0]}/switch-on")
    assert on.status_code == 200, on.text
    assert (on.json()["enabled"], on.json()["disabled_reason"]) == (True, None)
    assert ada.post(f"/admin/chat/channels/{routes[0]}/switch-on").status_code == 409
    # Its owner's own page says why it is off.
    owner = Visitor(live_server.base_url)
    assert owner.sign_in("cleo").status_code == 303
    assert "The desk switched this channel off: every try for 24 hours failed" in (
        owner.get("/account/chat").text
    )
    owner.close()
    # The page: the channel still off is listed with why, and its button switches it on.
    page = Visitor(live_server.base_url)
    assert page.sign_in("ada").status_code == 303
    shown = page.get("/admin/chat")
    assert shown.status_code == 200
    assert "Cleo" in shown.text
    assert "every try for 24 hours failed" in shown.text
    assert page.post(f"/admin/chat/{routes[1]}/switch-on", {}).status_code == 303
    assert _route(db, routes[1]).enabled
    # Both audited in the admin's name, and shown under Recent changes.
    with db.unit_of_work(readonly=True) as session:
        switched_on = [
            (e.actor_id, e.payload["channel_id"], e.payload["was"])
            for e in session.scalars(
                select(Event).where(Event.kind == "chat_channel_switched_on").order_by(Event.id)
            )
        ]
    was = "every try for 24 hours failed"
    assert switched_on == [
        (world.people["ada"], routes[0], was),
        (world.people["ada"], routes[1], was),
    ]
    admin_page = page.get("/admin").text
    assert "channel switched on again (it was off: every try for 24 hours failed)" in admin_page
    page.close()


def test_an_admin_lists_the_channels_and_switches_one_on_from_the_command_line(
    db: Database, world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_DATABASE_URL", db.url)
    route_id = _my_channel(db, world, clock, "dan", "http://127.0.0.1:9/dan")
    with db.unit_of_work() as session:
        route = session.get(ChatRoute, route_id)
        assert route is not None
        chat.switch_off_for_failure(session, route, "every try for 24 hours failed", clock())
    listed = runner.invoke(app, ["webhooks", "chat-channels", "--by", "ada"])
    assert listed.exit_code == 0, listed.output
    assert "Dan Duty" in listed.output
    assert "off: every try for 24 hours failed" in listed.output
    not_admin = runner.invoke(app, ["webhooks", "chat-on", str(route_id), "--by", "lee"])
    assert not_admin.exit_code == 2
    assert "--by" in not_admin.output
    missing = runner.invoke(app, ["webhooks", "chat-on", "999999", "--by", "ada"])
    assert missing.exit_code == 2
    assert "channel_id" in missing.output
    on = runner.invoke(app, ["webhooks", "chat-on", str(route_id), "--by", "ada"])
    assert on.exit_code == 0, on.output
    assert "Dan Duty's own Slack channel is on again" in on.output
    assert _route(db, route_id).enabled
    with db.unit_of_work(readonly=True) as session:
        actors = list(
            session.scalars(select(Event.actor_id).where(Event.kind == "chat_channel_switched_on"))
        )
    assert actors == [world.people["ada"]]
    again = runner.invoke(app, ["webhooks", "chat-on", str(route_id), "--by", "ada"])
    assert again.exit_code == 2
    assert "already on" in again.output
