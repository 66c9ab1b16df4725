"""Six months of requests, simulated in memory through the product's own lifecycle.

Each request is lived through in time order by a `Life`: every step calls the same pure
transition the services call (`requests.lifecycle`), and appends what it returns (the new state,
events, notifications, offers, pauses…) as plain records to a `History` instead of writing rows.
Before every step the life fires whatever the sweeper would have fired by then (the lifecycle's
due times: escalations, reminders, broken promises, auto-closes), so the history is exactly as
swept as a live system's. A life that reaches the end date simply stops: the request stays open
with its offers, promises and next-update-due time as they stand.

Records reference each other (and payloads name them) by their `seq`; ids are assigned at the
end in time order, so the written ids follow the order in which the product would have created
the rows. With `record_actions` the history also keeps what each person did and when the
sweeper fired, so the lives can be replayed through the real services (tests/demo).
"""

from __future__ import annotations

import contextlib
import heapq
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from followthrough.demo import texts
from followthrough.demo.buddies import BuddyPlan
from followthrough.demo.company import Company, ServiceSpec
from followthrough.demo.programme import Rollout
from followthrough.org.rules import (
    WorkingCalendar,
    add_business_hours,
    business_hours_between,
)
from followthrough.requests import lifecycle, rules
from followthrough.requests.lifecycle import (
    UNCATALOGUED,
    Change,
    Notice,
    OfferFacts,
    PromiseChange,
    PromiseFacts,
    RequestFacts,
    Scores,
    Targets,
)
from followthrough.requests.vocabulary import (
    EventKind,
    OfferKind,
    OfferState,
    Payload,
    PromiseState,
    RequestState,
    WaitReason,
)

# The demo's six months end at a fixed moment, so every run writes the same rows.
END = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
START = END - timedelta(days=184)
# A share of requests are sub-requests opened by the owner of another request.
SUB_REQUEST_SHARE = 0.03
# "Not sure which team": opened without a service and routed by the triage team.
TRIAGE_SHARE = 0.04
# The inbox only holds what the last two weeks brought; older notifications were long dealt with.
NOTIFICATION_WINDOW = timedelta(days=14)
CONFIRM_SHARE = 0.55
RATING_SHARE = 0.35
# Requests that end unresolved: withdrawn by the requester before anyone takes them, or later
# while being worked; a duplicate raised by a colleague (or the requester again) and merged.
WITHDRAW_EARLY_SHARE = 0.01
WITHDRAW_LATER_SHARE = 0.02
DUPLICATE_SHARE = 0.02
# Re-categorised: raised under a neighbouring service of the same team and moved by its owner;
# and the share of triage's routings that file the request under a service (the rest offer it
# to a team and leave it uncatalogued).
MISFILED_SHARE = 0.03
TRIAGE_FILES_SERVICE = 0.6


class PastEnd(Exception):
    """The next step of a life falls after the end date: the request stays as it is."""


@dataclass(eq=False)
class Record:
    """A row to be written. Until then `seq` stands for its id wherever another record or a
    payload names it; `id` is assigned in time order just before writing."""

    seq: int
    id: int = field(default=0, init=False)


@dataclass(eq=False)
class CaseRecord(Record):
    reference: str
    customer: str
    external_due_at: datetime | None
    note: str
    created_at: datetime
    created_by_id: int


@dataclass(eq=False)
class RequestRecord(Record):
    """A request: what was asked, and (`facts`) where the lifecycle has taken it."""

    title: str
    need: str
    context: str
    impact_customers: int
    desired_by: datetime | None
    priority: str
    requester: str
    service: str | None
    team: str
    owner: str
    opened_at: datetime
    parent: RequestRecord | None
    confidential: bool
    facts: RequestFacts | None = None
    first_resolved_at: datetime | None = None
    version: int = 1
    path: list[str] = field(default_factory=list)
    participants: dict[str, None] = field(default_factory=dict)
    cases: list[CaseRecord] = field(default_factory=list)
    # What the requester lived through, for ratings and feedback.
    broken: int = 0
    escalations: int = 0
    declines: int = 0
    reopened: bool = False

    @property
    def now(self) -> RequestFacts:
        """The request as it stands (opened: it has facts)."""
        assert self.facts is not None
        return self.facts

    @property
    def state(self) -> RequestState:
        return self.now.state


@dataclass(eq=False)
class OfferRecord(Record):
    request: RequestRecord
    kind: OfferKind
    from_person_id: int
    from_team_id: int | None
    to_team_id: int
    to_person_id: int | None
    note: str
    offered_at: datetime
    due_at: datetime
    state: OfferState = OfferState.OPEN
    escalated_at: datetime | None = None
    answered_at: datetime | None = None
    answered_by_id: int | None = None
    decline_reason: str | None = None

    def facts(self) -> OfferFacts:
        return OfferFacts(
            id=self.seq,
            kind=self.kind,
            from_person_id=self.from_person_id,
            from_team_id=self.from_team_id,
            to_team_id=self.to_team_id,
            to_person_id=self.to_person_id,
            offered_at=self.offered_at,
            due_at=self.due_at,
            escalated_at=self.escalated_at,
        )


@dataclass(eq=False)
class PauseRecord(Record):
    request: RequestRecord
    reason: str
    note: str
    child_id: int | None
    started_at: datetime
    started_by_id: int
    ended_at: datetime | None = None


@dataclass(eq=False)
class UpdateRecord(Record):
    request: RequestRecord
    author_id: int
    body: str
    posted_at: datetime


@dataclass(eq=False)
class PathStepRecord(Record):
    request: RequestRecord
    team_id: int
    entered_at: datetime
    is_bounce: bool


@dataclass(eq=False)
class PromiseRecord(Record):
    request: RequestRecord
    facts: PromiseFacts


@dataclass(eq=False)
class RatingRecord(Record):
    request: RequestRecord
    rater_id: int
    scores: dict[str, int]
    comment: str
    rated_at: datetime


@dataclass(eq=False)
class FeedbackRecord(Record):
    from_person_id: int
    to_person_id: int
    kind: str
    situation: str
    behaviour: str
    impact: str
    request: RequestRecord | None
    given_at: datetime


@dataclass(eq=False)
class EventRecord(Record):
    at: datetime
    request: RequestRecord | None
    actor_id: int | None
    team_id: int | None
    other_team_id: int | None
    person_id: int | None
    payload: Payload

    @property
    def kind(self) -> EventKind:
        return self.payload.KIND


@dataclass(eq=False)
class NotificationRecord(Record):
    person_id: int
    kind: str
    message: str
    request: RequestRecord | None
    created_at: datetime
    # Requests the message names as "#<seq>" (a merge's), to be renumbered with the ids.
    names: tuple[int, ...] = ()

    def final_message(self, new_id: dict[int, int]) -> str:
        """The message with every request it names by "#<seq>" named by its final id."""
        if not self.names:
            return self.message

        def final(match: re.Match[str]) -> str:
            seq = int(match[1])
            return f"#{new_id[seq]}" if seq in self.names else match[0]

        return re.sub(r"#(\d+)\b", final, self.message)


