"""The demo's lives, replayed through the real services, write the same history.

The demo generator and the services both call the lifecycle's transitions; this test proves
nothing else decides. A small company lives a few hundred requests in memory (handoffs,
declines, bounces, clarifications, waits, sub-requests, promises kept and broken, escalations,
resolutions, reopenings, auto-closes, ratings, withdrawals, duplicates merged, requests filed
under another service). Then every step a person took is replayed, in
time order, through the services against a real database, with the clock set to the step's time
and the sweeper run at every moment the simulated sweeper fired something. Each request's events
(kind, time, actor, team, other team, person, payload), its final row, its people, cases and
promises must come out the same.
A rule changed in one place only (say the auto-close deadline in the services) fails it.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.cases.models import Case, RequestCase
from followthrough.cases.service import add_case
from followthrough.db import Database
from followthrough.demo.company import Company, write_company
from followthrough.demo.generator import demo_password_hash
from followthrough.demo.history import Action, CaseRecord, History, RequestRecord, simulate
from followthrough.feedback import service as feedback
from followthrough.feedback.models import ColleagueFeedback
from followthrough.history.models import Event
from followthrough.notify.models import Notification
from followthrough.org.service import actor_of
from followthrough.promises import service as promises
from followthrough.promises.models import Promise
from followthrough.requests import service
from followthrough.requests.models import Offer, Request, RequestParticipant, RequestUpdate
from followthrough.requests.service import NewRequest, facts_of
from followthrough.sweeper.service import sweep

REQUESTS = 300
SEED = 20261136

EventRow = tuple[str, datetime, int | None, int | None, int | None, int | None, dict[str, Any]]


class Replay:
    """Plays recorded actions through the services, remembering which live row each demo
    record became (by seq)."""

    def __init__(self, db: Database, company: Company, history: History) -> None:
        self.db = db
        self.company = company
        self.history = history
        self.live: dict[int, int] = {}
        # Each request's offers and promises in creation order, to find the live one by place.
        self.offer_place = self._places(history.offers)
        self.promise_place = self._places(history.promises)

    @staticmethod
    def _places(records: list[Any]) -> dict[int, int]:
        seen: Counter[int] = Counter()
        places = {}
        for record in records:
            places[record.seq] = seen[record.request.seq]
            seen[record.request.seq] += 1
        return places

    def _nth(
        self, session: Session, model: type[Offer] | type[Promise], request: int, n: int
    ) -> int:
        ids = list(
            session.scalars(select(model.id).where(model.request_id == request).order_by(model.id))
        )
        return ids[n]

    def run(self, action: Action) -> None:
        with self.db.unit_of_work() as session:
            actor = actor_of(session, action.actor_id)
            getattr(self, f"_{action.what}")(session, actor, action, action.at)

    def request_of(self, action: Action) -> int:
        assert action.request is not None
        return self.live[action.request.seq]

    def _add_case(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        case: CaseRecord = action.args["case"]
        row = add_case(
            session, actor, case.reference, case.customer, case.external_due_at, case.note, at
        )
        self.live[case.seq] = row.id

    def _open(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        r = action.request
        assert r is not None
        raised_under: str | None = action.args["service"]
        triage = raised_under is None
        new = NewRequest(
            title=r.title,
            need=r.need,
            service_id=None if raised_under is None else self.company.services[raised_under],
            team_id=self.company.teams[action.args["team"]] if triage else None,
            context=r.context,
            impact_customers=r.impact_customers,
            desired_by=r.desired_by,
            priority=r.priority,
            case_ids=tuple(self.live[c.seq] for c in action.args["cases"]),
            parent_id=None if r.parent is None else self.live[r.parent.seq],
        )
        self.live[r.seq] = service.open_request(session, actor, new, at).id

    def _offer(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        to_person = action.args["to_person"]
        service.offer_request(
            session,
            actor,
            self.request_of(action),
            self.company.teams[action.args["to_team"]],
            None if to_person is None else self.company.people[to_person],
            action.args["note"],
            at,
        )

    def _offer_id(self, session: Session, action: Action) -> int:
        offer = action.args["offer"]
        return self._nth(session, Offer, self.request_of(action), self.offer_place[offer.seq])

    def _accept(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        offer_id = self._offer_id(session, action)
        service.accept_offer(session, actor, self.request_of(action), offer_id, at)

    def _decline(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        offer_id = self._offer_id(session, action)
        service.decline_offer(
            session, actor, self.request_of(action), offer_id, action.args["reason"], at
        )

    def _ask(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        service.ask_clarification(
            session, actor, self.request_of(action), action.args["question"], at
        )

    def _answer(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        service.answer_clarification(
            session, actor, self.request_of(action), action.args["answer"], at
        )

    def _wait(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        child: RequestRecord | None = action.args["child"]
        service.start_waiting(
            session,
            actor,
            self.request_of(action),
            action.args["reason"],
            action.args["note"],
            at,
            child_request_id=None if child is None else self.live[child.seq],
        )

    def _resume(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        service.resume(session, actor, self.request_of(action), at)

    def _post_update(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        service.post_update(session, actor, self.request_of(action), action.args["body"], at)

    def _make_promise(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        promises.make_promise(
            session,
            actor,
            self.request_of(action),
            action.args["what"],
            action.args["due_at"],
            at,
        )

    def _keep_promise(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        promise = action.args["promise"]
        request = self.request_of(action)
        promise_id = self._nth(session, Promise, request, self.promise_place[promise.seq])
        promises.keep_promise(session, actor, request, promise_id, action.args["note"], at)

    def _resolve(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        service.resolve_request(
            session, actor, self.request_of(action), action.args["resolution"], at
        )

    def _confirm(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        service.confirm_resolution(session, actor, self.request_of(action), at)

    def _reopen(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        service.reopen_request(session, actor, self.request_of(action), action.args["reason"], at)

    def _rate(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        feedback.rate_request(
            session,
            actor,
            self.request_of(action),
            action.args["scores"],
            action.args["comment"],
            at,
        )

    def _give_feedback(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        situation, behaviour, impact = action.args["sbi"]
        feedback.give_feedback(
            session,
            actor,
            self.company.people[action.args["receiver"]],
            action.args["kind"],
            situation,
            behaviour,
            impact,
            at,
            request_id=self.request_of(action),
        )

    def _withdraw(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        service.withdraw_request(session, actor, self.request_of(action), action.args["reason"], at)

    def _merge(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        into: RequestRecord = action.args["into"]
        service.merge_requests(
            session, actor, self.request_of(action), self.live[into.seq], action.args["note"], at
        )

    def _change_service(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        service.change_service(
            session,
            actor,
            self.request_of(action),
            self.company.services[action.args["service"]],
            action.args["reason"],
            at,
        )

    def _link_case(self, session: Session, actor: Any, action: Action, at: datetime) -> None:
        case: CaseRecord = action.args["case"]
        service.link_case(session, actor, self.request_of(action), self.live[case.seq], at)

    def map_created_rows(self) -> None:
        """Updates, offers, promises and feedback the replay created, by place per request."""
        with self.db.unit_of_work(readonly=True) as session:
            for records, model in (
                (self.history.offers, Offer),
                (self.history.promises, Promise),
                (self.history.updates, RequestUpdate),
                (self.history.feedback, ColleagueFeedback),
            ):
                by_request: dict[int, list[int]] = defaultdict(list)
                for row_id, request_id in session.execute(
                    select(model.id, model.request_id).order_by(model.id)
                ):
                    by_request[request_id].append(row_id)
                seen: Counter[int] = Counter()
                for record in records:
                    assert record.request is not None
                    live_request = self.live[record.request.seq]
                    rows = by_request[live_request]
                    place = seen[live_request]
                    seen[live_request] += 1
                    assert place < len(rows), f"{model.__name__} missing on request {live_request}"
                    self.live[record.seq] = rows[place]


def _replay(db: Database, company: Company, history: History) -> Replay:
    replay = Replay(db, company, history)
    # At one instant the sweeper fires first (the demo's lives fire what is due before a
    # step), then the steps in the order they were taken.
    moments: list[tuple[datetime, int, int, Callable[[], Any]]] = [
        (at, 0, 0, lambda at=at: sweep(db, at, jobs=())) for at in history.sweeps
    ]
    moments += [(a.at, 1, a.seq, lambda a=a: replay.run(a)) for a in history.actions]
    for _, _, _, step in sorted(moments, key=lambda m: m[:3]):
        step()
    replay.map_created_rows()
    return replay


def _demo_events(history: History, replay: Replay) -> dict[int, list[EventRow]]:
    events: dict[int, list[EventRow]] = defaultdict(list)
    for e in history.events:
        assert e.request is not None
        events[replay.live[e.request.seq]].append(
            (
                e.kind,
                e.at,
                e.actor_id,
                e.team_id,
                e.other_team_id,
                e.person_id,
                e.payload.renumbered(replay.live).to_json(),
            )
        )
    return events


def _live_events(session: Session) -> dict[int, list[EventRow]]:
    events: dict[int, list[EventRow]] = defaultdict(list)
    for e in session.scalars(select(Event).order_by(Event.id)):
        assert e.request_id is not None
        events[e.request_id].append(
            (e.kind, e.at, e.actor_id, e.team_id, e.other_team_id, e.person_id, e.payload)
        )
    return events


@pytest.mark.slow
def test_demo_lives_replayed_through_the_services_write_the_same_history(db: Database) -> None:
    with db.unit_of_work() as session:
        company = write_company(session, demo_password_hash(SEED))
    history = simulate(company, random.Random(SEED), REQUESTS, record_actions=True)
    kinds = Counter(e.kind for e in history.events)
    # The lives cover every path the lifecycle has (the test is only as good as its variety).
    for kind, at_least in {
        "declined": 5,
        "withdrawn": 5,
        "escalated": 5,
        "clarification_answered": 5,
        "paused": 5,
        "resumed": 5,
        "sub_request_opened": 2,
        "promise_kept": 5,
        "promise_broken": 5,
        "update_reminded": 20,
        "update_escalated": 5,
        "reopened": 2,
        "rated": 20,
        "case_linked": 1,
        "request_withdrawn": 3,
        "promise_released": 2,
        "merged_into": 2,
        "duplicate_merged": 2,
        "recategorised": 5,
    }.items():
        assert kinds[kind] >= at_least, (
            f"only {kinds[kind]} {kind} events: make the lives vary more"
        )
    assert sum(1 for r in history.requests if r.now.bounce_count) >= 2
    moves = Counter(
        e.other_team_id is not None for e in history.events if e.kind == "recategorised"
    )
    assert moves[True] >= 2, "triage files requests under another team's service"
    assert moves[False] >= 2, "owners move requests to another service of their own team"
    closed = Counter(
        bool(e.payload.to_json().get("auto")) for e in history.events if e.kind == "closed"
    )
    assert closed[True] >= 5
    assert closed[False] >= 5

    replay = _replay(db, company, history)

    expected = _demo_events(history, replay)
    for request_id, want in expected.items():
        times = [event[1] for event in want]
        assert times == sorted(times), f"request {request_id}: the demo went back in time"
    with db.unit_of_work(readonly=True) as session:
        actual = _live_events(session)
        assert sorted(actual) == sorted(expected)
        for request_id, want in expected.items():
            got = actual[request_id]
            for place, (w, g) in enumerate(zip(want, got, strict=False)):
                assert g == w, f"request {request_id}, event {place}: service wrote {g}, demo {w}"
            assert len(got) == len(want), (
                f"request {request_id}: {len(got)} events, demo {len(want)}"
            )
        for record in history.requests:
            row = session.get(Request, replay.live[record.seq])
            assert row is not None
            parent = None if record.parent is None else replay.live[record.parent.seq]
            into = record.now.merged_into_id
            assert facts_of(row) == replace(
                record.now,
                parent_id=parent,
                merged_into_id=None if into is None else replay.live[into],
            ), f"request {row.id}"
            assert row.service_id == (
                None if record.service is None else company.services[record.service]
            ), f"request {row.id} is filed under another service"
        # Who takes part (a merge brings the duplicate's people), the cases and the promises
        # (released when the request is withdrawn).
        live_people = defaultdict(set)
        for request_id, person_id in session.execute(
            select(RequestParticipant.request_id, RequestParticipant.person_id)
        ):
            live_people[request_id].add(person_id)
        live_cases = defaultdict(set)
        for request_id, case_id in session.execute(
            select(RequestCase.request_id, RequestCase.case_id)
        ):
            live_cases[request_id].add(case_id)
        for record in history.requests:
            live_id = replay.live[record.seq]
            want_people = {company.people[h] for h in record.participants}
            assert live_people[live_id] == want_people, f"people of request {live_id}"
            assert live_cases[live_id] == {replay.live[c.seq] for c in record.cases}
        live_promises = {p.id: p.state for p in session.scalars(select(Promise))}
        for promise in history.promises:
            assert live_promises[replay.live[promise.seq]] == promise.facts.state
        # The inbox too: who hears what, when, in the same words (people named by name).
        heard: dict[int | None, list[tuple[datetime, int, str, str]]] = defaultdict(list)
        for n in history.notifications:
            request = None if n.request is None else replay.live[n.request.seq]
            heard[request].append((n.created_at, n.person_id, n.kind, n.final_message(replay.live)))
        live_heard: dict[int | None, list[tuple[datetime, int, str, str]]] = defaultdict(list)
        for n in session.scalars(select(Notification)):
            live_heard[n.request_id].append((n.created_at, n.person_id, n.kind, n.message))
        assert sorted(live_heard) == sorted(heard)
        for request_id, want_heard in heard.items():
            assert sorted(live_heard[request_id]) == sorted(want_heard), f"request {request_id}"
        cases = session.scalars(select(Case.id)).all()
        assert len(cases) == len(history.cases)
