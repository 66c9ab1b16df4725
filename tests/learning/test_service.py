"""The training programme on a real database (SQLite and PostgreSQL): a cohort meets, its
members attend and complete, plans and records read back, and the effect report recovers an
effect built into a staggered roll-out."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from followthrough.db import Database
from followthrough.errors import Conflict, InvalidInput, NotFound
from followthrough.feedback.models import Rating
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind
from followthrough.learning import service
from followthrough.org import service as org
from followthrough.practice.roleplay.models import RolePlayAttempt, RolePlayTurn
from followthrough.requests.models import Request
from tests.conftest import T0
from tests.factories import World, build_confidential_story

HOUR = timedelta(hours=1)


def test_a_cohort_meets_attends_and_completes(db: Database, world: World) -> None:
    cleo, asha, carl = world.people["cleo"], world.people["asha"], world.people["carl"]
    with db.unit_of_work() as session:
        catalog = service.seed_catalog(session, T0)
        assert len(catalog) == 7
        assert service.seed_catalog(session, T0) == catalog  # seeding twice adds nothing
        module = catalog["Communication"]
        cohort = service.open_cohort(session, module, "Spring wave", carl, T0)
        first = service.add_session(session, cohort, T0 + HOUR, T0 + 2 * HOUR)
        second = service.add_session(session, cohort, T0 + 24 * HOUR, T0 + 26 * HOUR)
        service.enrol(session, cohort, cleo, T0)
        service.enrol(session, cohort, asha, T0)
        with pytest.raises(Conflict):
            service.enrol(session, cohort, cleo, T0)
        with pytest.raises(InvalidInput):
            service.add_session(session, cohort, T0 + HOUR, T0)
    with db.unit_of_work() as session, pytest.raises(InvalidInput):  # not started yet
        service.record_attendance(session, second, {cleo: True}, carl, T0)
    with db.unit_of_work() as session, pytest.raises(InvalidInput):  # carl is not a member
        service.record_attendance(session, first, {carl: True}, carl, T0 + 2 * HOUR)
    later = T0 + 27 * HOUR
    with db.unit_of_work() as session:
        service.record_attendance(session, first, {cleo: True, asha: True}, carl, T0 + 2 * HOUR)
        service.record_attendance(session, second, {cleo: True, asha: False}, carl, later)
        service.complete(session, cohort, cleo, later)
        with pytest.raises(Conflict):  # asha missed the second session
            service.complete(session, cohort, asha, later)
    with db.unit_of_work() as session, pytest.raises(NotFound):
        service.complete(session, cohort, carl, later)
    with db.unit_of_work(readonly=True) as session:
        (line,) = service.cohorts(session, module)
        assert (line.members, line.completed) == (2, 1)
        assert [present for _, _, _, present in line.sessions] == [2, 1]
        members = {m.name: m for m in service.cohort_members(session, cohort)}
        assert members["Cleo Clerk"].completed_at == later
        assert members["Cleo Clerk"].attended == 2
        assert members["Asha Assessor"].completed_at is None
        assert members["Asha Assessor"].attended == 1
        by_name = {m.name: m for m in service.catalog(session)}
        assert (by_name["Communication"].members, by_name["Communication"].completed) == (2, 1)
        assert by_name["Feedback"].cohorts == 0


def test_plans_for_a_person_and_a_team_show_completion(db: Database, world: World) -> None:
    cleo, lee = world.people["cleo"], world.people["lee"]
    due = T0 + timedelta(days=30)
    with db.unit_of_work() as session:
        catalog = service.seed_catalog(session, T0)
        service.plan(session, catalog["Feedback"], T0, lee, person_id=cleo, due_at=due)
        service.plan(session, catalog["Communication"], T0, lee, team_id=world.teams["admin"])
        with pytest.raises(InvalidInput):
            service.plan(session, catalog["Feedback"], T0, lee)
        cohort = service.open_cohort(session, catalog["Communication"], "A", lee, T0)
        meeting = service.add_session(session, cohort, T0, T0 + HOUR)
        service.enrol(session, cohort, cleo, T0)
        service.record_attendance(session, meeting, {cleo: True}, lee, T0 + HOUR)
        service.complete(session, cohort, cleo, T0 + HOUR)
    with db.unit_of_work(readonly=True) as session:
        lines = {line.module: line for line in service.my_plan(session, cleo)}
        assert lines["Feedback"].due_at == due
        assert lines["Feedback"].completed_at is None
        assert lines["Feedback"].for_team is None
        assert lines["Communication"].for_team == "Policy Admin"
        assert lines["Communication"].completed_at == T0 + HOUR
        assert service.my_plan(session, world.people["otto"]) == []


def test_the_record_keeps_who_rated_and_when(db: Database, world: World) -> None:
    cleo, lee = world.people["cleo"], world.people["lee"]
    with db.unit_of_work() as session:
        service.add_evidence(session, cleo, "own", 4, "observer", lee, T0, "owned the call-back")
        service.add_evidence(session, cleo, "own", 2, "role play", None, T0 + HOUR)
        with pytest.raises(InvalidInput):
            service.add_evidence(session, cleo, "own", 6, "observer", lee, T0)
        with pytest.raises(InvalidInput):
            service.add_evidence(session, cleo, "kindness", 3, "observer", lee, T0)
    with db.unit_of_work(readonly=True) as session:
        record, evidence = service.my_record(session, cleo)
        own = next(line for line in record if line.block == "own")
        assert own.mean == 3.0
        assert own.count == 2
        assert evidence[0].source == "role play"  # newest first
        assert evidence[1].rated_by == "Lee Lead"
        assert evidence[1].rated_at == T0


START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def test_the_effect_report_recovers_a_module_effect(db: Database, world: World) -> None:
    """Twelve people in one team keep promises week by week; two cohorts of four complete the
    module in weeks 8 and 12, which lifts their chance of keeping a promise from 60% to 85%."""
    rng = random.Random(5)
    weeks = 20
    with db.unit_of_work() as session:
        module = service.seed_catalog(session, START)["Communication"]
        department = org.add_department(session, "Keepers")
        team = org.add_team(session, department.id, "Keepers desk")
        people = []
        for n in range(12):
            person = org.add_person(session, f"keeper{n}", f"Keeper {n}", f"k{n}@example.com")
            org.add_member(session, team.id, person.id)
            people.append(person.id)
        done: dict[int, datetime] = {}
        for wave, members in ((8, people[0:4]), (12, people[4:8])):
            at = START + timedelta(weeks=wave - 1)
            cohort = service.open_cohort(session, module, f"Week {wave}", None, at - 2 * HOUR)
            meeting = service.add_session(session, cohort, at - 2 * HOUR, at - HOUR)
            for person_id in members:
                service.enrol(session, cohort, person_id, at - 2 * HOUR)
            service.record_attendance(session, meeting, dict.fromkeys(members, True), None, at)
            for person_id in members:
                service.complete(session, cohort, person_id, at)
                done[person_id] = at
        for person_id in people:
            for week in range(weeks):
                at = START + timedelta(weeks=week, days=2)
                chance = 0.85 if person_id in done and at >= done[person_id] else 0.60
                for promise in range(20):
                    kept = rng.random() < chance
                    session.add(
                        Event(
                            kind=EventKind.PROMISE_KEPT if kept else EventKind.PROMISE_BROKEN,
                            at=at + timedelta(minutes=promise),
                            person_id=person_id,
                            actor_id=person_id,
                            payload={},
                        )
                    )
    with db.unit_of_work(readonly=True) as session:
        report = service.effect_report(session, module, "person", START + timedelta(weeks=weeks))
        with pytest.raises(InvalidInput):
            service.effect_report(session, module, "planet", START)
    kept = next(o for o in report.outcomes if o.outcome.name == "promises_kept")
    assert kept.verdict == "better"
    assert kept.subjects_in == 8
    assert kept.overall is not None
    assert kept.overall.low <= 0.25 <= kept.overall.high
    assert report.completed == 8
    # Nothing else was built in: the other outcomes have nothing to measure here.
    assert all(o.verdict == "too little data" for o in report.outcomes if o is not kept)


def test_a_module_nobody_completed_has_too_little_data(db: Database, world: World) -> None:
    with db.unit_of_work() as session:
        module = service.seed_catalog(session, T0)["Feedback"]
    with db.unit_of_work(readonly=True) as session:
        report = service.effect_report(session, module, "team", T0)
    assert report.completed == 0
    assert {o.verdict for o in report.outcomes} == {"too little data"}


def test_the_record_includes_the_requesters_ratings_of_the_last_90_days(
    db: Database, world: World
) -> None:
    with db.unit_of_work() as session:
        story = build_confidential_story(session, world, T0)
        owner = session.get(Request, story.normal)
        assert owner is not None
        owner_id, requester = owner.owner_id, owner.requester_id
        for request_id, at, scores in ((story.normal, T0 + timedelta(days=1), (5, 4, 3, 2)),):
            u, o, s, c = scores
            session.add(
                Rating(
                    request_id=request_id,
                    rater_id=requester,
                    understand=u,
                    own=o,
                    serve=s,
                    communicate=c,
                    rated_at=at,
                )
            )
    with db.unit_of_work(readonly=True) as session:
        record, evidence = service.my_record(session, owner_id, T0 + timedelta(days=2))
        desk = {e.block: e for e in evidence if e.source == "desk"}
        assert {b: e.score for b, e in desk.items()} == {
            "understand": 5.0,
            "own": 4.0,
            "serve": 3.0,
            "communicate": 2.0,
        }
        assert desk["own"].rated_by == "requesters (1 rating)"
        assert desk["own"].rated_at == T0 + timedelta(days=1)
        assert next(r for r in record if r.block == "serve").mean == 3.0
        # 91 days later the rating is out of the window; without a date it is not read at all.
        later, _ = service.my_record(session, owner_id, T0 + timedelta(days=92))
        assert all(r.count == 0 for r in later)
        assert service.my_record(session, owner_id)[1] == []


def test_a_finished_role_play_is_on_the_record_scored_automatically(
    db: Database, world: World
) -> None:
    cleo = world.people["cleo"]
    ended = T0 + timedelta(minutes=20)
    with db.unit_of_work() as session:
        for finished in (True, False):
            attempt = RolePlayAttempt(
                person_id=cleo,
                scenario_name="missed-call-back",
                scenario_version=1,
                scenario_text="",
                rubric_version="1",
                model_name="rules",
                node="end",
                state={},
                started_at=T0,
                ended_at=ended if finished else None,
            )
            session.add(attempt)
            session.flush()
            for number, blocks in enumerate(
                ({"understand": 1, "own": 1}, {"understand": 0, "own": -1}), 1
            ):
                session.add(
                    RolePlayTurn(
                        attempt_id=attempt.id,
                        number=number,
                        speaker="participant",
                        node="n",
                        kind="reply",
                        text="reply",
                        scores={"blocks": blocks},
                        node_after="n",
                        state_after={},
                        at=T0,
                    )
                )
    with db.unit_of_work(readonly=True) as session:
        record, evidence = service.my_record(session, cleo)
    played = {e.block: e for e in evidence if e.source == "role play"}
    # Only the finished attempt counts: half its replies showed Understand and half Own.
    assert len(played) == 4
    assert played["understand"].score == 3.0
    assert played["own"].score == 3.0
    assert played["serve"].score == 1.0
    assert played["own"].rated_at == ended
    assert played["own"].rated_by is None
    assert played["own"].note == "role play: missed-call-back"
    assert next(r for r in record if r.block == "own").by_source == {"role play": 1}