@dataclass(frozen=True)
class Action:
    """Something a person did, as the services would be asked to do it (kept only when the
    simulation is asked to, for replaying it through the real services)."""

    at: datetime
    seq: int
    what: str
    request: RequestRecord | None
    actor_id: int
    args: dict[str, Any]


@dataclass
class History:
    """Everything the simulated product wrote, in creation order."""

    cases: list[CaseRecord] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    offers: list[OfferRecord] = field(default_factory=list)
    pauses: list[PauseRecord] = field(default_factory=list)
    updates: list[UpdateRecord] = field(default_factory=list)
    path_steps: list[PathStepRecord] = field(default_factory=list)
    promises: list[PromiseRecord] = field(default_factory=list)
    ratings: list[RatingRecord] = field(default_factory=list)
    feedback: list[FeedbackRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    notifications: list[NotificationRecord] = field(default_factory=list)
    # With `record_actions`: what people did, and when the sweeper fired something.
    actions: list[Action] = field(default_factory=list)
    sweeps: set[datetime] = field(default_factory=set)
    _seq: int = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq


def _targets_of(spec: ServiceSpec) -> Targets:
    return Targets(spec.accept, spec.update_every, spec.resolve, spec.auto_close_days)


def _lognormal(rng: random.Random, median: float, sigma: float = 0.8) -> float:
    return median * rng.lognormvariate(0.0, sigma)


def _whole(instant: datetime) -> datetime:
    """Times people choose in the demo are whole seconds."""
    return instant.replace(microsecond=0)


class Life:
    """One request lived through from opening to closing (or to the end date)."""

    def __init__(
        self,
        world: Simulation,
        request: RequestRecord,
        intended_service: ServiceSpec,
        depth: int,
    ) -> None:
        self.world = world
        self.company = world.company
        self.history = world.history
        self.rng = world.rng
        self.r = request
        self.intended = intended_service
        self.depth = depth
        self.cursor = request.opened_at
        self.offers: list[OfferRecord] = []
        self.pauses: list[PauseRecord] = []
        self.promises: list[PromiseRecord] = []
        self.agenda: list[tuple[datetime, int, Callable[[datetime], None]]] = []

    # -- plumbing ----------------------------------------------------------------------------

    def pid(self, handle: str) -> int:
        return self.company.people[handle]

    def tid(self, team: str) -> int:
        return self.company.teams[team]

    def cal(self, team: str | None = None) -> WorkingCalendar:
        return self.company.calendars[team or self.r.team]

    def requester_cal(self) -> WorkingCalendar:
        return self.company.calendars[self.company.home_team[self.r.requester]]

    def later(self, hours: float, team: str | None = None) -> datetime:
        return _whole(add_business_hours(self.cal(team), self.cursor, hours))

    def targets(self) -> Targets:
        if self.r.service is None:
            return UNCATALOGUED
        return _targets_of(self.company.service_specs[self.r.service])

    def team_name(self, team: str | None = None) -> str:
        return self.company.team_specs[team or self.r.team].name

    def open_offer(self) -> OfferRecord | None:
        return next((o for o in self.offers if o.state == OfferState.OPEN), None)

    def member(self, team: str, *, exclude: tuple[str, ...] = ()) -> str:
        spec = self.company.team_specs[team]
        pool = [h for h in spec.members if h not in exclude] or [spec.lead]
        return self.rng.choice(pool)

    def did(self, action: str, at: datetime, actor: str, **args: Any) -> None:
        """Note what a person did, for a replay through the services."""
        if self.world.record_actions:
            self.history.actions.append(
                Action(at, len(self.history.actions), action, self.r, self.pid(actor), args)
            )

    # -- writing what the lifecycle decided ------------------------------------------------------

    def write(
        self,
        events: Sequence[lifecycle.Event],
        notices: Sequence[Notice],
        now: datetime,
        names: tuple[int, ...] = (),
    ) -> None:
        history = self.history
        for e in events:
            history.events.append(
                EventRecord(
                    history.next_seq(),
                    e.at,
                    self.r,
                    e.actor_id,
                    e.team_id,
                    e.other_team_id,
                    e.person_id,
                    e.payload,
                )
            )
        for n in notices:
            history.notifications.append(
                NotificationRecord(
                    history.next_seq(), n.person_id, n.kind, n.message, self.r, now, names
                )
            )

    def _moved_to(self, facts: RequestFacts) -> None:
        r = self.r
        r.facts = facts
        r.owner = self.world.handles[facts.owner_id]
        r.team = self.world.team_keys[facts.team_id]

    def apply(
        self, change: Change, *, touch: bool = True, names: tuple[int, ...] = ()
    ) -> Record | None:
        """Append what a transition did as records; returns the offer or update it created.
        Every change but the opening moves the request's version on, as a row update does.
        `names`: the requests its notices name by "#<seq>"."""
        r, history = self.r, self.history
        now = change.request.updated_at
        self._moved_to(change.request)
        r.version += touch
        offers = {o.seq: o for o in self.offers}
        for answer in change.answered:
            offer = offers[answer.offer_id]
            offer.state = answer.state
            offer.answered_at = answer.at
            offer.answered_by_id = answer.by_id
            offer.decline_reason = answer.decline_reason
        if change.escalated_offer_id is not None:
            offers[change.escalated_offer_id].escalated_at = now
        for promise in self.promises:
            if promise.seq in change.released_promise_ids:
                promise.facts = replace(promise.facts, state=PromiseState.RELEASED)
        if change.new_step is not None:
            step = change.new_step
            history.path_steps.append(
                PathStepRecord(history.next_seq(), r, step.team_id, step.entered_at, step.is_bounce)
            )
            r.path.append(self.world.team_keys[step.team_id])
        if change.pause_ended_at is not None:
            self.pauses[-1].ended_at = change.pause_ended_at
        if change.new_pause is not None:
            p = change.new_pause
            pause = PauseRecord(
                history.next_seq(), r, p.reason, p.note, p.child_id, p.started_at, p.started_by_id
            )
            self.pauses.append(pause)
            history.pauses.append(pause)
        created: Record | None = None
        if change.new_offer is not None:
            o = change.new_offer
            offer = OfferRecord(
                history.next_seq(),
                r,
                o.kind,
                o.from_person_id,
                o.from_team_id,
                o.to_team_id,
                o.to_person_id,
                o.note,
                o.offered_at,
                o.due_at,
            )
            self.offers.append(offer)
            history.offers.append(offer)
            created = offer
        elif change.new_update is not None:
            u = change.new_update
            created = UpdateRecord(history.next_seq(), r, u.author_id, u.body, u.posted_at)
            history.updates.append(created)
        if created is not None:
            change = change.with_new_row(created.seq)
        for person_id in change.participants:
            r.participants.setdefault(self.world.handles[person_id], None)
        self.write(change.events, change.notices, now, names)
        return created

    def apply_promise(self, change: PromiseChange, promise: PromiseRecord | None) -> PromiseRecord:
        r, history = self.r, self.history
        self._moved_to(change.request)
        r.version += 1
        if promise is None:
            promise = PromiseRecord(history.next_seq(), r, change.promise)
            change = change.with_new_row(promise.seq)
            self.promises.append(promise)
            history.promises.append(promise)
        promise.facts = change.promise
        for person_id in change.participants:
            r.participants.setdefault(self.world.handles[person_id], None)
        self.write(change.events, change.notices, change.request.updated_at)
        return promise

    # -- time: the sweeper and the agenda fire before every step --------------------------------

    def reach(self, when: datetime) -> None:
        """Move the life on to `when`, firing everything due on the way; PastEnd beyond END."""
        when = max(when, self.cursor)
        if when > END:
            self.advance(END)
            self.cursor = END
            raise PastEnd
        self.advance(when)
        self.cursor = when

    def schedule(self, when: datetime, action: Callable[[datetime], None]) -> None:
        heapq.heappush(self.agenda, (when, self.history.next_seq(), action))

    def _due_items(self) -> Iterator[tuple[datetime, int, Callable[[datetime], None]]]:
        """What the sweeper would fire for this request, when, in the sweeper's order."""
        r = self.r.now
        for offer in self.offers:
            if offer.state == OfferState.OPEN:
                due = lifecycle.offer_escalation_due_at(offer.facts())
                if due is not None:
                    yield due, 1, partial(self.escalate_offer, offer)
        for promise in self.promises:
            due = lifecycle.promise_break_due_at(promise.facts)
            if due is not None:
                yield due, 2, partial(self.break_promise, promise)
            due = lifecycle.promise_reminder_due_at(promise.facts)
            if due is not None:
                yield due, 3, partial(self.remind_promise, promise)
        due = lifecycle.update_reminder_due_at(r)
        if due is not None:
            yield due, 4, self.remind_update
        due = lifecycle.update_escalation_due_at(r)
        if due is not None:
            yield due, 5, self.escalate_update
        due = lifecycle.auto_close_due_at(r)
        if due is not None:
            yield due, 6, self.auto_close

    def advance(self, until: datetime) -> None:
        while True:
            best = min(self._due_items(), key=lambda item: (item[0], item[1]), default=None)
            if self.agenda and (best is None or self.agenda[0][0] < best[0]):
                if self.agenda[0][0] > until:
                    return
                at, _, action = heapq.heappop(self.agenda)
                action(max(at, self.cursor))
                continue
            if best is None or best[0] > until:
                return
            at = max(best[0], self.cursor)
            if self.world.record_actions:
                self.history.sweeps.add(at)
            best[2](at)

    def pass_until(self, when: datetime, diligence: float | None = None) -> None:
        """Let time pass to `when`, the owner posting updates as the cadence asks."""
        behaviour = self.company.team_specs[self.r.team].behaviour
        diligence = behaviour.diligence if diligence is None else diligence
        if self.world.rollout is not None:
            # The training programme's built-in effect: its completers post updates on time.
            diligence = self.world.rollout.keep_chance(self.r.owner, diligence, self.cursor)
        while self.r.now.next_update_due_at is not None and self.r.now.next_update_due_at < when:
            due = self.r.now.next_update_due_at
            if self.rng.random() < diligence:
                gap = business_hours_between(self.cal(), self.cursor, due)
                posted = self.later(gap * self.rng.uniform(0.5, 0.95))
            else:
                posted = _whole(add_business_hours(self.cal(), due, _lognormal(self.rng, 1.5, 0.7)))
            if posted < self.cursor:
                # Already overdue when the owner gets to it: posted soon, never in the past.
                posted = self.later(_lognormal(self.rng, 0.25))
            if posted >= when:
                break
            self.reach(posted)
            self.post_update(self.r.owner, self.rng.choice(texts.UPDATES), posted)
        self.reach(when)

    def pass_hours(self, hours: float, diligence: float | None = None) -> None:
        self.pass_until(self.later(hours), diligence)

    def accept_median(self, hours: float, team: str, from_team: str) -> float:
        """The median time `team` takes to accept a request from `from_team`, usually `hours`.
        The buddy programme's built-in effect: a department in it accepts sooner."""
        if self.world.buddies is None:
            return hours
        return hours * self.world.buddies.accept_share(team, from_team, self.cursor)

    # -- what people do, through the lifecycle ---------------------------------------------------

    def open(self, cases: list[CaseRecord]) -> None:
        r, now = self.r, self.r.opened_at
        r.cases = cases
        # The service it is raised under (triage or its owner may file it elsewhere later).
        self.did("open", now, r.requester, team=r.team, service=r.service, cases=list(cases))
        change = lifecycle.open_request(
            title=r.title,
            requester_id=self.pid(r.requester),
            team_id=self.tid(r.team),
            team_name=self.team_name(),
            duty_owner_id=self.pid(r.owner),
            calendar=self.cal(),
            targets=self.targets(),
            now=now,
            service_id=None if r.service is None else self.company.services[r.service],
            case_ids=[c.seq for c in cases],
            parent_id=None if r.parent is None else r.parent.seq,
        )
        self.apply(change, touch=False)

    def offer(
        self, actor: str, to_team: str, to_person: str | None, note: str, now: datetime
    ) -> OfferRecord:
        previous = self.open_offer()
        self.did("offer", now, actor, to_team=to_team, to_person=to_person, note=note)
        change = lifecycle.offer(
            self.r.now,
            previous=None if previous is None else previous.facts(),
            actor_id=self.pid(actor),
            to_team_id=self.tid(to_team),
            to_person_id=None if to_person is None else self.pid(to_person),
            to_team_duty_owner_id=self.pid(self.company.duty_owner(to_team)),
            note=note,
            calendar=self.cal(to_team),
            targets=self.targets(),
            now=now,
        )
        offer = self.apply(change)
        assert isinstance(offer, OfferRecord)
        return offer

    def accept(self, actor: str, offer: OfferRecord, now: datetime) -> None:
        self.did("accept", now, actor, offer=offer)
        change = lifecycle.accept(
            self.r.now,
            offer.facts(),
            actor_id=self.pid(actor),
            actor_name=self.company.names[actor],
            path=[self.tid(t) for t in self.r.path],
            calendar=self.cal(self.world.team_keys[offer.to_team_id]),
            targets=self.targets(),
            now=now,
        )
        self.apply(change)

    def decline(self, actor: str, offer: OfferRecord, reason: str, now: datetime) -> None:
        self.r.declines += 1
        self.did("decline", now, actor, offer=offer, reason=reason)
        self.apply(
            lifecycle.decline(
                self.r.now, offer.facts(), actor_id=self.pid(actor), reason=reason, now=now
            )
        )

    def ask(self, actor: str, question: str, now: datetime) -> None:
        self.did("ask", now, actor, question=question)
        self.apply(
            lifecycle.ask_clarification(
                self.r.now, actor_id=self.pid(actor), question=question, now=now
            )
        )

    def answer(self, answer: str, now: datetime) -> None:
        self.did("answer", now, self.r.requester, answer=answer)
        change = lifecycle.answer_clarification(
            self.r.now,
            actor_id=self.pid(self.r.requester),
            answer=answer,
            calendar=self.cal(),
            targets=self.targets(),
            now=now,
        )
        self.apply(change)

    def wait(
        self, reason: WaitReason, note: str, now: datetime, child: RequestRecord | None = None
    ) -> None:
        owner = self.r.owner
        self.did("wait", now, owner, reason=reason, note=note, child=child)
        change = lifecycle.wait(
            self.r.now,
            actor_id=self.pid(owner),
            reason=reason,
            note=note,
            now=now,
            child_id=None if child is None else child.seq,
        )
        self.apply(change)

    def resume(self, actor: str, now: datetime) -> None:
        self.did("resume", now, actor)
        change = lifecycle.resume(
            self.r.now,
            actor_id=self.pid(actor),
            calendar=self.cal(),
            targets=self.targets(),
            now=now,
        )
        self.apply(change)

    def child_resolved(self, child: RequestRecord, now: datetime) -> None:
        """The product picks the request up again when the sub-request it waits on resolves."""
        change = lifecycle.child_resolved(
            self.r.now,
            child_id=child.seq,
            child_title=child.title,
            waiting_on_child_id=self.pauses[-1].child_id if self.pauses else None,
            calendar=self.cal(),
            targets=self.targets(),
            now=now,
        )
        if change is not None:
            self.apply(change)

    def post_update(self, author: str, body: str, now: datetime) -> None:
        self.did("post_update", now, author, body=body)
        change = lifecycle.post_update(
            self.r.now,
            actor_id=self.pid(author),
            body=body,
            working=True,
            calendar=self.cal(),
            targets=self.targets(),
            now=now,
        )
        self.apply(change)

    def make_promise(self, actor: str, what: str, due_at: datetime, now: datetime) -> PromiseRecord:
        self.did("make_promise", now, actor, what=what, due_at=due_at)
        change = lifecycle.make_promise(
            self.r.now, actor_id=self.pid(actor), what=what, due_at=due_at, now=now
        )
        return self.apply_promise(change, None)

    def keep_promise(self, promise: PromiseRecord, note: str, now: datetime) -> None:
        if promise.facts.state != PromiseState.OPEN:
            return
        actor = promise.facts.made_by_id
        self.did("keep_promise", now, self.world.handles[actor], promise=promise, note=note)
        change = lifecycle.keep_promise(
            self.r.now,
            promise.facts,
            actor_id=actor,
            note=note,
            lead_id=self._escalates_to(self.r.team),
            now=now,
        )
        self.apply_promise(change, promise)

    def break_promise(self, promise: PromiseRecord, now: datetime) -> None:
        self.r.broken += 1
        lead = self._escalates_to(self.r.team)
        change = lifecycle.break_promise(self.r.now, promise.facts, lead_id=lead, now=now)
        self.apply_promise(change, promise)

    def remind_promise(self, promise: PromiseRecord, now: datetime) -> None:
        promise.facts, notice = lifecycle.remind_promise(promise.facts, now=now)
        self.write((), (notice,), now)

    def _escalates_to(self, team: str) -> int:
        return lifecycle.escalates_to(
            self.pid(self.company.lead(team)), self.pid(self.company.duty_owner(team))
        )

    def escalate_offer(self, offer: OfferRecord, now: datetime) -> None:
        self.r.escalations += 1
        lead = self._escalates_to(self.world.team_keys[offer.to_team_id])
        self.apply(lifecycle.escalate_offer(self.r.now, offer.facts(), lead_id=lead, now=now))

    def remind_update(self, now: datetime) -> None:
        self.apply(
            lifecycle.remind_update(
                self.r.now, calendar=self.cal(self.r.team), targets=self.targets(), now=now
            )
        )

    def escalate_update(self, now: datetime) -> None:
        self.r.escalations += 1
        lead = self._escalates_to(self.r.team)
        self.apply(lifecycle.escalate_update(self.r.now, lead_id=lead, now=now))

    def resolve(self, resolution: str, now: datetime) -> None:
        r = self.r
        if r.first_resolved_at is None:
            r.first_resolved_at = now
        offer = self.open_offer()
        self.did("resolve", now, r.owner, resolution=resolution)
        change = lifecycle.resolve(
            r.now,
            open_offer=None if offer is None else offer.facts(),
            actor_id=self.pid(r.owner),
            resolution=resolution,
            calendar=self.cal(),
            targets=self.targets(),
            now=now,
        )
        self.apply(change)

    def confirm(self, now: datetime) -> None:
        requester = self.r.requester
        self.did("confirm", now, requester)
        self.apply(lifecycle.confirm(self.r.now, actor_id=self.pid(requester), now=now))

    def auto_close(self, now: datetime) -> None:
        self.apply(lifecycle.auto_close(self.r.now, now=now))

    def reopen(self, reason: str, now: datetime) -> None:
        r = self.r
        r.reopened = True
        self.did("reopen", now, r.requester, reason=reason)
        change = lifecycle.reopen(
            r.now,
            actor_id=self.pid(r.requester),
            reason=reason,
            calendar=self.cal(),
            targets=self.targets(),
            now=now,
        )
        self.apply(change)

    def rate(self, scores: dict[str, int], comment: str, now: datetime) -> None:
        r = self.r
        rating = RatingRecord(
            self.history.next_seq(), r, self.pid(r.requester), scores, comment, now
        )
        self.history.ratings.append(rating)
        self.did("rate", now, r.requester, scores=scores, comment=comment)
        change = lifecycle.rate(
            r.now,
            actor_id=self.pid(r.requester),
            scores=Scores(**scores),
            comment=comment,
            now=now,
        )
        self.apply(change)

    def give_feedback(
        self, giver: str, receiver: str, kind: str, sbi: tuple[str, str, str], now: datetime
    ) -> None:
        situation, behaviour, impact = sbi
        feedback = FeedbackRecord(
            self.history.next_seq(),
            self.pid(giver),
            self.pid(receiver),
            kind,
            situation,
            behaviour,
            impact,
            self.r,
            now,
        )
        self.history.feedback.append(feedback)
        self.did("give_feedback", now, giver, receiver=receiver, kind=kind, sbi=sbi)
        event, notice = lifecycle.give_feedback(
            team_id=self.r.now.team_id,
            actor_id=self.pid(giver),
            to_person_id=self.pid(receiver),
            kind=kind,
            now=now,
        )
        self.write(
            (replace(event, payload=event.payload.with_new_row(feedback.seq)),), (notice,), now
        )

    def link_case(self, case: CaseRecord, now: datetime) -> None:
        r = self.r
        r.cases.append(case)
        self.did("link_case", now, r.requester, case=case)
        change = lifecycle.link_case(
            r.now,
            actor_id=self.pid(r.requester),
            case_id=case.seq,
            reference=case.reference,
            now=now,
        )
        self.apply(change)

    # -- ending unresolved, and filing under another service --------------------------------

    def _open_promises(self) -> list[PromiseFacts]:
        return [p.facts for p in self.promises if p.facts.state == PromiseState.OPEN]

    def withdraw_request(self, reason: str, now: datetime) -> None:
        """The requester withdraws the request with a reason; it ends there."""
        r = self.r
        offer = self.open_offer()
        self.did("withdraw", now, r.requester, reason=reason)
        change = lifecycle.withdraw_request(
            r.now,
            open_offer=None if offer is None else offer.facts(),
            offer_receiver_id=None
            if offer is None
            else lifecycle.offer_receiver(
                offer.facts(),
                self.pid(self.company.duty_owner(self.world.team_keys[offer.to_team_id])),
            ),
            promises=self._open_promises(),
            actor_id=self.pid(r.requester),
            reason=reason,
            now=now,
        )
        self.apply(change)

    def merge_into(self, original: Life, note: str, now: datetime) -> None:
        """This request's owner merges it, a duplicate, into `original`: it ends as merged and
        the original gains its people and cases. Both sides' notices name both requests."""
        duplicate, into = self.r, original.r
        actor = duplicate.owner
        offer = self.open_offer()
        self.did("merge", now, actor, into=into, note=note)
        merged = lifecycle.merge(
            duplicate.now,
            into.now,
            duplicate_id=duplicate.seq,
            into_id=into.seq,
            open_offer=None if offer is None else offer.facts(),
            promises=self._open_promises(),
            # The service reads the participants by person id.
            duplicate_people=[
                self.pid(duplicate.requester),
                *sorted(self.pid(h) for h in duplicate.participants),
            ],
            new_case_ids=[c.seq for c in duplicate.cases if c not in into.cases],
            actor_id=self.pid(actor),
            note=note,
            now=now,
        )
        names = (duplicate.seq, into.seq)
        self.apply(merged.duplicate, names=names)
        into.cases.extend(c for c in duplicate.cases if c not in into.cases)
        original.apply(merged.into, names=names)

    def change_service(
        self, actor: str, spec: ServiceSpec, reason: str, now: datetime
    ) -> OfferRecord | None:
        """File the request under `spec`; returns the offer to the service's team when it
        belongs to another team."""
        r = self.r
        team = self.company.service_team[spec.key]
        offer = self.open_offer()
        self.did("change_service", now, actor, service=spec.key, reason=reason)
        change = lifecycle.change_service(
            r.now,
            from_service_id=None if r.service is None else self.company.services[r.service],
            to_service_id=self.company.services[spec.key],
            service_name=spec.name,
            service_team_id=self.tid(team),
            service_team_duty_owner_id=self.pid(self.company.duty_owner(team)),
            open_offer=None if offer is None else offer.facts(),
            reason=reason,
            actor_id=self.pid(actor),
            calendar=self.cal(team),
            targets=_targets_of(spec),
            now=now,
        )
        r.service = spec.key
        r.confidential = r.confidential or spec.confidential
        created = self.apply(change)
        return created if isinstance(created, OfferRecord) else None

    # -- the story of one request ------------------------------------------------------------

    def live(self) -> None:
        with contextlib.suppress(PastEnd):
            self._live()
            # What the life leaves due still happens, as the sweeper does it: a promise made
            # just before a quick resolution is kept as planned after it, or broken when due.
            self.advance(END)

    def _live(self) -> None:
        r, rng = self.r, self.rng
        if self.depth == 0 and rng.random() < WITHDRAW_EARLY_SHARE:
            # Withdrawn before anyone took it: the customer's need went away within the hour.
            self.reach(
                _whole(add_business_hours(self.requester_cal(), self.cursor, _lognormal(rng, 1.0)))
            )
            self.withdraw_request(rng.choice(texts.WITHDRAW_REASONS), self.cursor)
            return
        if self.company.team_specs[r.team].is_triage:
            self._route_from_triage()
        else:
            self._take_in()
        if r.service is not None and r.service != self.intended.key:
            self._file_under_intended()
        if self.depth == 0 and not r.confidential:
            if rng.random() < DUPLICATE_SHARE:
                self._duplicate()
            if rng.random() < WITHDRAW_LATER_SHARE:
                # Withdrawn while being worked, sometimes after the owner promised a call-back
                # (the promise is released, not broken).
                self.pass_hours(_lognormal(rng, 4.0))
                if rng.random() < 0.5 and r.state in rules.ALLOWED_IN["make_promise"]:
                    self._promise(keep=0.0)
                    self.pass_hours(_lognormal(rng, 0.5))
                if r.state in rules.ALLOWED_IN["withdraw"]:
                    self.withdraw_request(rng.choice(texts.WITHDRAW_REASONS), self.cursor)
                    return
        behaviour = self.company.team_specs[r.team].behaviour
        if rng.random() < 0.03 and r.cases and not r.confidential:
            self.pass_hours(_lognormal(rng, 2.0))
            self.link_case(self.world.new_case(r.requester, self.cursor), self.cursor)
        if rng.random() < behaviour.clarify:
            self._clarify()
        if rng.random() < behaviour.handoff:
            self._hand_off()
        behaviour = self.company.team_specs[r.team].behaviour
        if self.depth == 0 and rng.random() < behaviour.sub_request and self.world.may_branch():
            self._sub_request()
        elif rng.random() < behaviour.wait:
            self._wait_outside()
        self._work(1.0)
        self._aftercare()

    def _take_in(self) -> None:
        r, rng = self.r, self.rng
        team = r.team
        behaviour = self.company.team_specs[team].behaviour
        accept_median = self.accept_median(
            self.targets().accept_hours * behaviour.accept_factor,
            team,
            self.company.home_team[r.requester],
        )
        intake = self.offers[0]
        if rng.random() < behaviour.direct_offer:
            duty = self.company.duty_owner(team)
            self.reach(self.later(_lognormal(rng, accept_median * 0.5, 0.9)))
            clerk = self.member(team, exclude=(duty, self.company.lead(team), r.requester))
            offer = self.offer(duty, team, clerk, "", self.cursor)
            self.reach(self.later(_lognormal(rng, accept_median * 0.4, 0.9)))
            if rng.random() < behaviour.decline:
                self.decline(clerk, offer, rng.choice(texts.DECLINE_TO_PERSON), self.cursor)
                self.reach(self.later(_lognormal(rng, 0.3, 0.5)))
                clerk = self.member(team, exclude=(duty, clerk, self.company.lead(team)))
                offer = self.offer(duty, team, clerk, "", self.cursor)
                self.reach(self.later(_lognormal(rng, accept_median * 0.4, 0.9)))
            self.accept(clerk, offer, self.cursor)
        else:
            self.reach(self.later(_lognormal(rng, accept_median, 0.9)))
            self.accept(self.member(team, exclude=(r.requester,)), intake, self.cursor)

    def _route_from_triage(self) -> None:
        r, rng = self.r, self.rng
        router = self.member(r.team)
        self.reach(self.later(_lognormal(rng, 0.5, 0.6)))
        target = self.company.service_team[self.intended.key]
        if rng.random() < 0.2:
            wrong = rng.choice(self.company.team_specs[target].neighbours or (target,))
            if wrong != target:
                offer = self.offer(
                    router,
                    wrong,
                    None,
                    rng.choice(texts.TRIAGE_NOTES).format(team=self.team_name(wrong)),
                    self.cursor,
                )
                self.reach(self.later(_lognormal(rng, 1.0), wrong))
                reason = rng.choice(texts.DECLINE_TO_TEAM).format(team=self.team_name(target))
                self.decline(self.member(wrong), offer, reason, self.cursor)
                self.reach(self.later(_lognormal(rng, 0.3, 0.5)))
                router = r.owner
        if rng.random() < TRIAGE_FILES_SERVICE:
            reason = rng.choice(texts.TRIAGE_SERVICE_REASONS).format(service=self.intended.name)
            filed = self.change_service(router, self.intended, reason, self.cursor)
            assert filed is not None, "triage files a request under another team's service"
            offer = filed
        else:
            note = rng.choice(texts.TRIAGE_NOTES).format(team=self.team_name(target))
            offer = self.offer(router, target, None, note, self.cursor)
        behaviour = self.company.team_specs[target].behaviour
        accept_median = self.accept_median(4.0 * behaviour.accept_factor, target, r.team)
        self.reach(self.later(_lognormal(rng, accept_median), target))
        self.accept(self.member(target, exclude=(r.requester,)), offer, self.cursor)

    def _file_under_intended(self) -> None:
        """Raised under a neighbouring service of the same team: its owner files it under the
        right one soon after taking it (the targets follow)."""
        r, rng = self.r, self.rng
        self.pass_hours(_lognormal(rng, 0.5, 0.6))
        if r.state not in rules.ALLOWED_IN["change_service"]:
            return
        reason = rng.choice(texts.RECATEGORISE_REASONS).format(service=self.intended.name)
        self.change_service(r.owner, self.intended, reason, self.cursor)

    def _duplicate(self) -> None:
        """A colleague of the requester (or the requester again) raises the same request; the
        duty owner who holds the duplicate merges it into this one."""
        r, rng = self.r, self.rng
        colleagues = self.company.members[self.company.home_team[r.requester]]
        raiser = rng.choice(colleagues)
        raised = _whole(add_business_hours(self.requester_cal(), self.cursor, _lognormal(rng, 2.0)))
        self.pass_until(raised)
        if r.state not in rules.ALLOWED_IN["merge_into"]:
            return
        duplicate = self.world.open_request(
            raiser, self.intended, raised, cases=list(r.cases), duplicate_of=r
        )
        accept_hours = duplicate.targets().accept_hours
        merged_at = duplicate.later(_lognormal(rng, accept_hours * 0.3, 0.7))
        # Both requests live up to the merge; past the end both simply stop.
        with contextlib.suppress(PastEnd):
            duplicate.reach(merged_at)
        self.pass_until(merged_at)
        if (
            r.state not in rules.ALLOWED_IN["merge_into"]
            or duplicate.r.state not in rules.ALLOWED_IN["merge"]
        ):
            return
        duplicate.merge_into(self, rng.choice(texts.MERGE_NOTES), self.cursor)

    def _clarify(self) -> None:
        rng = self.rng
        self.pass_hours(_lognormal(self.rng, 0.5, 0.6))
        if self.r.state not in (rules.NEW, rules.IN_PROGRESS):
            return
        index = rng.randrange(len(texts.QUESTIONS))
        self.ask(self.r.owner, texts.QUESTIONS[index], self.cursor)
        answered = _whole(
            add_business_hours(self.requester_cal(), self.cursor, _lognormal(rng, 3.0))
        )
        self.pass_until(answered)
        self.answer(texts.ANSWERS[index], self.cursor)

    def _hand_off(self) -> None:
        r, rng = self.r, self.rng
        home = r.team
        neighbours = self.company.team_specs[home].neighbours
        if not neighbours:
            return
        self.pass_hours(_lognormal(rng, 1.5))
        other = rng.choice(neighbours)
        note = rng.choice(texts.HANDOFF_NOTES).format(team=self.team_name(other))
        offer = self.offer(r.owner, other, None, note, self.cursor)
        other_behaviour = self.company.team_specs[other].behaviour
        accept_median = self.accept_median(
            self.targets().accept_hours * other_behaviour.accept_factor, other, home
        )
        self.pass_until(self.later(_lognormal(rng, accept_median), other))
        if rng.random() < other_behaviour.decline * 2:
            reason = rng.choice(texts.DECLINE_TO_TEAM).format(team=self.team_name(home))
            self.decline(self.member(other), offer, reason, self.cursor)
            return
        self.accept(self.member(other, exclude=(r.requester,)), offer, self.cursor)
        bounce = max(self.company.team_specs[home].behaviour.bounce, other_behaviour.bounce)
        if self.world.buddies is not None:
            bounce = self.world.buddies.bounce_chance(other, home, bounce, self.cursor)
        if rng.random() < bounce:
            self.pass_hours(_lognormal(rng, 3.0))
            name = self.team_name(home)
            note = rng.choice(texts.BOUNCE_NOTES).format(team=name, a_team=texts.with_article(name))
            back = self.offer(r.owner, home, None, note, self.cursor)
            home_behaviour = self.company.team_specs[home].behaviour
            accept_median = self.accept_median(
                self.targets().accept_hours * home_behaviour.accept_factor, home, other
            )
            self.pass_until(self.later(_lognormal(rng, accept_median), home))
            self.accept(self.member(home, exclude=(r.requester,)), back, self.cursor)

    def _sub_request(self) -> None:
        r, rng = self.r, self.rng
        choices = [
            t
            for t in self.company.team_specs[r.team].neighbours
            if self.company.team_specs[t].services
        ]
        if not choices:
            return
        self.pass_hours(_lognormal(rng, 1.0))
        if r.state != rules.IN_PROGRESS:
            return
        team = rng.choice(choices)
        service = rng.choice(self.company.team_specs[team].services)
        child = self.world.open_request(
            r.owner, service, self.cursor, parent=r, cases=list(r.cases)
        )
        self.apply(
            lifecycle.open_sub_request(
                r.now,
                child_id=child.r.seq,
                child_team_id=child.r.now.team_id,
                actor_id=self.pid(r.owner),
                now=self.cursor,
            )
        )
        self.wait(
            WaitReason.SUB_REQUEST,
            f"Waiting on {self.team_name(team)}: {child.r.title}",
            self.cursor,
            child.r,
        )
        child.live()
        resolved = child.r.first_resolved_at
        if resolved is None:
            self.pass_until(END + timedelta(seconds=1))
            return
        self.pass_until(resolved)
        self.child_resolved(child.r, resolved)

    def _wait_outside(self) -> None:
        rng = self.rng
        self.pass_hours(_lognormal(rng, 1.0))
        if self.r.state != rules.IN_PROGRESS:
            return
        if rng.random() < 0.25:
            reason, note = WaitReason.REQUESTER, rng.choice(texts.REQUESTER_WAITS)
        else:
            reason, note = WaitReason.OUTSIDE, rng.choice(texts.OUTSIDE_WAITS)
        self.wait(reason, note, self.cursor)
        self.pass_hours(_lognormal(rng, 6.0))
        self.resume(self.r.owner, self.cursor)

    def _work(self, share: float) -> None:
        """Work the request to resolution, posting updates and making (and keeping) promises."""
        r, rng = self.r, self.rng
        behaviour = self.company.team_specs[r.team].behaviour
        work = _lognormal(rng, self.targets().resolve_hours * behaviour.work_factor * share, 0.8)
        if rng.random() < behaviour.promise:
            self.pass_hours(work * rng.uniform(0.05, 0.5))
            self._promise(behaviour.keep)
            work *= rng.uniform(0.5, 0.9)
        self.pass_hours(work)
        if r.state != rules.IN_PROGRESS and r.state != rules.NEW:
            return
        spec = self.intended
        resolution = rng.choice(spec.resolutions).format(**self.world.fill(r))
        self.resolve(resolution, self.cursor)

    def _promise(self, keep: float) -> None:
        rng = self.rng
        hours = rng.choice((1.0, 2.0, 2.0, 3.0, 4.0))
        due = self.later(hours)
        # People promise round times: "by 15:00", "by 15:30".
        due = due + timedelta(minutes=(30 - due.minute % 30) % 30, seconds=-due.second)
        local = due.astimezone(ZoneInfo(self.cal().timezone))
        what = rng.choice(texts.PROMISES).format(time=f"{local:%H:%M}")
        promise = self.make_promise(self.r.owner, what, due, self.cursor)
        if self.world.rollout is not None:
            # The training programme's built-in effect: its completers keep more promises.
            keep = self.world.rollout.keep_chance(self.r.owner, keep, self.cursor)
        if rng.random() < keep:
            span = (due - self.cursor).total_seconds()
            done = _whole(self.cursor + timedelta(seconds=span * rng.uniform(0.3, 0.95)))
            note = rng.choice(texts.KEEP_NOTES)
            self.schedule(done, partial(self.keep_promise, promise, note))

    def _aftercare(self) -> None:
        r, rng = self.r, self.rng
        if r.state != rules.RESOLVED:
            return
        behaviour = self.company.team_specs[r.team].behaviour
        if rng.random() < behaviour.reopen:
            self.reach(
                _whole(add_business_hours(self.requester_cal(), self.cursor, _lognormal(rng, 3.0)))
            )
            if r.state == rules.RESOLVED:
                self.reopen(rng.choice(texts.REOPEN_REASONS), self.cursor)
                self._work(0.3)
        if r.state != rules.RESOLVED:
            return
        replied = _whole(
            add_business_hours(self.requester_cal(), self.cursor, _lognormal(rng, 4.0))
        )
        confirms = rng.random() < CONFIRM_SHARE
        self.reach(replied if confirms else (r.now.auto_close_at or replied))
        if confirms and r.state == rules.RESOLVED:
            self.confirm(self.cursor)
        bad = r.broken + r.escalations + r.now.bounce_count + r.declines + int(r.reopened)
        if rng.random() < RATING_SHARE + 0.1 * min(bad, 3):
            self.reach(self.cursor + timedelta(minutes=rng.randint(1, 30)))
            self.rate(*self._scores(), self.cursor)
        if rng.random() < 0.02 + 0.04 * min(bad, 2) and r.owner != r.requester:
            self.reach(self.later(_lognormal(rng, 4.0)))
            template = rng.choice(texts.CONSTRUCTIVE if bad else texts.PRAISE)
            sbi = (template[0].format(title=r.title), template[1], template[2])
            self.give_feedback(
                r.requester, r.owner, "constructive" if bad else "praise", sbi, self.cursor
            )

    def _scores(self) -> tuple[dict[str, int], str]:
        r, rng = self.r, self.rng
        base = self.company.team_specs[r.team].behaviour.quality
        due = r.now.resolve_due_at
        late = due is not None and (r.first_resolved_at or END) > due

        def score(value: float) -> int:
            return max(1, min(5, round(value + rng.gauss(0.0, 0.6))))

        scores = {
            "understand": score(base + 0.3 - 0.5 * r.reopened),
            "own": score(base - 0.8 * r.escalations - 0.8 * r.now.bounce_count - 0.4 * r.declines),
            "serve": score(base - 0.8 * late - 1.0 * r.reopened),
            "communicate": score(base - 1.2 * r.broken - 0.4 * r.escalations),
        }
        average = sum(scores.values()) / 4
        pool = texts.GOOD_COMMENTS if average >= 3.5 else texts.POOR_COMMENTS
        return scores, rng.choice(pool)


def within_pace(used: int, budget: int, opened: int, roots: int) -> bool:
    """Whether one more of a `budget` may be spent after `opened` of `roots` requests: at most
    the budget's share for the requests opened so far. The teams ask for a few more
    sub-requests than the budget; spent first come, first served it ran out weeks before the
    end, and the last weeks' requests, with no sub-requests, were resolved faster: a change in
    the company the history's own months showed and no fit of the months before could know."""
    return used < budget * opened / roots


class Simulation:
    """Opens the requests of six months in time order and lives each one through."""

    def __init__(
        self,
        company: Company,
        rng: random.Random,
        requests: int,
        *,
        record_actions: bool = False,
        rollout: Rollout | None = None,
        buddies: BuddyPlan | None = None,
    ) -> None:
        self.company = company
        self.rollout = rollout
        self.buddies = buddies
        self.rng = rng
        self.history = History()
        self.record_actions = record_actions
        self.handles = {person_id: handle for handle, person_id in company.people.items()}
        self.team_keys = {team_id: key for key, team_id in company.teams.items()}
        self.sub_budget = round(requests * SUB_REQUEST_SHARE)
        self.roots = max(1, requests - self.sub_budget)
        self.sub_used = 0
        self.roots_opened = 0
        self._claim = 10_000
        self._open_cases: dict[str, list[CaseRecord]] = {}
        london = company.calendars["motor"]
        self.days = [
            START.date() + timedelta(days=i)
            for i in range((END.date() - START.date()).days + 1)
            if london.is_working_day(START.date() + timedelta(days=i))
        ]
        weights = []
        for i, day in enumerate(self.days):
            trend = 0.9 + 0.2 * i / len(self.days)
            weekday = {1: 1.15, 5: 0.85}.get(day.isoweekday(), 1.0)
            summer = 0.85 if day.month == 8 else 1.0
            weights.append(trend * weekday * summer)
        self.day_weights = weights
        self.service_weights: list[tuple[ServiceSpec, float]] = [
            (spec, spec.weight) for spec in company.service_specs.values()
        ]

    def may_branch(self) -> bool:
        if not within_pace(self.sub_used, self.sub_budget, self.roots_opened, self.roots):
            return False
        self.sub_used += 1
        return True

    def fill(self, request: RequestRecord) -> dict[str, str]:
        """The names a title or resolution mentions. Without a linked case the request still
        names a customer and a claim, as a person would ("Call Mr Chen back about CLM-…"),
        never "the claim for the customer" in a title that already says "claim"."""
        case = request.cases[0] if request.cases else None
        if case is not None:
            customer, claim = case.customer, case.reference
        else:
            customer = texts.CUSTOMERS[request.seq % len(texts.CUSTOMERS)]
            claim = texts.claim_reference(request.seq)
        return {
            "customer": customer,
            "claim": claim,
            "policy": f"HP-{20_000 + request.seq % 9_000}",
        }

    def new_case(self, handle: str, now: datetime) -> CaseRecord:
        self._claim += self.rng.randint(1, 3)
        created = _whole(now - timedelta(minutes=self.rng.randint(5, 240)))
        case = CaseRecord(
            self.history.next_seq(),
            f"CLM-2026-{self._claim:05d}",
            self.rng.choice(texts.CUSTOMERS),
            _whole(created + timedelta(days=self.rng.randint(5, 20))),
            "",
            created,
            self.company.people[handle],
        )
        self.history.cases.append(case)
        self._open_cases.setdefault(handle, []).append(case)
        if self.record_actions:
            actions = self.history.actions
            actions.append(
                Action(created, len(actions), "add_case", None, case.created_by_id, {"case": case})
            )
        return case

    def cases_for(self, handle: str, team: str, now: datetime) -> list[CaseRecord]:
        """Claims handlers link most requests to a customer's case, often one already open."""
        if team not in ("motor", "property") or self.rng.random() > 0.7:
            return []
        recent = [
            c for c in self._open_cases.get(handle, []) if now - c.created_at < timedelta(days=20)
        ]
        self._open_cases[handle] = recent
        if recent and self.rng.random() < 0.35:
            cases = [self.rng.choice(recent)]
        else:
            cases = [self.new_case(handle, now)]
        if len(recent) > 1 and self.rng.random() < 0.05 and recent[0] not in cases:
            cases.append(recent[0])
        return cases

    def open_request(
        self,
        requester: str,
        spec: ServiceSpec,
        now: datetime,
        *,
        parent: RequestRecord | None = None,
        cases: list[CaseRecord] | None = None,
        triage: bool = False,
        filed_under: ServiceSpec | None = None,
        duplicate_of: RequestRecord | None = None,
    ) -> Life:
        """Open a request for `spec`; raised under `filed_under` when the requester picked
        another service, or asking again what `duplicate_of` asks."""
        company, rng = self.company, self.rng
        team = company.service_team[spec.key]
        if triage:
            team = next(k for k, t in company.team_specs.items() if t.is_triage)
        if spec.confidential:
            # A confidential request (a grievance) is about colleagues, never a customer's
            # case: linking one would show it on the case page to everyone who reads the case.
            cases = []
        elif cases is None:
            cases = self.cases_for(requester, company.home_team[requester], now)
        record = RequestRecord(
            self.history.next_seq(),
            title="",
            need="",
            context=rng.choice(texts.CONTEXTS),
            impact_customers=0
            if spec.confidential
            else len(cases) or rng.choice((0, 0, 1, 1, 2, 5)),
            desired_by=None,
            priority=rng.choices(rules.PRIORITIES, weights=(10, 70, 15, 5))[0],
            requester=requester,
            service=None if triage else (filed_under or spec).key,
            team=team,
            owner=company.duty_owner(team),
            opened_at=now,
            parent=parent,
            confidential=spec.confidential and not triage,
        )
        record.cases = cases
        fill = self.fill(record)
        if duplicate_of is not None:
            record.title = duplicate_of.title
        else:
            record.title = rng.choice(spec.titles).format(**fill)[:200]
        record.need = f"{record.title}. {rng.choice(texts.NEEDS)}"
        if rng.random() < 0.3:
            record.desired_by = _whole(
                add_business_hours(company.calendars[team], now, spec.resolve)
            )
        self.history.requests.append(record)
        life = Life(self, record, spec, depth=0 if parent is None else 1)
        life.open(cases)
        return life

    def _opening_times(self) -> list[datetime]:
        london = ZoneInfo("Europe/London")
        days = self.rng.choices(self.days, weights=self.day_weights, k=self.roots)
        times = []
        for day in days:
            minute = int(self.rng.triangular(0, 480, 90))
            local = datetime.combine(day, time(9, 0), tzinfo=london) + timedelta(minutes=minute)
            times.append(local.astimezone(UTC).replace(second=self.rng.randrange(60)))
        times.sort()
        return [t for t in times if t < END]

    def _neighbouring_service(self, spec: ServiceSpec) -> ServiceSpec | None:
        """Another open (not confidential) service of the same team, if it has one."""
        team = self.company.team_specs[self.company.service_team[spec.key]]
        others = [s for s in team.services if s.key != spec.key and not s.confidential]
        return self.rng.choice(others) if others and not spec.confidential else None

    def _requester_for(self, spec: ServiceSpec) -> str:
        team = self.rng.choice(spec.asked_by)
        return self.rng.choice(self.company.members[team])

    def run(self, tick: Callable[[], None] | None = None) -> History:
        specs = [spec for spec, _ in self.service_weights]
        weights = [w for _, w in self.service_weights]
        for opened_at in self._opening_times():
            spec = self.rng.choices(specs, weights=weights)[0]
            requester = self._requester_for(spec)
            triage = self.rng.random() < TRIAGE_SHARE and not spec.confidential
            filed_under = None
            if not triage and self.rng.random() < MISFILED_SHARE:
                filed_under = self._neighbouring_service(spec)
            life = self.open_request(
                requester, spec, opened_at, triage=triage, filed_under=filed_under
            )
            self.roots_opened += 1
            life.live()
            if tick is not None:
                tick()
        return self.history


def simulate(
    company: Company,
    rng: random.Random,
    requests: int,
    tick: Callable[[], None] | None = None,
    *,
    record_actions: bool = False,
    rollout: Rollout | None = None,
    buddies: BuddyPlan | None = None,
) -> History:
    """About `requests` requests (sub-requests included) opened over the six months before END."""
    simulation = Simulation(
        company, rng, requests, record_actions=record_actions, rollout=rollout, buddies=buddies
    )
    return simulation.run(tick)
