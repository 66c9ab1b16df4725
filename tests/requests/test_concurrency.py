"""Several people and processes at once, on PostgreSQL: one winner, nothing fired twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.org import service as org
from followthrough.promises import service as promises
from followthrough.requests import service
from followthrough.requests.models import Offer, Request
from followthrough.requests.service import NewRequest
from followthrough.sweeper.service import sweep
from tests.conftest import Clock, at_once, issue_tokens, serving
from tests.factories import World, build_world

pytestmark = pytest.mark.postgres

CLERKS = [f"clerk{i}" for i in range(8)]


@pytest.fixture
def crowded_world(pg_db: Database) -> World:
    with pg_db.unit_of_work() as session:
        world = build_world(session)
        for handle in CLERKS:
            person = org.add_person(session, handle, handle.title(), f"{handle}@example.com")
            org.add_member(session, world.teams["admin"], person.id)
            world.people[handle] = person.id
    return world


def test_concurrent_answers_to_one_offer_over_http_have_exactly_one_winner(
    pg_db: Database, crowded_world: World
) -> None:
    clock = Clock()
    tokens = issue_tokens(pg_db, crowded_world, clock)
    with serving(pg_db, clock) as live:
        clients = {h: live.client(tokens[h]) for h in CLERKS}
        asha = live.client(tokens["asha"])

        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(
            racers=st.lists(
                st.tuples(st.sampled_from(CLERKS), st.booleans()),
                min_size=2,
                max_size=8,
                unique_by=lambda r: r[0],
            )
        )
        def race(racers: list[tuple[str, bool]]) -> None:
            opened = asha.post(
                "/requests",
                json={
                    "title": "race",
                    "need": "n",
                    "service_id": crowded_world.services["correct_policy"],
                },
            ).json()
            rid, oid = opened["id"], opened["offers"][0]["id"]
            calls: list[Callable[[], httpx.Response]] = []
            for handle, accepts in racers:
                client = clients[handle]
                if accepts:
                    calls.append(lambda c=client: c.post(f"/requests/{rid}/offers/{oid}/accept"))
                else:
                    calls.append(
                        lambda c=client: c.post(
                            f"/requests/{rid}/offers/{oid}/decline", json={"reason": "busy"}
                        )
                    )
            answers = at_once(calls)
            statuses = [a.status_code for a in answers]
            assert statuses.count(200) == 1, statuses
            winner_index = statuses.index(200)
            winner, accepted = racers[winner_index]
            # The others lost: the offer is no longer open (409) — or, when a decline won, the
            # intake went on to the triage team, out of their sight, and the access rule
            # answers as if it did not exist (404).
            lost = {409} if accepted else {409, 404}
            assert all(s in lost for i, s in enumerate(statuses) if i != winner_index), [
                a.text for a in answers
            ]
            with pg_db.unit_of_work(readonly=True) as session:
                offer = session.get(Offer, oid)
                request = session.get(Request, rid)
                assert offer is not None
                assert request is not None
                assert offer.state == ("accepted" if accepted else "declined")
                assert offer.answered_by_id == crowded_world.people[winner]
                # A declined intake goes to the triage team's duty owner (its lead, tess).
                expected_owner = (
                    crowded_world.people[winner] if accepted else crowded_world.people["tess"]
                )
                assert request.owner_id == expected_owner
                answers_recorded = session.scalar(
                    select(func.count())
                    .select_from(Event)
                    .where(Event.request_id == rid, Event.kind.in_(("accepted", "declined")))
                )
                assert answers_recorded == 1

        race()


def test_several_sweepers_at_once_fire_each_due_item_exactly_once(pg_db: Database) -> None:
    clock = Clock()
    with pg_db.unit_of_work() as session:
        world = build_world(session)
    with pg_db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        for i in range(40):
            request = service.open_request(
                session,
                cleo,
                NewRequest(title=f"r{i}", need="n", service_id=world.services["correct_policy"]),
                clock.now,
            )
            intake = service.open_offer_of(session, request.id)
            assert intake is not None
            service.accept_offer(session, cleo, request.id, intake.id, clock.now)
            promises.make_promise(
                session, cleo, request.id, "call", clock.now + timedelta(minutes=10 + i), clock.now
            )
    later = clock.advance(days=3)
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            sweep(pg_db, later)
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)

    def sweep_at_once() -> None:
        threads = [threading.Thread(target=sweeper) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []

    sweep_at_once()
    with pg_db.unit_of_work(readonly=True) as session:
        # Three days late, every update is reminded now and none escalated in the same pass:
        # an escalation waits half a cadence after its reminder.
        first_pass = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "update_escalated")
        )
    assert first_pass == 0
    later = clock.advance(days=1)
    sweep_at_once()
    with pg_db.unit_of_work(readonly=True) as session:
        broken = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "promise_broken")
        )
        reminded = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "update_reminded")
        )
        escalated = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "update_escalated")
        )
    assert broken == 40
    assert reminded == 40
    assert escalated == 40
