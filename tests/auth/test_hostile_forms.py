"""The sign-in, new password and API token pages with values the API already refused, on SQLite
and PostgreSQL alike.

A password longer than the desk takes anywhere: the new password page set one (which the API's
sign-in then refused for good) and the sign-in page hashed it. Now every way in takes at most
MAX_PASSWORD_LENGTH characters: the pages refuse a longer one beside the password field (422),
and nothing is hashed, set or counted. A token's name longer than its column: SQLite kept it and
PostgreSQL answered an error page; now it is refused beside the field and nothing is written."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from followthrough.auth.models import ApiToken, FailedAttempt, PasswordReset
from followthrough.auth.passwords import MAX_PASSWORD_LENGTH, hash_password
from followthrough.db import Database
from followthrough.errors import InvalidInput
from followthrough.org import admin
from followthrough.org.models import Person
from tests.conftest import Clock, LiveServer
from tests.factories import PASSWORD, World
from tests.web.pages import SIGNIN, Visitor

TOO_LONG = "correct horse battery staple " * 7  # 203 characters
assert len(TOO_LONG) > MAX_PASSWORD_LENGTH


def test_hashing_refuses_a_password_longer_than_any_form_takes() -> None:
    with pytest.raises(InvalidInput) as refused:
        hash_password(TOO_LONG)
    assert refused.value.field == "password"


def test_the_new_password_page_refuses_a_password_the_sign_in_would_refuse(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    with db.unit_of_work() as session:
        secret, _ = admin.issue_password_reset(
            session, world.actor(session, "ada"), world.people["asha"], clock.now
        )
        before = session.get(Person, world.people["asha"])
        assert before is not None
        old_hash = before.password_hash
    with httpx.Client(base_url=live_server.base_url, timeout=30) as pages:
        form = {"token": secret, "password": TOO_LONG, "repeat": TOO_LONG}
        answer = pages.post("/password-reset", data=form)
        assert answer.status_code == 422, answer.text[:300]
        assert 'id="reset-password-error"' in answer.text
        assert f"at most {MAX_PASSWORD_LENGTH} characters" in answer.text
    with db.unit_of_work(readonly=True) as session:
        person = session.get(Person, world.people["asha"])
        assert person is not None
        assert person.password_hash == old_hash
        unused = session.scalar(
            select(func.count()).select_from(PasswordReset).where(PasswordReset.used_at.is_(None))
        )
        assert unused == 1  # the link still works, for a password that fits


def test_the_sign_in_page_refuses_a_password_longer_than_any_that_can_be_set(
    db: Database, world: World, live_server: LiveServer
) -> None:
    with httpx.Client(base_url=live_server.base_url, timeout=30) as browser:
        token = SIGNIN.search(browser.get("/sign-in").text)
        assert token
        for password in (TOO_LONG, "p" * 500_000):
            form = {"handle": "asha", "password": password, "signin_token": token.group(1)}
            answer = browser.post("/sign-in", data=form)
            assert answer.status_code == 422, answer.text[:300]
            assert 'id="signin-password-error"' in answer.text
            assert f"at most {MAX_PASSWORD_LENGTH} characters" in answer.text
            assert "ft_session" not in answer.headers.get("set-cookie", "")
        with db.unit_of_work(readonly=True) as session:
            assert session.scalar(select(func.count()).select_from(FailedAttempt)) == 0
        form = {"handle": "asha", "password": PASSWORD, "signin_token": token.group(1)}
        assert browser.post("/sign-in", data=form).status_code == 303


def test_a_token_name_longer_than_the_api_takes_is_refused_beside_it(
    db: Database, world: World, live_server: LiveServer
) -> None:
    asha = Visitor(live_server.base_url)
    try:
        assert asha.sign_in("asha").status_code == 303
        for name in ("x" * 121, "é" * 121, "claims sync " * 1000):
            answer = asha.post("/account/tokens", {"name": name})
            assert answer.status_code == 422, (len(name), answer.text[:300])
            assert 'id="token-name-error"' in answer.text
            assert "at most 120 characters" in answer.text
        with db.unit_of_work(readonly=True) as session:
            assert session.scalar(select(func.count()).select_from(ApiToken)) == 0
        made = asha.post("/account/tokens", {"name": "claims system sync"})
        assert made.status_code == 200
        assert "ft_" in made.text
    finally:
        asha.close()
