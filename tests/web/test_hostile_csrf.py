"""Anti-forgery tokens sent with characters that are not ASCII (a form field, the X-CSRF-Token
header, the sign-in and join forms' double-submit tokens and their cookies, a game team's form): the form is
refused as one that did not come from the desk (403) and nothing is written — never a 500 from
comparing the token — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from followthrough.attachments.models import Attachment
from followthrough.db import Database
from followthrough.notes.models import InternalNote
from followthrough.practice.models import GameTeam
from followthrough.requests.service import NewRequest, open_request
from tests.conftest import Clock, LiveServer, serving
from tests.factories import World
from tests.web.pages import SIGNIN, Visitor

# Not ASCII: accented, from another script, an emoji, and latin-1 bytes as a header carries them.
NOT_ASCII = ["é", "Ω" * 32, "😀", "tok\u00a0en"]
JOIN = re.compile(r'name="join_token" value="([^"]+)"')


def _count(db: Database, model: Any) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _request(db: Database, world: World, clock: Clock) -> int:
    with db.unit_of_work() as session:
        return open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(
                title="Policy P-100 has the wrong address",
                need="Correct the address so claim C-1 can be paid",
                service_id=world.services["correct_policy"],
            ),
            clock.now,
        ).id


@pytest.fixture
def dan(db: Database, world: World, clock: Clock, tmp_path: Path) -> Iterator[Visitor]:
    with serving(db, clock, attachment_folder=tmp_path / "files") as live:
        person = Visitor(live.base_url)
        assert person.sign_in("dan").status_code == 303
        yield person
        person.close()


def test_a_form_token_that_is_not_ascii_is_refused_and_writes_nothing(
    db: Database, world: World, clock: Clock, dan: Visitor
) -> None:
    request_id = _request(db, world, clock)
    for token in NOT_ASCII:
        note = dan.post(f"/requests/{request_id}/notes", {"body": "x", "csrf_token": token})
        assert note.status_code == 403, (token, note.text[:300])
        upload = dan.http.post(
            f"/requests/{request_id}/attachments",
            data={"csrf_token": token},
            files={"file": ("a.txt", b"hello", "text/plain")},
        )
        assert upload.status_code == 403, (token, upload.text[:300])
        no_file = dan.http.post(f"/requests/{request_id}/attachments", data={"csrf_token": token})
        assert no_file.status_code == 403, (token, no_file.text[:300])
        sign_out = dan.post("/sign-out", {"csrf_token": token})
        assert sign_out.status_code == 403, (token, sign_out.text[:300])
    header = dan.http.post(
        f"/requests/{request_id}/notes",
        data={"body": "x"},
        headers={"X-CSRF-Token": "é".encode("latin-1")},  # type: ignore[dict-item]
    )
    assert header.status_code == 403, header.text[:300]
    assert _count(db, InternalNote) == 0
    assert _count(db, Attachment) == 0
    # Still signed in (the sign-out was refused), and the real token still works.
    assert dan.get(f"/requests/{request_id}").status_code == 200
    assert dan.post(f"/requests/{request_id}/notes", {"body": "x"}).status_code == 303


def test_a_sign_in_token_or_cookie_that_is_not_ascii_is_an_expired_form(
    world: World, live_server: LiveServer
) -> None:
    for token in NOT_ASCII:
        with httpx.Client(base_url=live_server.base_url, timeout=30) as browser:
            found = SIGNIN.search(browser.get("/sign-in").text)
            assert found
            form = {"handle": "asha", "password": "x", "signin_token": token}
            answer = browser.post("/sign-in", data=form)
            assert answer.status_code == 403, (token, answer.text[:300])
            assert "The sign-in form expired" in answer.text
            assert "ft_session" not in answer.headers.get("set-cookie", "")
        # The cookie is as much the sender's choice as the field.
        answer = httpx.post(
            f"{live_server.base_url}/sign-in",
            data={"handle": "asha", "password": "x", "signin_token": "abc"},
            headers={"Cookie": f"ft_signin={token}".encode()},  # type: ignore[dict-item]
            timeout=30,
        )
        assert answer.status_code == 403, (token, answer.text[:300])
        assert "The sign-in form expired" in answer.text


def test_a_join_or_team_token_that_is_not_ascii_is_refused(
    db: Database, world: World, live_server: LiveServer
) -> None:
    lead = Visitor(live_server.base_url)
    try:
        assert lead.sign_in("lee").status_code == 303
        game = {
            "title": "Hostile join",
            "scenario": "professional_services",
            "teams": "Blue\nGreen",
            "rounds": "2",
            "days_per_round": "14",
            "budget_per_round": "50000",
            "replications": "1",
        }
        assert lead.post("/practice/new", game).status_code == 303
    finally:
        lead.close()
    with db.unit_of_work(readonly=True) as session:
        code = session.scalar(select(GameTeam.code).where(GameTeam.name == "Blue"))
    assert code
    with httpx.Client(base_url=live_server.base_url, timeout=30) as browser:
        joined = JOIN.search(browser.get("/play").text)
        assert joined
        for token in NOT_ASCII:
            answer = browser.post("/play", data={"code": code, "join_token": token})
            assert answer.status_code == 403, (token, answer.text[:300])
            assert "ft_team" not in browser.cookies
        answer = browser.post("/play", data={"code": code, "join_token": joined.group(1)})
        assert answer.status_code == 303
        # Joined: the team's own forms refuse a token that is not ASCII the same way.
        for token in NOT_ASCII:
            decided = browser.post(
                "/play/team/decisions", data={"csrf_token": token, "buddy_system": "on"}
            )
            assert decided.status_code == 403, (token, decided.text[:300])
