"""The programmes' forms over real HTTP with values a person or a fuzzer might send: each is
refused beside its field (422) and writes nothing, never a 500; the pages still show after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.programmes.lunch_models import LunchSession
from followthrough.programmes.shadowing_models import ShadowingSlot
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.web.pages import Visitor

# Digits `str.isdigit` takes but `int` refuses, more digits than `int` reads, and numbers no
# column holds.
ODD_WHOLE_NUMBERS = ["²", "1" * 5000, str(2**63), str(2**64), "9" * 30, "-1", "1.5", "nan", ""]
# Starts no calendar the desk plans in can hold: with and without a zone, either side of UTC.
ODD_STARTS = [
    "9999-12-31T23:59:59.999999-23:59",
    "9999-12-31T23:59Z",
    "9999-12-31T23:00",
    "5000-01-01T12:00",
    "0001-01-01T00:00+14:00",
    "2026-02-30T12:00",
]


@pytest.fixture
def asha(live_server: LiveServer, world: World) -> Iterator[Visitor]:
    person = Visitor(live_server.base_url)
    assert person.sign_in("asha").status_code == 303
    yield person
    person.close()


def _count(db: Database, model: type[LunchSession] | type[ShadowingSlot]) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _lunch(world: World, clock: Clock, **change: str) -> dict[str, str]:
    return {
        "title": "What Claims needs in a payment request",
        "team": str(world.teams["claims"]),
        "starts_at": (clock.now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "minutes": "45",
        "place": "Room 3",
        "capacity": "10",
        **change,
    }


@pytest.mark.parametrize("field", ["team", "minutes", "capacity"])
def test_a_lunch_number_no_column_holds_is_refused_beside_its_field(
    db: Database, world: World, clock: Clock, asha: Visitor, field: str
) -> None:
    for value in ODD_WHOLE_NUMBERS:
        answer = asha.post("/lunch-and-learn", _lunch(world, clock, **{field: value}))
        assert answer.status_code == 422, (value[:20], answer.text[:300])
        assert f'id="propose-{field}-error"' in answer.text, value[:20]
    assert _count(db, LunchSession) == 0
    assert asha.post("/lunch-and-learn", _lunch(world, clock)).status_code == 303


def test_a_lunch_start_outside_the_years_the_desk_plans_in_is_refused(
    db: Database, world: World, clock: Clock, asha: Visitor
) -> None:
    for start in ODD_STARTS:
        answer = asha.post("/lunch-and-learn", _lunch(world, clock, starts_at=start))
        assert answer.status_code == 422, (start, answer.text[:300])
        assert 'id="propose-starts_at-error"' in answer.text, start
    assert _count(db, LunchSession) == 0
    assert asha.get("/lunch-and-learn").status_code == 200


def test_a_place_or_notes_link_too_long_or_with_control_characters_is_refused(
    db: Database, world: World, clock: Clock, asha: Visitor
) -> None:
    answer = asha.post("/lunch-and-learn", _lunch(world, clock, place="R" * 501))
    assert answer.status_code == 422
    assert "keep the place under 500 characters" in answer.text.lower()
    assert asha.post("/lunch-and-learn", _lunch(world, clock)).status_code == 303
    with db.unit_of_work(readonly=True) as session:
        lunch_id = session.scalars(select(LunchSession.id)).one()
    for link in ("https://x.example/\x01", "https://x.example/a\tb", "https://x.example/" * 200):
        answer = asha.post(f"/lunch-and-learn/{lunch_id}/notes", {"notes_link": link})
        assert answer.status_code == 422, repr(link[:30])
    with db.unit_of_work(readonly=True) as session:
        assert session.scalars(select(LunchSession.notes_link)).one() is None


def test_attendance_and_ratings_that_are_not_whole_numbers_are_refused_or_ignored(
    db: Database, world: World, clock: Clock, asha: Visitor
) -> None:
    assert asha.post("/lunch-and-learn", _lunch(world, clock)).status_code == 303
    with db.unit_of_work(readonly=True) as session:
        lunch_id = session.scalars(select(LunchSession.id)).one()
    assert asha.post(f"/lunch-and-learn/{lunch_id}/sign-up", {}).status_code == 303
    clock.advance(days=2, hours=1)
    for value in ("²", "1" * 5000, str(2**64)):
        # Not anyone who could have come: ignored, the others are recorded.
        answer = asha.post(f"/lunch-and-learn/{lunch_id}/attendance", {"came": value})
        assert answer.status_code in (303, 422), (value[:20], answer.text[:300])
        answer = asha.post(f"/lunch-and-learn/{lunch_id}/feedback", {"rating": value})
        assert answer.status_code == 422, (value[:20], answer.text[:300])
    assert asha.get("/lunch-and-learn").status_code == 200


@pytest.mark.parametrize("start", ODD_STARTS)
def test_a_shadowing_slot_outside_the_years_the_desk_plans_in_is_refused(
    db: Database, world: World, live_server: LiveServer, start: str
) -> None:
    cleo = Visitor(live_server.base_url)
    try:
        assert cleo.sign_in("cleo").status_code == 303
        slot = {"team": str(world.teams["admin"]), "starts_at": start, "ends_at": start}
        answer = cleo.post("/shadowing/slots", slot)
        assert answer.status_code == 422, (start, answer.text[:300])
        for value in ODD_WHOLE_NUMBERS:
            answer = cleo.post("/shadowing/slots", {**slot, "team": value})
            assert answer.status_code == 422, (value[:20], answer.text[:300])
        assert cleo.get("/shadowing").status_code == 200
    finally:
        cleo.close()
    assert _count(db, ShadowingSlot) == 0
