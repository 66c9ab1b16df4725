"""Random sequences of operations keep the product's promises about ownership and history.

After every step: exactly one accountable owner (the one our model predicts), at most one open
offer, no event lost (a success writes its event, a refusal writes nothing), clocks never
negative, and states consistent with their timestamps.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.errors import DomainError
from followthrough.history.models import Event
from followthrough.promises import service as promises
from followthrough.promises.models import Promise
from followthrough.requests import rules, service
from followthrough.requests.access import may_read, visibility_clause
from followthrough.requests.models import Offer, PathStep, Request
from followthrough.requests.service import NewRequest
from followthrough.sweeper.service import sweep
from tests.conftest import T0, _reset_postgres
from tests.factories import World

HANDLES = ["asha", "lee", "dan", "cleo", "carl", "hana", "otto", "tess"]
TEAMS = ["claims", "admin", "hr", "triage"]


def run_machine(db: Database, reset: Callable[[], None], world: World) -> None:
    class Desk(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            reset()
            self.world: World = world
            self.now: datetime = T0
            self.owners: dict[int, int] = {}
            self.events = 0

        def _count_events(self) -> int:
            with db.unit_of_work(readonly=True) as session:
                return int(session.scalar(select(func.count()).select_from(Event)) or 0)

        def _attempt(self, action: object, expect_kind: str | None) -> bool:
            """Run an action in one transaction; a refusal must leave no trace."""
            before = self._count_events()
            try:
                with db.unit_of_work() as session:
                    assert callable(action)
                    action(session)
            except DomainError:
                assert self._count_events() == before, "a refused action wrote history"
                return False
            after = self._count_events()
            assert after > before, "a successful action wrote no history"
            if expect_kind is not None:
                with db.unit_of_work(readonly=True) as session:
                    kinds = set(session.scalars(select(Event.kind).where(Event.id > before)))
                assert expect_kind in kinds
            return True

        def _actor(self, session, handle: str):  # type: ignore[no-untyped-def]
            return self.world.actor(session, handle)

        @initialize()
        def start(self) -> None:
            self.events = self._count_events()

        @rule(
            handle=st.sampled_from(HANDLES),
            service_key=st.sampled_from(["correct_policy", "claim_review", None]),
        )
        def open_request(self, handle: str, service_key: str | None) -> None:
            def act(session):  # type: ignore[no-untyped-def]
                service_id = None if service_key is None else self.world.services[service_key]
                new = NewRequest(title="t", need="n", service_id=service_id)
                request = service.open_request(session, self._actor(session, handle), new, self.now)
                self.owners[request.id] = request.owner_id

            self._attempt(act, "opened")

        def _requests(self) -> list[int]:
            return sorted(self.owners)

        @precondition(lambda self: bool(self.owners))
        @rule(
            data=st.data(),
            handle=st.sampled_from(HANDLES),
            team=st.sampled_from(TEAMS),
            to_person=st.booleans(),
        )
        def offer(self, data: st.DataObject, handle: str, team: str, to_person: bool) -> None:
            rid = data.draw(st.sampled_from(self._requests()))
            person = data.draw(st.sampled_from(HANDLES)) if to_person else None

            def act(session):  # type: ignore[no-untyped-def]
                service.offer_request(
                    session,
                    self._actor(session, handle),
                    rid,
                    self.world.teams[team],
                    None if person is None else self.world.people[person],
                    "note",
                    self.now,
                )

            self._attempt(act, "offered")

        def _open_offers(self) -> list[tuple[int, int]]:
            with db.unit_of_work(readonly=True) as session:
                return [
                    (o.request_id, o.id)
                    for o in session.scalars(
                        select(Offer).where(Offer.state == "open").order_by(Offer.id)
                    )
                ]

        @rule(data=st.data(), handle=st.sampled_from(HANDLES))
        def accept(self, data: st.DataObject, handle: str) -> None:
            offers = self._open_offers()
            if not offers:
                return
            rid, oid = data.draw(st.sampled_from(offers))

            def act(session):  # type: ignore[no-untyped-def]
                actor = self._actor(session, handle)
                service.accept_offer(session, actor, rid, oid, self.now)

            if self._attempt(act, "accepted"):
                self.owners[rid] = self.world.people[handle]

        @rule(
            data=st.data(),
            handle=st.sampled_from(HANDLES),
            reason=st.sampled_from(["", "not ours"]),
        )
        def decline(self, data: st.DataObject, handle: str, reason: str) -> None:
            offers = self._open_offers()
            if not offers:
                return
            rid, oid = data.draw(st.sampled_from(offers))
            expected = self._owner_after_declining(rid, oid)
            if self._attempt(
                lambda session: service.decline_offer(
                    session, self._actor(session, handle), rid, oid, reason, self.now
                ),
                "declined",
            ):
                self.owners[rid] = expected

        def _owner_after_declining(self, rid: int, oid: int) -> int:
            """A declined handoff stays with its owner. A declined intake goes to the triage
            team's duty owner (tess, its lead) unless triage declines it or it has been there;
            then back to the requester."""
            with db.unit_of_work(readonly=True) as session:
                offer = session.get(Offer, oid)
                request = session.get(Request, rid)
                assert offer is not None
                assert request is not None
                if offer.kind != "intake":
                    return request.owner_id
                path = set(
                    session.scalars(select(PathStep.team_id).where(PathStep.request_id == rid))
                )
                triage = self.world.teams["triage"]
                if offer.to_team_id != triage and triage not in path:
                    return self.world.people["tess"]
                return request.requester_id

        @precondition(lambda self: bool(self.owners))
        @rule(data=st.data(), handle=st.sampled_from([*HANDLES, "ada"]))
        def withdraw(self, data: st.DataObject, handle: str) -> None:
            rid = data.draw(st.sampled_from(self._requests()))
            with db.unit_of_work(readonly=True) as session:
                request = session.get(Request, rid)
                assert request is not None
                withdrawn = request.state == rules.WITHDRAWN
            if withdrawn:
                # Withdrawing it again changes nothing and writes nothing (or is refused).
                before = self._count_events()
                try:
                    with db.unit_of_work() as session:
                        service.withdraw_request(
                            session, self._actor(session, handle), rid, "again", self.now
                        )
                except DomainError:
                    pass
                assert self._count_events() == before
                return
            # Whoever withdraws it (or fails to), the owner does not change.
            self._attempt(
                lambda session: service.withdraw_request(
                    session, self._actor(session, handle), rid, "not needed", self.now
                ),
                None,
            )

        @precondition(lambda self: len(self.owners) >= 2)
        @rule(data=st.data(), handle=st.sampled_from(HANDLES))
        def merge(self, data: st.DataObject, handle: str) -> None:
            duplicate, into = data.draw(
                st.lists(st.sampled_from(self._requests()), min_size=2, max_size=2, unique=True)
            )
            self._attempt(
                lambda session: service.merge_requests(
                    session, self._actor(session, handle), duplicate, into, "same", self.now
                ),
                None,
            )

        @precondition(lambda self: bool(self.owners))
        @rule(
            data=st.data(),
            handle=st.sampled_from(HANDLES),
            action=st.sampled_from(
                [
                    "update",
                    "clarify",
                    "answer",
                    "wait",
                    "resume",
                    "resolve",
                    "confirm",
                    "reopen",
                    "promise",
                ]
            ),
        )
        def act_on_request(self, data: st.DataObject, handle: str, action: str) -> None:
            rid = data.draw(st.sampled_from(self._requests()))
            now = self.now

            def act(session):  # type: ignore[no-untyped-def]
                actor = self._actor(session, handle)
                if action == "update":
                    service.post_update(session, actor, rid, "progress", now)
                elif action == "clarify":
                    service.ask_clarification(session, actor, rid, "which one?", now)
                elif action == "answer":
                    service.answer_clarification(session, actor, rid, "this one", now)
                elif action == "wait":
                    service.start_waiting(session, actor, rid, "outside", "broker", now)
                elif action == "resume":
                    service.resume(session, actor, rid, now)
                elif action == "resolve":
                    service.resolve_request(session, actor, rid, "done", now)
                elif action == "confirm":
                    service.confirm_resolution(session, actor, rid, now)
                elif action == "reopen":
                    service.reopen_request(session, actor, rid, "not done", now)
                else:
                    promises.make_promise(
                        session, actor, rid, "call back", now + timedelta(hours=1), now
                    )

            self._attempt(act, None)

        @rule(data=st.data())
        def keep_a_promise(self, data: st.DataObject) -> None:
            with db.unit_of_work(readonly=True) as session:
                open_ = [
                    (p.request_id, p.id, p.made_by_id)
                    for p in session.scalars(select(Promise).where(Promise.state == "open"))
                ]
            if not open_:
                return
            rid, pid, maker = data.draw(st.sampled_from(open_))
            handle = next(h for h, i in self.world.people.items() if i == maker)
            self._attempt(
                lambda session: promises.keep_promise(
                    session, self._actor(session, handle), rid, pid, "called", self.now
                ),
                None,
            )

        @rule(hours=st.integers(0, 40))
        def time_passes_and_the_sweeper_runs(self, hours: int) -> None:
            self.now += timedelta(hours=hours)
            sweep(db, self.now)

        @invariant()
        def exactly_one_accountable_owner(self) -> None:
            with db.unit_of_work(readonly=True) as session:
                for request in session.scalars(select(Request)):
                    assert request.owner_id == self.owners[request.id]
                    open_offers = session.scalar(
                        select(func.count())
                        .select_from(Offer)
                        .where(Offer.request_id == request.id, Offer.state == "open")
                    )
                    assert open_offers is not None
                    assert open_offers <= 1
                    if request.state not in rules.OPEN_STATES:
                        assert open_offers == 0

        @invariant()
        def one_request_and_the_list_agree_on_who_may_see_it(self) -> None:
            with db.unit_of_work(readonly=True) as session:
                everything = list(session.scalars(select(Request)))
                for handle in HANDLES:
                    actor = self._actor(session, handle)
                    listed = set(
                        session.scalars(select(Request.id).where(visibility_clause(actor)))
                    )
                    one_by_one = {r.id for r in everything if may_read(session, actor, r)}
                    assert listed == one_by_one, handle

        @invariant()
        def clocks_never_negative_and_states_match_times(self) -> None:
            with db.unit_of_work(readonly=True) as session:
                for request in session.scalars(select(Request)):
                    assert request.paused_business_seconds >= 0
                    assert (
                        request.resolve_due_at is None
                        or request.resolve_due_at >= request.opened_at
                    )
                    if request.next_update_due_at is not None:
                        assert request.next_update_due_at >= request.opened_at
                    assert (request.state in rules.PAUSED_STATES) == (
                        request.clock_paused_at is not None
                    )
                    assert (request.state in (rules.RESOLVED, rules.CLOSED)) == (
                        request.resolved_at is not None
                    )
                    # Withdrawn and merged requests are closed too, never resolved.
                    ended = request.state in rules.UNRESOLVED_ENDS
                    assert (request.state == rules.CLOSED or ended) == (
                        request.closed_at is not None
                    )
                    assert (request.merged_into_id is not None) == (request.state == rules.MERGED)
                    assert (request.state == rules.NEW) == (
                        request.accepted_at is None
                    ) or request.state in rules.PAUSED_STATES | rules.UNRESOLVED_ENDS
                    if request.state in (rules.RESOLVED, rules.CLOSED) or ended:
                        assert request.next_update_due_at is None
                for promise in session.scalars(select(Promise)):
                    assert promise.due_at > promise.made_at
                    if promise.state == "kept":
                        assert promise.done_at is not None
                        assert promise.done_at <= promise.due_at

    Desk.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    Desk.TestCase().runTest()


@pytest.mark.slow
def test_random_operation_sequences_keep_ownership_and_history_consistent(
    db: Database, world: World, request: pytest.FixtureRequest
) -> None:
    # Every example starts from the world the test was given: the worker's world file copied
    # again (SQLite) or the world's rows put back (PostgreSQL), not rebuilt through the services.
    if db.is_sqlite:
        template, _ = request.getfixturevalue("sqlite_world")

        def reset() -> None:
            db.dispose()  # every connection closed, so no write-ahead log outlives the file
            shutil.copy(template, db.url.removeprefix("sqlite:///"))
    else:
        rows = request.getfixturevalue("pg_world").rows

        def reset() -> None:
            _reset_postgres(db, rows)

    run_machine(db, reset, world)
