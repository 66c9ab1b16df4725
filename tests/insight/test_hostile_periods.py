"""The insight pages' periods over real HTTP with days and instants no calendar the desk plans in
holds, for viewers either side of UTC: the page says so beside the field (422), never a 500 nor
a page that counts out centuries week by week; a decision on such a period stores nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.insight.models import Recognition
from followthrough.org.models import Person
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.web.pages import Visitor

ODD_DAYS = ["0001-01-01", "9999-12-31", "1969-12-31", "2200-01-01"]
ODD_INSTANTS = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00+14:00",
    "9999-12-31T23:59-23:59",
    "9999-12-31T23:59:59.999999-23:59",
]
# Far east and far west of UTC: the first and last days Python holds overflow on one or other.
ZONES = {"carl": "Pacific/Kiritimati", "asha": "Pacific/Pago_Pago"}


@pytest.fixture
def viewers(live_server: LiveServer, world: World, db: Database) -> Iterator[list[Visitor]]:
    with db.unit_of_work() as session:
        for handle, zone in ZONES.items():
            session.get(Person, world.people[handle]).timezone = zone  # type: ignore[union-attr]
    people = []
    for handle in ZONES:
        person = Visitor(live_server.base_url)
        assert person.sign_in(handle).status_code == 303
        people.append(person)
    yield people
    for person in people:
        person.close()


def test_a_period_outside_the_years_the_desk_plans_in_is_refused_beside_its_field(
    world: World, viewers: list[Visitor]
) -> None:
    claims, admin = world.teams["claims"], world.teams["admin"]
    pages = [
        "/insight/scorecards",
        f"/insight/scorecards/team/{claims}",
        "/insight/silo",
        "/insight/recognitions",
        f"/insight/review/{claims}/{admin}",
        f"/insight/ripple/teams/{claims}",
    ]
    for person in viewers:
        for path in pages:
            for field in ("start", "end"):
                for day in ODD_DAYS:
                    answer = person.get(path, params={field: day})
                    assert answer.status_code == 422, (path, field, day, answer.text[:300])
        # The list of scorecards has the period's fields: the message is beside them.
        for field, label in (("start", "From"), ("end", "Until")):
            answer = person.get(pages[0], params={field: ODD_DAYS[0]})
            assert f'id="{field}-error"' in answer.text
            assert f"“{label}” must be a date between 1970 and 2199" in answer.text
        for day in ODD_DAYS:
            assert person.get("/insight/digest", params={"week": day}).status_code == 422
        assert person.get(pages[1], params={"start": "2026-01-05"}).status_code == 200


def test_a_recognition_on_a_period_no_calendar_holds_stores_nothing(
    db: Database, world: World, clock: Clock, viewers: list[Visitor]
) -> None:
    carl = viewers[0]
    decision = {
        "decision": "confirm",
        "person_id": str(world.people["asha"]),
        "reason": "promises kept",
        "period_start": "2026-02-01T00:00:00+00:00",
        "period_end": "2026-03-01T00:00:00+00:00",
    }
    for field in ("period_start", "period_end"):
        for instant in ODD_INSTANTS:
            answer = carl.post("/insight/recognitions", {**decision, field: instant})
            assert answer.status_code == 422, (field, instant, answer.text[:300])
    for person in ("²", "1" * 5000, str(2**64), ""):
        answer = carl.post("/insight/recognitions", {**decision, "person_id": person})
        assert answer.status_code == 422, (person[:20], answer.text[:300])
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Recognition)) == 0


def test_a_page_without_the_periods_fields_says_at_the_top_why_it_shows_another_period(
    world: World, viewers: list[Visitor]
) -> None:
    claims, admin = world.teams["claims"], world.teams["admin"]
    for path in [
        f"/insight/scorecards/team/{claims}",
        "/insight/silo",
        "/insight/recognitions",
        f"/insight/review/{claims}/{admin}",
        f"/insight/ripple/teams/{claims}",
    ]:
        answer = viewers[0].get(path, params={"start": "2026-02-30"})
        assert answer.status_code == 422, path
        assert "must be a date like 2026-11-01. Showing the last 30 days instead." in answer.text, (
            path
        )


def test_a_digest_week_that_cannot_be_read_keeps_the_page_on_this_week_and_says_why(
    viewers: list[Visitor],
) -> None:
    for week in ("2026-13-01", "9999-12-31"):
        answer = viewers[0].get("/insight/digest", params={"week": week})
        assert answer.status_code == 422
        assert "The week from" in answer.text
        assert "Showing this week instead." in answer.text
