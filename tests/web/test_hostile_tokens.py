"""Tokens and cursors the desk signs or encodes itself, forged with digits `str.isdigit` takes but
`int` refuses ("²") or signatures that are not ASCII: the unsubscribe link (signed out) and the
search API's cursor answer 404 and 422, never a 500."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail.compose import unsubscribe_token
from followthrough.mail.models import NotificationChoice
from tests.conftest import Clock, serving
from tests.factories import World

FORGED = ["²", "١٢", "²" * 18, "1" * 19]


def test_a_forged_unsubscribe_token_is_not_found(db: Database, clock: Clock) -> None:
    with serving(db, clock, secret_key="k" * 40) as live:
        client = live.client()
        for person in FORGED:
            path = f"{live.base_url}/mail/unsubscribe/{person}.digest.forged"
            assert client.get(path).status_code == 404, person
            assert client.post(path).status_code in (403, 404), person


def test_an_unsubscribe_signature_that_is_not_ascii_is_not_found(
    db: Database, world: World, clock: Clock
) -> None:
    secret = "k" * 40
    genuine = unsubscribe_token(
        Settings(database_url=db.url, secret_key=secret), world.people["asha"], "offer"
    )
    person_kind, _, signature = genuine.rpartition(".")
    forged = [
        f"{person_kind}.{signature}é",
        f"{person_kind}.{signature[:-1]}é",
        f"{person_kind}.{'😀' * 32}",
        f"{person_kind}.\u00a0",
    ]
    with serving(db, clock, secret_key=secret) as live:
        client = live.client()
        for token in forged:
            path = f"{live.base_url}/mail/unsubscribe/{token}"
            assert client.get(path).status_code == 404, token
            assert client.post(path).status_code == 404, token
        with db.unit_of_work(readonly=True) as session:
            choices = session.scalar(select(func.count()).select_from(NotificationChoice))
        assert choices == 0
        # The genuine link still works.
        assert client.post(f"{live.base_url}/mail/unsubscribe/{genuine}").status_code == 200


def test_a_forged_search_cursor_is_refused_naming_it(
    db: Database, world: World, clock: Clock, tokens: dict[str, str]
) -> None:
    with serving(db, clock) as live:
        asha = live.client(tokens["asha"])
        for number in [*FORGED, "1" * 5000, str(2**64)]:
            cursor = base64.urlsafe_b64encode(f"o:{number}".encode()).decode().rstrip("=")
            answer = asha.get(
                "/search", params={"q": "policy", "kind": "requests", "cursor": cursor}
            )
            assert answer.status_code == 422, (number[:20], answer.text[:300])
            assert answer.json()["field"] == "cursor"
