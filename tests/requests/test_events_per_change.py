"""Every change writes its event: a walk through every operation of the request lifecycle.

After each operation the rows of every request, offer and promise are compared with what they
were before, and each changed column must be explained by an event the operation wrote, of a
kind that may change that column and naming that row (a request by `request_id`, an offer or a
promise by the id in the payload). Every event that says a row changed must match the row.

The test is built to notice what it was not told about: the columns come from the models, and
each must be classified below (a new column fails until it is); the operations come from the
service modules (every public function that takes the session and `now`) and the sweeper's due
work, and each must be walked (a new operation fails until the walk exercises it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from followthrough.cases import service as cases
from followthrough.db import Database
from followthrough.feedback import service as feedback
from followthrough.history.models import Event
from followthrough.notify.models import Notification
from followthrough.promises import service as promises
from followthrough.promises.models import Promise
from followthrough.requests import service
from followthrough.requests.models import Offer, Request
from followthrough.requests.service import NewRequest
from followthrough.sweeper.service import DUE_WORK, sweep
from tests.conftest import T0
from tests.factories import World

T = TypeVar("T")

# --- Which event may change which column -----------------------------------------------------

# Set when the row is written and never changed afterwards: no event explains a change.
FIXED: frozenset[str] = frozenset()

# How the product answers "when is the next update owed": every change to who works on it, to
# whether the clock runs, or an update from the owning side moves the ladder.
LADDER = frozenset(
    {
        "accepted",
        "clarification_asked",
        "clarification_answered",
        "paused",
        "resumed",
        "update_posted",
        "resolved",
        "reopened",
    }
)
PAUSING = frozenset({"clarification_asked", "clarification_answered", "paused", "resumed"})
# A request ending unresolved: withdrawn by its requester, or merged into another as a duplicate.
ENDING = frozenset({"request_withdrawn", "merged_into"})

EXPLAINED_BY: dict[str, dict[str, frozenset[str]]] = {
    "request": {
        **dict.fromkeys(
            (
                "id",
                "title",
                "need",
                "context",
                "impact_customers",
                "desired_by",
                "priority",
                "requester_id",
                "parent_id",
                "opened_at",
            ),
            FIXED,
        ),
        # Filed under another service (a confidential one makes the request confidential).
        "service_id": frozenset({"recategorised"}),
        "confidential": frozenset({"recategorised"}),
        # A declined intake goes to triage (its intake offer names the new owner) or back to
        # the requester.
        "owner_id": frozenset({"accepted", "offered", "returned_to_requester"}),
        "team_id": frozenset({"accepted", "offered"}),
        "bounce_count": frozenset({"accepted"}),
        "state": frozenset({"accepted", "resolved", "reopened", "closed"} | PAUSING | ENDING),
        "waiting_on": PAUSING | ENDING,
        "clock_paused_at": PAUSING | ENDING,
        "paused_business_seconds": frozenset({"clarification_answered", "resumed"}),
        "resolve_due_at": frozenset({"clarification_answered", "resumed", "recategorised"}),
        "accepted_at": frozenset({"accepted", "resolved"}),
        "resolution": frozenset({"resolved"}),
        "resolved_at": frozenset({"resolved", "reopened"}),
        "auto_close_at": frozenset({"resolved", "reopened", "closed"} | ENDING),
        "closed_at": frozenset({"closed"} | ENDING),
        "merged_into_id": frozenset({"merged_into"}),
        "next_update_due_at": LADDER | ENDING | {"returned_to_requester", "recategorised"},
        "update_reminded_at": LADDER
        | ENDING
        | {"update_reminded", "returned_to_requester", "recategorised"},
        # A late reminder moves the escalation on, to half a cadence after itself.
        "update_escalate_at": LADDER
        | ENDING
        | {"update_reminded", "update_escalated", "returned_to_requester", "recategorised"},
    },
    "offer": {
        **dict.fromkeys(
            (
                "id",
                "request_id",
                "kind",
                "from_person_id",
                "from_team_id",
                "to_team_id",
                "to_person_id",
                "note",
                "offered_at",
                "due_at",
            ),
            FIXED,
        ),
        "state": frozenset({"accepted", "declined", "withdrawn"}),
        "answered_at": frozenset({"accepted", "declined", "withdrawn"}),
        "answered_by_id": frozenset({"accepted", "declined", "withdrawn"}),
        "decline_reason": frozenset({"declined"}),
        "escalated_at": frozenset({"escalated"}),
    },
    "promise": {
        **dict.fromkeys(
            ("id", "request_id", "made_by_id", "made_to_id", "what", "due_at", "made_at"), FIXED
        ),
        "state": frozenset({"promise_kept", "promise_broken", "promise_released"}),
        # Marked done late, a promise still counts as broken.
        "done_at": frozenset({"promise_kept", "promise_broken"}),
        "done_note": frozenset({"promise_kept", "promise_broken"}),
    },
}

# Columns that follow another change rather than being one: when it changed, its version, and
# the estimate recalculated after every change.
BOOKKEEPING: dict[str, frozenset[str]] = {
    # source_case_id: the case id of another desk's log an imported request came from.
    "request": frozenset(
        {"updated_at", "version", "eta_median_at", "eta_likely_at", "eta_basis", "source_case_id"}
    ),
    "offer": frozenset(),
    "promise": frozenset(),
}

# A nudge, not a change of the promise: explained by the notification to whoever made it.
NOTIFIED_BY: dict[str, dict[str, str]] = {"promise": {"reminded_at": "promise_due"}}

# The event that must name a row when the row is new.
CREATED_BY = {"request": "opened", "offer": "offered", "promise": "promise_made"}

# What an event says about the row it names, checked against the row after the operation.
OFFER_STATE_AFTER = {"accepted": "accepted", "declined": "declined", "withdrawn": "withdrawn"}
REQUEST_STATE_AFTER = {
    "clarification_asked": {"needs_clarification"},
    "clarification_answered": {"new", "in_progress"},
    "paused": {"waiting"},
    "resumed": {"in_progress"},
    "resolved": {"resolved"},
    "reopened": {"in_progress"},
    "closed": {"closed"},
    "request_withdrawn": {"withdrawn"},
    "merged_into": {"merged"},
}
PROMISE_STATE_AFTER = {
    "promise_kept": "kept",
    "promise_broken": "broken",
    "promise_released": "released",
}

TABLES: dict[str, Table] = {
    "request": Request.__table__,  # type: ignore[dict-item]
    "offer": Offer.__table__,  # type: ignore[dict-item]
    "promise": Promise.__table__,  # type: ignore[dict-item]
}

# --- The operations -----------------------------------------------------------------------

SERVICE_MODULES: tuple[ModuleType, ...] = (service, promises, feedback, cases)
# Due work that changes no request, offer or promise (it settles stated timescales).
DUE_WORK_WITHOUT_ROWS = {"timescale outcomes recorded"}


def _operations() -> set[str]:
    """Every public service function that takes the session and the time: the operations."""
    found = set()
    for module in SERVICE_MODULES:
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            if function.__module__ != module.__name__:
                continue
            parameters = list(inspect.signature(function).parameters)
            if parameters[:1] == ["session"] and "now" in parameters:
                found.add(f"{module.__name__.rsplit('.', 2)[-2]}.{name}")
    return found


# Which service function each kind of the sweeper's due work runs, when it fires.
SWEEPER_RUNS = {
    "requests auto-closed": "requests.auto_close",
    "promises broken": "promises.break_promise",
    "promises reminded": "promises.remind_promise",
}

Rows = dict[tuple[str, int], dict[str, Any]]


def _rows(db: Database) -> Rows:
    with db.unit_of_work(readonly=True) as session:
        return {
            (name, row["id"]): dict(row)
            for name, table in TABLES.items()
            for row in session.execute(select(table)).mappings()
        }


def _last_id(db: Database, model: type[Event] | type[Notification]) -> int:
    with db.unit_of_work(readonly=True) as session:
        return session.scalar(select(func.max(model.id))) or 0


@dataclass(frozen=True)
class Written:
    kind: str
    request_id: int | None
    person_id: int | None
    payload: dict[str, Any]

    def names(self, table: str, row_id: int) -> bool:
        if table == "request":
            return self.request_id == row_id
        return self.payload.get(f"{table}_id") == row_id


@dataclass
class Walk:
    """Runs each operation in its own unit of work and checks its changes against its events."""

    db: Database
    world: World
    now: datetime = T0
    walked: set[str] = field(default_factory=set)
    swept: set[str] = field(default_factory=set)
    changes_seen: set[tuple[str, str]] = field(default_factory=set)

    def actor(self, session: Session, handle: str) -> Any:
        return self.world.actor(session, handle)

    def do(self, operation: str, work: Callable[[Session], T], minutes: float = 5) -> T:
        self.now += timedelta(minutes=minutes)
        result: list[T] = []
        with self._checked(operation), self.db.unit_of_work() as session:
            result.append(work(session))
        self.walked.add(operation)
        return result[0]

    def sweep_at(self, at: datetime) -> None:
        self.now = at
        with self._checked("sweep"):
            fired = sweep(self.db, at)
        for name, count in fired.items():
            if count:
                self.swept.add(name)
                if name in SWEEPER_RUNS:
                    self.walked.add(SWEEPER_RUNS[name])

    @staticmethod
    def _iter_changes(before: Rows, after: Rows) -> Iterator[tuple[str, int, str | None]]:
        """(table, id, column) per changed column; column None for a new row."""
        assert before.keys() <= after.keys(), "an operation deleted a request, offer or promise"
        for (table, row_id), row in after.items():
            old = before.get((table, row_id))
            if old is None:
                yield table, row_id, None
                continue
            for column, value in row.items():
                if old[column] != value:
                    yield table, row_id, column

    @contextmanager
    def _checked(self, operation: str) -> Iterator[None]:
        before = _rows(self.db)
        last_event = _last_id(self.db, Event)
        last_notification = _last_id(self.db, Notification)
        yield
        self._compare(operation, before, last_event, last_notification)

    def _compare(self, operation: str, before: Rows, last_event: int, last_note: int) -> None:
        after = _rows(self.db)
        with self.db.unit_of_work(readonly=True) as session:
            events = [
                Written(e.kind, e.request_id, e.person_id, dict(e.payload))
                for e in session.scalars(select(Event).where(Event.id > last_event))
            ]
            notes = {
                (n.kind, n.person_id, n.request_id)
                for n in session.scalars(select(Notification).where(Notification.id > last_note))
            }
        for table, row_id, column in self._iter_changes(before, after):
            where = f"{operation}: {table} {row_id}"
            if column is None:
                assert any(
                    e.kind == CREATED_BY[table] and e.names(table, row_id) for e in events
                ), f"{where} is new without a {CREATED_BY[table]!r} event naming it"
                continue
            self.changes_seen.add((table, column))
            if column in BOOKKEEPING[table]:
                continue
            if column in NOTIFIED_BY.get(table, {}):
                row = after[(table, row_id)]
                note = (NOTIFIED_BY[table][column], row["made_by_id"], row["request_id"])
                assert note in notes, f"{where}.{column} changed without its notification"
                continue
            allowed = EXPLAINED_BY[table][column]
            explaining = [e.kind for e in events if e.names(table, row_id)]
            assert set(explaining) & allowed, (
                f"{where}.{column} changed {before[(table, row_id)][column]!r} -> "
                f"{after[(table, row_id)][column]!r}, explained only by {explaining} "
                f"(needs one of {sorted(allowed)})"
            )
        for event in events:
            self._matches_rows(operation, event, before, after)

    @staticmethod
    def _matches_rows(operation: str, event: Written, before: Rows, after: Rows) -> None:
        """What the event says happened did happen to the row it names."""
        where = f"{operation}: {event.kind} event {event.payload}"
        for table, kind in CREATED_BY.items():
            if event.kind == kind:
                row_id = event.request_id if table == "request" else event.payload[f"{table}_id"]
                assert (table, row_id) in after, where
                assert (table, row_id) not in before, where
        offer_id = int(event.payload.get("offer_id") or 0)
        if event.kind in OFFER_STATE_AFTER:
            assert before[("offer", offer_id)]["state"] == "open", where
            assert after[("offer", offer_id)]["state"] == OFFER_STATE_AFTER[event.kind], where
        if event.kind == "escalated":
            assert before[("offer", offer_id)]["escalated_at"] is None, where
            assert after[("offer", offer_id)]["escalated_at"] is not None, where
        if event.kind in PROMISE_STATE_AFTER:
            promise_id = event.payload["promise_id"]
            assert before[("promise", promise_id)]["state"] == "open", where
            assert after[("promise", promise_id)]["state"] == PROMISE_STATE_AFTER[event.kind], where
        if event.kind in REQUEST_STATE_AFTER:
            assert event.request_id is not None
            state = after[("request", event.request_id)]["state"]
            assert state in REQUEST_STATE_AFTER[event.kind], (where, state)
        if event.kind == "accepted":
            assert event.request_id is not None
            assert after[("request", event.request_id)]["owner_id"] == event.person_id, where


def test_every_column_of_a_request_offer_and_promise_is_classified() -> None:
    for table_name, table in TABLES.items():
        classified = (
            set(EXPLAINED_BY[table_name])
            | BOOKKEEPING[table_name]
            | set(NOTIFIED_BY.get(table_name, {}))
        )
        assert classified == set(table.columns.keys()), (
            f"{table_name}: classify {sorted(set(table.columns.keys()) - classified)}; "
            f"no longer there: {sorted(classified - set(table.columns.keys()))}"
        )


def _open(walk: Walk, handle: str, **new: Any) -> Request:
    return walk.do(
        "requests.open_request",
        lambda s: service.open_request(
            s, walk.actor(s, handle), NewRequest(title="t", need="n", **new), walk.now
        ),
    )


def _offer_id(walk: Walk, request_id: int) -> int:
    with walk.db.unit_of_work(readonly=True) as session:
        offer = service.open_offer_of(session, request_id)
        assert offer is not None
        return offer.id


def _offer(walk: Walk, handle: str, rid: int, team: str, person: str | None = None) -> int:
    to_person = None if person is None else walk.world.people[person]
    team_id = walk.world.teams[team]
    offer: Offer = walk.do(
        "requests.offer_request",
        lambda s: service.offer_request(
            s, walk.actor(s, handle), rid, team_id, to_person, "over to you", walk.now
        ),
    )
    return offer.id


def _accept(walk: Walk, handle: str, rid: int, oid: int) -> None:
    walk.do(
        "requests.accept_offer",
        lambda s: service.accept_offer(s, walk.actor(s, handle), rid, oid, walk.now),
    )


def _resolve(walk: Walk, handle: str, rid: int) -> None:
    walk.do(
        "requests.resolve_request",
        lambda s: service.resolve_request(s, walk.actor(s, handle), rid, "done", walk.now),
    )


def _promise(walk: Walk, handle: str, rid: int, due: timedelta) -> int:
    promise: Promise = walk.do(
        "promises.make_promise",
        lambda s: promises.make_promise(
            s, walk.actor(s, handle), rid, "call back", walk.now + due, walk.now
        ),
    )
    return promise.id


def test_every_operation_writes_an_event_for_each_change_it_makes(
    db: Database, world: World
) -> None:
    walk = Walk(db, world)
    policy = world.services["correct_policy"]

    # A request passes through every hand: routed on, declined, offered, accepted, worked on.
    r1 = _open(walk, "asha", service_id=policy).id
    o2 = _offer(walk, "cleo", r1, "claims")  # routed on from intake: the intake is withdrawn
    walk.do(
        "requests.decline_offer",
        lambda s: service.decline_offer(s, walk.actor(s, "carl"), r1, o2, "not ours", walk.now),
    )
    _accept(walk, "cleo", r1, _offer(walk, "dan", r1, "admin", "cleo"))
    walk.do(
        "requests.post_update",
        lambda s: service.post_update(s, walk.actor(s, "cleo"), r1, "on it", walk.now),
    )
    walk.do(
        "requests.ask_clarification",
        lambda s: service.ask_clarification(s, walk.actor(s, "cleo"), r1, "which?", walk.now),
    )
    walk.do(
        "requests.answer_clarification",
        lambda s: service.answer_clarification(s, walk.actor(s, "asha"), r1, "P-1", walk.now),
    )
    walk.do(
        "requests.start_waiting",
        lambda s: service.start_waiting(
            s, walk.actor(s, "cleo"), r1, "requester", "the form", walk.now
        ),
    )
    walk.do("requests.resume", lambda s: service.resume(s, walk.actor(s, "cleo"), r1, walk.now))
    p1 = _promise(walk, "cleo", r1, timedelta(hours=1))
    walk.do(
        "promises.keep_promise",
        lambda s: promises.keep_promise(s, walk.actor(s, "cleo"), r1, p1, "called", walk.now),
    )
    late = _promise(walk, "cleo", r1, timedelta(minutes=1))
    walk.do(
        "promises.keep_promise",
        lambda s: promises.keep_promise(s, walk.actor(s, "cleo"), r1, late, "late", walk.now),
    )
    case = walk.do(
        "cases.add_case",
        lambda s: cases.add_case(s, walk.actor(s, "asha"), "C-1", "Acme", None, "", walk.now),
    )
    walk.do(
        "requests.link_case",
        lambda s: service.link_case(s, walk.actor(s, "cleo"), r1, case.id, walk.now),
    )
    o4 = _offer(walk, "cleo", r1, "claims", "asha")
    walk.do(
        "requests.withdraw_offer",
        lambda s: service.withdraw_offer(s, walk.actor(s, "cleo"), r1, o4, walk.now),
    )
    _accept(walk, "carl", r1, _offer(walk, "cleo", r1, "claims"))  # to another team
    _accept(walk, "cleo", r1, _offer(walk, "carl", r1, "admin"))  # and back: a bounce

    # A sub-request the parent waits on: resolving it (intake still open) resumes the parent.
    r2 = _open(walk, "cleo", team_id=world.teams["claims"], parent_id=r1).id
    walk.do(
        "requests.start_waiting",
        lambda s: service.start_waiting(
            s, walk.actor(s, "cleo"), r1, "sub_request", "claims first", walk.now, r2
        ),
    )
    _resolve(walk, "carl", r2)

    # Resolved while an offer is open, reopened, resolved again, confirmed, rated.
    _offer(walk, "cleo", r1, "claims")
    _resolve(walk, "cleo", r1)
    walk.do(
        "requests.reopen_request",
        lambda s: service.reopen_request(s, walk.actor(s, "asha"), r1, "still wrong", walk.now),
    )
    _resolve(walk, "cleo", r1)
    walk.do(
        "requests.confirm_resolution",
        lambda s: service.confirm_resolution(s, walk.actor(s, "asha"), r1, walk.now),
    )
    scores = {"understand": 5, "own": 4, "serve": 5, "communicate": 3}
    walk.do(
        "feedback.rate_request",
        lambda s: feedback.rate_request(s, walk.actor(s, "asha"), r1, scores, "", walk.now),
    )
    cleo = world.people["cleo"]
    walk.do(
        "feedback.give_feedback",
        lambda s: feedback.give_feedback(
            s, walk.actor(s, "asha"), cleo, "praise", "s", "b", "i", walk.now, r1
        ),
    )

    # A declined intake goes to triage, whose duty owner promises something; then the requester
    # withdraws it (the triage offer withdrawn, the promise released). A duplicate is merged.
    r5 = _open(walk, "asha", service_id=policy).id
    intake5 = _offer_id(walk, r5)
    walk.do(
        "requests.decline_offer",
        lambda s: service.decline_offer(s, walk.actor(s, "cleo"), r5, intake5, "no", walk.now),
    )
    _promise(walk, "tess", r5, timedelta(hours=2))
    walk.do(
        "requests.withdraw_request",
        lambda s: service.withdraw_request(s, walk.actor(s, "asha"), r5, "sorted", walk.now),
    )
    r6 = _open(walk, "otto", service_id=policy).id
    r7 = _open(walk, "asha", service_id=policy).id
    walk.do(
        "requests.merge_requests",
        lambda s: service.merge_requests(s, walk.actor(s, "dan"), r6, r7, "same", walk.now),
    )

    # Filed under another team's service: its targets follow, and that team is offered it.
    r8 = _open(walk, "asha", service_id=policy).id
    walk.do(
        "requests.change_service",
        lambda s: service.change_service(
            s, walk.actor(s, "dan"), r8, world.services["grievance"], "it is HR's", walk.now
        ),
    )

    # Left alone: the sweeper escalates, reminds, breaks promises and closes.
    r3 = _open(walk, "asha", service_id=policy).id
    _promise(walk, "dan", r3, timedelta(minutes=30))
    next_day = walk.now + timedelta(days=1)
    _promise(walk, "dan", r3, next_day + timedelta(minutes=15) - walk.now)
    r4 = _open(walk, "asha", service_id=policy).id
    _resolve(walk, "dan", r4)
    walk.sweep_at(next_day)
    walk.sweep_at(next_day + timedelta(days=7))
    # Nothing was left that the next sweep would change without saying so.
    walk.sweep_at(next_day + timedelta(days=8))

    missing = _operations() - walk.walked
    assert not missing, f"walk these operations too: {sorted(missing)}"
    unswept = {name for name, _ in DUE_WORK} - DUE_WORK_WITHOUT_ROWS - walk.swept
    assert not unswept, f"make these due in the walk: {sorted(unswept)}"
    # The walk saw the changes that matter, so a column left unchanged is not a blind spot.
    for column in ("owner_id", "team_id", "state", "bounce_count", "closed_at"):
        assert ("request", column) in walk.changes_seen
    for column in ("state", "escalated_at", "decline_reason"):
        assert ("offer", column) in walk.changes_seen
    assert ("promise", "reminded_at") in walk.changes_seen
