"""A NUL character typed into the sign-in, new password, internal note and action link forms:
PostgreSQL cannot keep one, so every page form refuses it before anything runs (422). The page
that says so now names the field it was in (it said only "must not contain a NUL"), and nothing
is written, no one is signed in and no link is used — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from followthrough.auth.models import FailedAttempt, PasswordReset, WebSession
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.links.models import UsedActionLink
from followthrough.links.rules import LinkAction
from followthrough.links.service import action_link
from followthrough.notes.models import InternalNote
from followthrough.org import admin
from tests.conftest import Clock, serving
from tests.factories import World, open_offered_fix
from tests.links.conftest import SECRET
from tests.web.pages import SIGNIN, Visitor


def _count(db: Database, model: Any) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _said(answer: httpx.Response) -> str:
    """The words of the page's main part."""
    main = answer.text.split("<main", 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def _refused(answer: httpx.Response, label: str) -> None:
    assert answer.status_code == 422, answer.text[:300]
    assert f"\u201c{label}\u201d must not contain a NUL" in _said(answer), _said(answer)[:300]


def test_a_nul_in_the_sign_in_and_new_password_forms_is_refused_naming_the_field(
    db: Database, world: World, clock: Clock
) -> None:
    with db.unit_of_work() as session:
        secret, _ = admin.issue_password_reset(
            session, world.actor(session, "ada"), world.people["asha"], clock.now
        )
    with (
        serving(db, clock) as live,
        httpx.Client(base_url=live.base_url, timeout=30) as browser,
    ):
        token = SIGNIN.search(browser.get("/sign-in").text)
        assert token
        form = {"handle": "asha", "password": "x", "signin_token": token.group(1)}
        _refused(browser.post("/sign-in", data={**form, "handle": "as\x00ha"}), "Handle")
        _refused(browser.post("/sign-in", data={**form, "password": "a\x00"}), "Password")
        new = {"token": secret, "password": "a new\x00secret", "repeat": "a new\x00secret"}
        _refused(browser.post("/password-reset", data=new), "Password")
    assert _count(db, WebSession) == 0
    assert _count(db, FailedAttempt) == 0
    with db.unit_of_work(readonly=True) as session:
        unused = select(func.count()).select_from(PasswordReset)
        assert session.scalar(unused.where(PasswordReset.used_at.is_(None))) == 1


def test_a_nul_in_a_note_or_an_action_links_words_is_refused_naming_the_field(
    db: Database, world: World, clock: Clock
) -> None:
    with db.unit_of_work() as session:
        request_id, offer_id = open_offered_fix(session, world, clock())
    with serving(db, clock, secret_key=SECRET) as live:
        dan = Visitor(live.base_url)
        try:
            assert dan.sign_in("dan").status_code == 303
            _refused(dan.post(f"/requests/{request_id}/notes", {"body": "a\x00b"}), "Body")
        finally:
            dan.close()
        settings = Settings(database_url=db.url, secret_key=SECRET, public_url=live.base_url)
        link = action_link(
            settings, world.people["cleo"], LinkAction.DECLINE_OFFER, offer_id, clock()
        )
        assert link is not None
        with httpx.Client(base_url=live.base_url, timeout=30) as client:
            path = urlsplit(link).path
            _refused(client.post(path, data={"words": "Not ours\x00"}), "Words")
            assert client.get(path).status_code == 200  # still usable
    assert _count(db, InternalNote) == 0
    assert _count(db, UsedActionLink) == 0
