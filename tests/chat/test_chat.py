"""Chat: addresses checked, Slack and Teams shapes, posts to a real local receiver (SQLite and
PostgreSQL) — one per change, a person's with their one action link, their preferences kept."""

from __future__ import annotations

from datetime import time, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from followthrough.chat import service as chat
from followthrough.chat.delivery import post_due
from followthrough.chat.formats import PostContent, slack_message, teams_message
from followthrough.chat.outbox import TEAM_CHANGES
from followthrough.chat.rules import Platform, url_problem
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.links.rules import LinkAction
from followthrough.links.service import claims_of
from followthrough.mail.preferences import Delivery, Preference, QuietHours
from followthrough.mail.preferences_service import save_preference
from followthrough.notify.models import Notification
from followthrough.requests.models import Offer
from tests.conftest import Clock, LiveServer
from tests.factories import World, open_wrong_address
from tests.web.pages import Visitor
from tests.webhooks.receiver import Receiver

SLACK = "https://hooks.slack.com/services/T000/B000/XXXX"
TEAMS = "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x"


def test_only_slack_and_teams_webhook_addresses_are_taken() -> None:
    assert url_problem(Platform.SLACK, SLACK) is None
    assert url_problem(Platform.TEAMS, TEAMS) is None
    assert (
        url_problem(
            Platform.TEAMS,
            "https://abc.environment.api.powerplatform.com/powerautomate/workflows/1",
        )
        is None
    )
    assert "hooks.slack.com" in (
        url_problem(Platform.SLACK, "https://evil.example/services/x") or ""
    )
    assert "Workflows" in (url_problem(Platform.TEAMS, SLACK) or "")
    assert "https://" in (url_problem(Platform.SLACK, "http://hooks.slack.com/services/x") or "")
    assert url_problem(Platform.SLACK, "http://127.0.0.1:9/x") is not None
    assert url_problem(Platform.SLACK, "http://127.0.0.1:9/x", any_host=True) is None
    assert url_problem(Platform.SLACK, "javascript:alert(1)", any_host=True) is not None


CONTENT = PostContent(
    headline="Offered to Policy Admin <urgent> & more",
    request_title="#7 Wrong address",
    request_url="https://desk.example/requests/7",
    facts=(("State", "new"), ("Owner", "Dan Duty")),
    actions=(
        ("Accept", "https://desk.example/act/abc.def"),
        ("Decline", "https://desk.example/act/ghi.jkl"),
    ),
)


def test_slack_gets_block_kit_with_a_plain_text_fallback() -> None:
    message = slack_message(CONTENT)
    assert message["text"] == (
        "Offered to Policy Admin <urgent> & more #7 Wrong address https://desk.example/requests/7"
    )
    section, context, actions = message["blocks"]
    assert section["type"] == "section"
    assert section["text"]["type"] == "mrkdwn"
    # Slack's markup characters are escaped in what we write, so a title cannot make a link.
    assert "&lt;urgent&gt; &amp; more" in section["text"]["text"]
    assert "<https://desk.example/requests/7|#7 Wrong address>" in section["text"]["text"]
    assert [e["text"] for e in context["elements"]] == ["State: new", "Owner: Dan Duty"]
    assert [(b["text"]["text"], b["url"]) for b in actions["elements"]] == [
        ("Accept", "https://desk.example/act/abc.def"),
        ("Decline", "https://desk.example/act/ghi.jkl"),
        ("Open the request", "https://desk.example/requests/7"),
    ]
    assert [b.get("style") for b in actions["elements"]] == ["primary", None, None]


