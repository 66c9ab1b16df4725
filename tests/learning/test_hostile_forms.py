"""The training programme's forms over real HTTP with values a person or a fuzzer might send:
each is refused beside its field (422) and writes nothing, never a 500; the pages still show
after, for a lead on either side of UTC."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.learning import service
from followthrough.learning.models import (
    Attendance,
    CohortMember,
    CompetencyEvidence,
    LearningCohort,
    LearningSession,
    PlanItem,
)
from followthrough.org.models import Person
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.web.pages import Visitor

# Digits `str.isdigit` takes but `int` refuses, more digits than `int` reads, and numbers no
# column holds.
ODD_WHOLE_NUMBERS = ["²", "1" * 5000, str(2**31), str(2**63), str(2**64), "-1", "1.5", ""]
# Times no calendar the desk plans in holds: typed on the viewer's clock, or with an offset of
# their own (these skip the viewer's clock and reached the database, or overflowed on the way).
ODD_TIMES = [
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00+14:00",
    "9999-12-31T23:59-23:59",
    "5000-01-01T12:00Z",
]


def _count(db: Database, model: Any) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def lee(live_server: LiveServer, world: World, db: Database) -> Iterator[Visitor]:
    with db.unit_of_work() as session:
        # A lead west of UTC: year 1 read on her clock is before the first instant Python holds.
        session.get(Person, world.people["lee"]).timezone = "Pacific/Pago_Pago"  # type: ignore[union-attr]
    person = Visitor(live_server.base_url)
    assert person.sign_in("lee").status_code == 303
    yield person
    person.close()


@pytest.fixture
def cohort(db: Database, world: World, clock: Clock) -> tuple[int, int]:
    """(module, cohort) with cleo enrolled."""
    with db.unit_of_work() as session:
        module = service.seed_catalog(session, clock.now)["Communication"]
        cohort = service.open_cohort(session, module, "Spring", world.people["lee"], clock.now)
        service.enrol(session, cohort, world.people["cleo"], clock.now)
    return module, cohort


def test_a_number_no_column_holds_is_refused_beside_its_field(
    db: Database, world: World, lee: Visitor, cohort: tuple[int, int]
) -> None:
    module, cohort_id = cohort
    cleo = str(world.people["cleo"])
    forms: list[tuple[str, dict[str, str], str, str]] = [
        ("/learning/cohorts", {"module": str(module), "name": "Autumn"}, "module", "cohort"),
        (f"/learning/cohorts/{cohort_id}/members", {"person": cleo}, "person", "member"),
        (f"/learning/cohorts/{cohort_id}/completions", {"person": cleo}, "person", "complete"),
        ("/learning/plans", {"module": str(module), "for": f"person:{cleo}"}, "module", "plan"),
        (
            "/learning/evidence",
            {"person": cleo, "block": "own", "score": "3"},
            "person",
            "evidence",
        ),
    ]
    for path, form, field, name in forms:
        for value in ODD_WHOLE_NUMBERS:
            answer = lee.post(path, {**form, field: value})
            assert answer.status_code == 422, (path, value[:20], answer.text[:300])
            if name != "complete":  # a button beside each member: no field to show it by
                assert f'id="{name}-{field}-error"' in answer.text, (path, value[:20])
    plan = {"module": str(module), "due_at": ""}
    for value in ODD_WHOLE_NUMBERS:
        for whom in (f"person:{value}", f"team:{value}"):
            answer = lee.post("/learning/plans", {**plan, "for": whom})
            assert answer.status_code == 422, (whom[:20], answer.text[:300])
            assert 'id="plan-for-error"' in answer.text
    assert _count(db, LearningCohort) == 1
    assert _count(db, CohortMember) == 1
    assert _count(db, PlanItem) == 0
    assert _count(db, CompetencyEvidence) == 0


@pytest.mark.parametrize("when", ODD_TIMES)
def test_a_session_outside_the_years_the_desk_plans_in_is_refused(
    db: Database, lee: Visitor, cohort: tuple[int, int], when: str
) -> None:
    _, cohort_id = cohort
    path = f"/learning/cohorts/{cohort_id}/sessions"
    fine = {"starts_at": "2026-03-10T10:00", "ends_at": "2026-03-10T11:00"}
    for field in ("starts_at", "ends_at"):
        answer = lee.post(path, {**fine, field: when})
        assert answer.status_code == 422, (field, answer.text[:300])
        assert f'id="session-{field}-error"' in answer.text
    due = lee.post("/learning/plans", {"module": "1", "for": "team:1", "due_at": when})
    assert due.status_code == 422, due.text[:300]
    assert _count(db, LearningSession) == 0
    assert _count(db, PlanItem) == 0
    assert lee.get(f"/learning?cohort={cohort_id}").status_code == 200


def test_attendance_for_ids_no_column_holds_is_ignored(
    db: Database, world: World, clock: Clock, lee: Visitor, cohort: tuple[int, int]
) -> None:
    _, cohort_id = cohort
    lee.post(
        f"/learning/cohorts/{cohort_id}/sessions",
        {"starts_at": "2026-03-02T08:00", "ends_at": "2026-03-02T09:00"},
    )
    with db.unit_of_work(readonly=True) as session:
        session_id = session.scalars(select(LearningSession.id)).one()
    for value in ODD_WHOLE_NUMBERS:
        form = {"cohort": value, "member": value, "present": value}
        answer = lee.post(f"/learning/sessions/{session_id}/attendance", form)
        assert answer.status_code in (303, 422), (value[:20], answer.text[:300])
    assert _count(db, Attendance) == 0
    assert lee.get("/learning").status_code == 200


def test_a_cohort_name_longer_than_its_column_is_refused_beside_the_field(
    db: Database, lee: Visitor, cohort: tuple[int, int]
) -> None:
    module, _ = cohort
    before = _count(db, LearningCohort)
    answer = lee.post("/learning/cohorts", {"module": str(module), "name": "Spring wave " * 20})
    assert answer.status_code == 422
    assert 'id="cohort-name-error"' in answer.text
    assert "at most 120 characters" in answer.text
    assert _count(db, LearningCohort) == before
