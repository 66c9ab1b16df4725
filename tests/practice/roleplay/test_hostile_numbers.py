"""The role plays' forms over real HTTP with numbers `str.isdigit` takes but `int` refuses ("²"),
more digits than `int` reads, and numbers no column holds: refused beside the field (422),
nothing written, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.practice.roleplay.live_models import LiveMark, LiveMember, LiveSession
from followthrough.practice.roleplay.models import RolePlayTurn
from tests.conftest import LiveServer
from tests.factories import World
from tests.web.pages import Visitor

ODD_NUMBERS = ["²", "١٢", "1" * 5000, str(2**64), "-1", "1.5", "99999"]
LIVE = "/practice/role-plays/live"


def _count(db: Database, model: Any) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def people(live_server: LiveServer, world: World) -> Iterator[dict[str, Visitor]]:
    signed_in = {}
    for handle in ("asha", "carl"):
        signed_in[handle] = Visitor(live_server.base_url)
        assert signed_in[handle].sign_in(handle).status_code == 303
    yield signed_in
    for person in signed_in.values():
        person.close()


def test_a_turn_or_choice_that_is_not_a_small_whole_number_is_refused(
    db: Database, people: dict[str, Visitor]
) -> None:
    asha = people["asha"]
    started = asha.post("/practice/role-plays/start", {"scenario": "bad-day"})
    assert started.status_code == 303
    attempt = started.headers["location"]
    for field in ("turn", "choice"):
        for value in ODD_NUMBERS:
            answer = asha.post(f"{attempt}/turns", {"turn": "0", "choice": "0", field: value})
            assert answer.status_code == 422, (field, value[:20], answer.text[:300])
    assert _count(db, RolePlayTurn) == 0


def test_a_live_session_refuses_odd_numbers_for_cohort_group_and_turn(
    db: Database, people: dict[str, Visitor]
) -> None:
    asha, carl = people["asha"], people["carl"]
    for value in ODD_NUMBERS:
        answer = carl.post(LIVE, {"scenario": "bad-day", "cohort_id": value})
        assert answer.status_code in (404, 422), (value[:20], answer.text[:300])
    assert _count(db, LiveSession) == 0
    opened = carl.post(LIVE, {"scenario": "bad-day"})
    assert opened.status_code == 303
    live = opened.headers["location"]
    with db.unit_of_work(readonly=True) as session:
        code = session.scalars(select(LiveSession.code)).one()
    members = _count(db, LiveMember)
    for value in ODD_NUMBERS:
        answer = asha.post(f"{LIVE}/join", {"code": code, "group": value, "role": "customer"})
        assert answer.status_code == 422, (value[:20], answer.text[:300])
        assert 'id="group-error"' in answer.text, value[:20]
        answer = carl.post(f"{live}/marks", {"kind": "note", "turn": value, "text": "Good"})
        assert answer.status_code == 422, (value[:20], answer.text[:300])
        answer = carl.post(f"{live}/turns", {"turn": value, "choice": "0"})
        assert answer.status_code in (403, 422), (value[:20], answer.text[:300])
    assert _count(db, LiveMember) == members
    assert _count(db, LiveMark) == 0
    assert carl.get(live).status_code == 200