def test_teams_gets_an_adaptive_card_in_the_workflows_envelope() -> None:
    message = teams_message(CONTENT)
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    # Every text is a run of a RichTextBlock, which reads no Markdown: what people typed (a
    # title, a name) is shown as typed, never as a link or formatting.
    assert [block["type"] for block in card["body"]] == ["RichTextBlock"] * 4
    runs = [[(r["text"], r.get("weight")) for r in block["inlines"]] for block in card["body"]]
    assert runs == [
        [(CONTENT.headline, None)],
        [(CONTENT.request_title, "Bolder")],
        [("State: ", "Bolder"), ("new", None)],
        [("Owner: ", "Bolder"), ("Dan Duty", None)],
    ]
    assert [(a["type"], a["title"], a["url"]) for a in card["actions"]] == [
        ("Action.OpenUrl", "Accept", "https://desk.example/act/abc.def"),
        ("Action.OpenUrl", "Decline", "https://desk.example/act/ghi.jkl"),
        ("Action.OpenUrl", "Open the request", "https://desk.example/requests/7"),
    ]


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(
        database_url=db.url,
        secret_key="chat test secret",
        public_url="https://desk.example",
        chat_allow_any_host=True,
    )


def _open(db: Database, world: World, clock: Clock) -> int:
    with db.unit_of_work() as session:
        return open_wrong_address(session, world, clock())


