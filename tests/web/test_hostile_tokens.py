"""Tokens and cursors the desk signs or encodes itself, forged with digits `str.isdigit` takes but
`int` refuses ("²"): the unsubscribe link (signed out) and the search API's cursor answer 404
and 422, never a 500."""

from __future__ import annotations

import base64

from followthrough.db import Database
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
