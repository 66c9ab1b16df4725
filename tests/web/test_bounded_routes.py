"""Every number a route takes is bounded when the app is built, and pages refuse what no
column can hold, answering 422 rather than 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from followthrough.cases.models import Case
from followthrough.db import Database
from followthrough.requests.models import Request
from followthrough.web.deps import one_unit_of_work
from tests.conftest import LiveServer
from tests.factories import World
from tests.web.pages import Visitor


def test_a_route_with_a_bare_number_parameter_is_refused_when_the_app_is_built() -> None:
    def by_id(case_id: int) -> int:
        return case_id

    def by_hours(threshold_hours: float | None = None) -> float:
        return threshold_hours or 0.0

    for endpoint in (by_id, by_hours):
        with pytest.raises(TypeError, match="bounded type"):
            one_unit_of_work(endpoint)


@pytest.fixture
def lead(live_server: LiveServer, world: World) -> Iterator[Visitor]:
    visitor = Visitor(live_server.base_url)
    assert visitor.sign_in("lee").status_code == 303
    yield visitor
    visitor.close()


@pytest.mark.parametrize(
    "path",
    [
        "/team?team_id=3000000000",
        "/board?team_id=99999999999999999999",
        "/insight/ripple/teams/{admin}?threshold_hours=1e300",
        "/insight/ripple/teams/{admin}?threshold_hours=nan",
        "/insight/ripple/cases/3000000000",
        "/insight/review/3000000000/1",
        "/practice/9223372036854775808",
    ],
)
def test_pages_refuse_numbers_no_column_holds(lead: Visitor, world: World, path: str) -> None:
    answer = lead.get(path.format(admin=world.teams["admin"]))
    assert answer.status_code == 422, answer.text[:300]


def test_a_form_with_a_nul_character_is_refused_and_writes_nothing(
    lead: Visitor, db: Database, world: World
) -> None:
    form = {
        "service_id": str(world.services["correct_policy"]),
        "title": "Policy P-100 has the wrong address",
        "need": "Correct it",
        "new_case_reference": "CLM-\x001",
    }
    answer = lead.post("/requests/new", form)
    assert answer.status_code == 422
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 0
        assert session.scalar(select(func.count()).select_from(Case)) == 0
