"""The notification choices page and API, and the unsubscribe link, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail.compose import unsubscribe_token
from followthrough.mail.preferences import Delivery, Preference
from followthrough.mail.preferences_service import preference_of, save_preference
from tests.conftest import Clock, LiveServer, serving
from tests.factories import World
from tests.mail.helpers import SECRET
from tests.web.pages import Visitor


@pytest.fixture
def server(db: Database, world: World, clock: Clock) -> Iterator[LiveServer]:
    with serving(db, clock, secret_key=SECRET) as live:
        yield live


@pytest.fixture
def dan(server: LiveServer) -> Iterator[Visitor]:
    visitor = Visitor(server.base_url)
    assert visitor.sign_in("dan").status_code == 303
    yield visitor
    visitor.close()


def _token(person_id: int, kind: str) -> str:
    return unsubscribe_token(Settings(secret_key=SECRET), person_id, kind)


def test_the_profile_links_to_the_choices_which_save_and_show_again(
    db: Database, world: World, dan: Visitor
) -> None:
    assert 'href="/profile/notifications"' in dan.get("/profile").text
    page = dan.get("/profile/notifications")
    assert page.status_code == 200
    assert "Requests offered to me" in page.text
    form = {f"kind:{kind}": "at_once" for kind in ("offer", "note")}
    form.update({"kind:note": "off", "kind:feedback": "daily_digest"})
    form.update(quiet="on", quiet_start="21:30", quiet_end="06:15", digest_at="17:45")
    saved = dan.post("/profile/notifications", form)
    assert saved.status_code == 303
    with db.unit_of_work(readonly=True) as session:
        chosen = preference_of(session, world.people["dan"])
    assert chosen.for_kind("note") is Delivery.OFF
    assert chosen.for_kind("feedback") is Delivery.DAILY_DIGEST
    assert chosen.for_kind("offer") is Delivery.AT_ONCE
    assert chosen.quiet is not None
    assert (str(chosen.quiet.start), str(chosen.quiet.end)) == ("21:30:00", "06:15:00")
    again = dan.get("/profile/notifications").text
    assert 'value="21:30"' in again
    assert 'value="17:45"' in again


def test_a_bad_time_is_named_beside_its_field_and_nothing_is_saved(
    db: Database, world: World, dan: Visitor
) -> None:
    response = dan.post(
        "/profile/notifications",
        {"kind:note": "off", "quiet": "on", "quiet_start": "25:00", "quiet_end": "06:00",
         "digest_at": "08:00"},
    )  # fmt: skip
    assert response.status_code == 422
    assert 'id="choices-quiet_start-error"' in response.text
    assert "Quiet from" in response.text
    with db.unit_of_work(readonly=True) as session:
        assert preference_of(session, world.people["dan"]) == Preference()


def test_the_api_reads_and_replaces_the_callers_choices(
    server: LiveServer, tokens: dict[str, str]
) -> None:
    with server.client(tokens["dan"]) as http:
        got = http.get("/me/notification-choices")
        assert got.status_code == 200, got.text
        before = got.json()
        assert set(before["kinds"].values()) == {"at_once"}
        assert before["quiet_hours"] is None
        body = {
            "kinds": {"note": "off", "update_posted": "daily_digest"},
            "quiet_hours": {"start": "22:00", "end": "07:00"},
            "digest_at": "09:30",
        }
        after = http.put("/me/notification-choices", json=body).json()
        assert after["kinds"]["note"] == "off"
        assert after["kinds"]["update_posted"] == "daily_digest"
        assert after["kinds"]["offer"] == "at_once"
        assert after["quiet_hours"] == {"start": "22:00", "end": "07:00"}
        assert http.get("/me/notification-choices").json() == after
        wrong = http.put("/me/notification-choices", json={"kinds": {"gossip": "off"}})
        assert wrong.status_code == 422
        assert wrong.headers["content-type"].startswith("application/problem+json")
        assert "kinds" in wrong.text
        bad_time = http.put(
            "/me/notification-choices",
            json={"quiet_hours": {"start": "7 pm", "end": "07:00"}},
        )
        assert bad_time.status_code == 422
        assert "start" in bad_time.text


def test_the_unsubscribe_link_asks_first_then_turns_that_kind_off(
    db: Database, world: World, server: LiveServer
) -> None:
    dan_id = world.people["dan"]
    visitor = Visitor(server.base_url)  # not signed in: the link alone is enough
    try:
        path = f"/mail/unsubscribe/{_token(dan_id, 'escalation')}"
        asked = visitor.get(path)
        assert asked.status_code == 200
        assert "Escalations" in asked.text
        with db.unit_of_work(readonly=True) as session:
            assert preference_of(session, dan_id).for_kind("escalation") is Delivery.AT_ONCE
        done = visitor.post(path, {}, csrf=False)
        assert done.status_code == 200
        assert "no longer get mail" in done.text
        with db.unit_of_work(readonly=True) as session:
            assert preference_of(session, dan_id).for_kind("escalation") is Delivery.OFF
    finally:
        visitor.close()


def test_one_click_unsubscribe_as_mail_clients_post_it(
    db: Database, world: World, server: LiveServer
) -> None:
    dan_id = world.people["dan"]
    with db.unit_of_work() as session:
        save_preference(session, dan_id, Preference(by_kind={"feedback": Delivery.DAILY_DIGEST}))
    visitor = Visitor(server.base_url)
    try:
        response = visitor.http.post(
            f"/mail/unsubscribe/{_token(dan_id, 'digest')}",
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
    finally:
        visitor.close()
    with db.unit_of_work(readonly=True) as session:
        assert preference_of(session, dan_id).for_kind("feedback") is Delivery.OFF


@pytest.mark.parametrize(
    "token_for",
    [
        lambda person: _token(person, "escalation")[:-3] + "AAA",  # signature changed
        lambda person: _token(person, "escalation").replace(f"{person}.", f"{person + 1}.", 1),
        lambda person: "nonsense",
    ],
)
def test_a_forged_or_broken_link_changes_nothing(
    db: Database, world: World, server: LiveServer, token_for: object
) -> None:
    dan_id = world.people["dan"]
    token = token_for(dan_id)  # type: ignore[operator]
    visitor = Visitor(server.base_url)
    try:
        assert visitor.get(f"/mail/unsubscribe/{token}").status_code == 404
        assert visitor.post(f"/mail/unsubscribe/{token}", {}, csrf=False).status_code == 404
    finally:
        visitor.close()
    with db.unit_of_work(readonly=True) as session:
        assert preference_of(session, dan_id) == Preference()
        assert preference_of(session, dan_id + 1) == Preference()