def test_a_teams_channel_gets_one_post_per_change_without_personal_links(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    admin = world.teams["admin"]
    with db.unit_of_work() as session:
        chat.set_team_channel(
            session,
            world.actor(session, "lee"),
            admin,
            "slack",
            receiver.url,
            clock(),
            any_host=True,
        )
    request_id = _open(db, world, clock)
    with db.unit_of_work() as session:
        expected = [
            e.kind
            for e in session.scalars(
                select(Event).where(Event.request_id == request_id).order_by(Event.id)
            )
            if e.kind in TEAM_CHANGES and admin in (e.team_id, e.other_team_id)
        ]
    assert expected
    assert post_due(db, settings, clock()) == len(expected)
    assert len(receiver.received) == len(expected)
    for message in receiver.received:
        body = message.json()
        assert "Wrong address" in body["text"]
        buttons = body["blocks"][-1]["elements"]
        assert [b["text"]["text"] for b in buttons] == ["Open the request"]
    # Nothing twice: a second pass finds nothing.
    assert post_due(db, settings, clock() + timedelta(minutes=5)) == 0
    assert len(receiver.received) == len(expected)


def test_a_persons_channel_gets_their_notifications_with_their_one_action(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    people = ("cleo", "dan", "lee")
    with db.unit_of_work() as session:
        for handle in people:
            chat.set_my_channel(
                session,
                world.actor(session, handle),
                "teams",
                f"{receiver.url}/{handle}",
                clock(),
                any_host=True,
            )
    request_id = _open(db, world, clock)
    ids = {world.people[h]: h for h in people}
    with db.unit_of_work() as session:
        notified = list(
            session.scalars(
                select(Notification)
                .where(Notification.person_id.in_(ids))
                .order_by(Notification.id)
            )
        )
        offer = session.scalar(select(Offer).where(Offer.request_id == request_id))
        assert offer is not None
    assert "offer" in {n.kind for n in notified}
    assert post_due(db, settings, clock()) == len(notified)
    by_path = sorted(urlsplit(m.path).path.rsplit("/", 1)[1] for m in receiver.received)
    assert by_path == sorted(ids[n.person_id] for n in notified)
    for message in receiver.received:
        handle = message.path.rsplit("/", 1)[1]
        card = message.json()["attachments"][0]["content"]
        answers = [a for a in card["actions"] if a["title"] in ("Accept", "Decline")]
        # Whoever may answer the offer gets links to accept it or decline it, made for them.
        kinds = [n.kind for n in notified if ids[n.person_id] == handle]
        if "offer" in kinds:
            assert [a["title"] for a in answers] == ["Accept", "Decline"]
            made = []
            for button in answers:
                token = urlsplit(button["url"]).path.rsplit("/", 1)[1]
                claims = claims_of(settings, token, clock())
                assert claims.person_id == world.people[handle]
                assert claims.target_id == offer.id
                made.append(claims.action)
            assert made == [LinkAction.ACCEPT_OFFER, LinkAction.DECLINE_OFFER]
        else:
            assert answers == []


def test_a_kind_turned_off_is_not_posted_and_quiet_hours_hold_it(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    dan = world.people["dan"]  # the duty owner: told of every request offered to his team
    with db.unit_of_work() as session:
        chat.set_my_channel(
            session, world.actor(session, "dan"), "slack", receiver.url, clock(), any_host=True
        )
        save_preference(session, dan, Preference(by_kind={"offer": Delivery.OFF}))
    _open(db, world, clock)
    with db.unit_of_work() as session:
        told = list(session.scalars(select(Notification.kind).where(Notification.person_id == dan)))
    assert told == ["offer"]
    assert post_due(db, settings, clock()) == 0
    assert receiver.received == []
    # Offers at once again, but quiet from 08:00 to 10:00 on his clock (UTC); it is 09:00.
    with db.unit_of_work() as session:
        save_preference(session, dan, Preference(quiet=QuietHours(time(8), time(10))))
    _open(db, world, clock)
    assert post_due(db, settings, clock()) == 0
    assert post_due(db, settings, clock() + timedelta(minutes=59)) == 0
    assert post_due(db, settings, clock() + timedelta(hours=1)) == 1
    assert len(receiver.received) == 1
    assert post_due(db, settings, clock() + timedelta(hours=2)) == 0


def test_a_failing_channel_is_tried_again_and_posts_once(
    db: Database, world: World, clock: Clock, receiver: Receiver, settings: Settings
) -> None:
    admin = world.teams["admin"]
    with db.unit_of_work() as session:
        chat.set_team_channel(
            session,
            world.actor(session, "ada"),
            admin,
            "teams",
            receiver.url,
            clock(),
            any_host=True,
        )
    request_id = _open(db, world, clock)
    with db.unit_of_work() as session:
        expected = sum(
            1
            for e in session.scalars(select(Event).where(Event.request_id == request_id))
            if e.kind in TEAM_CHANGES and admin in (e.team_id, e.other_team_id)
        )
    receiver.answer_with(500)
    assert post_due(db, settings, clock()) == expected
    receiver.answer_with(202)  # Teams Workflows answers 202 Accepted
    assert post_due(db, settings, clock() + timedelta(seconds=29)) == 0
    assert post_due(db, settings, clock() + timedelta(seconds=30)) == expected
    assert post_due(db, settings, clock() + timedelta(hours=1)) == 0
    assert len(receiver.received) == 2 * expected


def test_the_channel_pages_check_the_address_and_who_may(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    cleo = Visitor(live_server.base_url)
    assert cleo.sign_in("cleo").status_code == 303
    assert cleo.get("/account/chat").status_code == 200
    bad = cleo.post("/account/chat", {"platform": "slack", "url": "https://example.com/hook"})
    assert bad.status_code == 422
    assert "not a Slack incoming webhook address" in bad.text
    good = cleo.post("/account/chat", {"platform": "slack", "url": SLACK})
    assert good.status_code == 303
    assert "Now posting to Slack" in cleo.get("/account/chat").text
    assert cleo.get(f"/teams/{world.teams['admin']}/chat").status_code == 403
    lee = Visitor(live_server.base_url)
    assert lee.sign_in("lee").status_code == 303
    saved = lee.post(f"/teams/{world.teams['admin']}/chat", {"platform": "teams", "url": TEAMS})
    assert saved.status_code == 303
    assert "Now posting to Microsoft Teams" in lee.get(f"/teams/{world.teams['admin']}/chat").text
    off = lee.post(f"/teams/{world.teams['admin']}/chat", {"remove": "true"})
    assert off.status_code == 303
    assert "Now posting" not in lee.get(f"/teams/{world.teams['admin']}/chat").text
    cleo.close()
    lee.close()
