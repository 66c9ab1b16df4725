"""Six months of requests, simulated in memory with the product's own rules.

Each request is lived through in time order by a `Life`: its methods mirror the request, promise,
feedback and sweeper services one for one (same state changes, same event kinds and payload keys,
same notifications), but they only append plain records to a `History`. Before every step the
life fires whatever the sweeper would have fired by then (escalations, reminders, broken
promises, auto-closes), so the history is exactly as swept as a live system's. A life that
reaches the end date simply stops: the request stays open with its offers, promises and
next-update-due time as they stand.

Records reference each other as objects; ids are assigned at the end in time order, so the
written ids follow the order in which the product would have created the rows.
"""

from __future__ import annotations

import contextlib
import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from followthrough.demo import texts
from followthrough.demo.company import Company, ServiceSpec
from followthrough.org.rules import (
    WorkingCalendar,
    add_business_hours,
    add_business_seconds,
    business_hours_between,
    business_seconds_between,
)
from followthrough.promises import rules as promise_rules
from followthrough.requests import rules

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


class PastEnd(Exception):
    """The next step of a life falls after the end date: the request stays as it is."""


@dataclass(eq=False)
class Record:
    """A row to be written; `id` is assigned in time order just before writing."""

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
    state: str = rules.NEW
    waiting_on: str | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    first_resolved_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = None
    resolution: str | None = None
    next_update_due_at: datetime | None = None
    update_reminded_at: datetime | None = None
    update_escalate_at: datetime | None = None
    resolve_due_at: datetime | None = None
    clock_paused_at: datetime | None = None
    paused_business_seconds: float = 0.0
    auto_close_at: datetime | None = None
    bounce_count: int = 0
    version: int = 1
    path: list[str] = field(default_factory=list)
    participants: dict[str, None] = field(default_factory=dict)
    cases: list[CaseRecord] = field(default_factory=list)
    # What the requester lived through, for ratings and feedback.
    broken: int = 0
    escalations: int = 0
    declines: int = 0
    reopened: bool = False


@dataclass(eq=False)
class OfferRecord(Record):
    request: RequestRecord
    kind: str
    from_person_id: int
    from_team_id: int | None
    to_team: str
    to_person: str | None
    note: str
    offered_at: datetime
    due_at: datetime
    state: str = "open"
    escalated_at: datetime | None = None
    answered_at: datetime | None = None
    answered_by_id: int | None = None
    decline_reason: str | None = None


@dataclass(eq=False)
class PauseRecord(Record):
    request: RequestRecord
    reason: str
    note: str
    child: RequestRecord | None
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
    made_by: str
    made_to_id: int
    what: str
    due_at: datetime
    made_at: datetime
    state: str = promise_rules.OPEN
    done_at: datetime | None = None
    done_note: str | None = None
    reminded_at: datetime | None = None


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
    kind: str
    at: datetime
    request: RequestRecord | None
    actor_id: int | None
    team_id: int | None
    other_team_id: int | None
    person_id: int | None
    payload: dict[str, Any]


@dataclass(eq=False)
class NotificationRecord(Record):
    person_id: int
    kind: str
    message: str
    request: RequestRecord | None
    created_at: datetime


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
    _seq: int = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq


def _lognormal(rng: random.Random, median: float, sigma: float = 0.8) -> float:
    return median * rng.lognormvariate(0.0, sigma)


def _sub_request_resolved(child: RequestRecord) -> str:
    """The `why` of a resume; a function because the child's id is only known when written."""
    return f"sub-request {child.id} resolved"


def _whole(instant: datetime) -> datetime:
    """Times in the demo are whole seconds, so derived targets are too."""
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

    def event(
        self,
        kind: str,
        at: datetime,
        /,
        *,
        actor: str | None = None,
        team: str | None = None,
        other_team: str | None = None,
        person: str | None = None,
        **payload: Any,
    ) -> None:
        self.history.events.append(
            EventRecord(
                self.history.next_seq(),
                kind,
                at,
                self.r,
                None if actor is None else self.pid(actor),
                self.tid(team or self.r.team),
                None if other_team is None else self.tid(other_team),
                None if person is None else self.pid(person),
                {k: v for k, v in payload.items() if v is not None},
            )
        )

    def notify(self, handle: str, kind: str, message: str, at: datetime) -> None:
        self.history.notifications.append(
            NotificationRecord(self.history.next_seq(), self.pid(handle), kind, message, self.r, at)
        )

    def touch(self, now: datetime) -> None:
        self.r.updated_at = now
        self.r.version += 1

    def participate(self, handle: str) -> None:
        self.r.participants.setdefault(handle, None)

    def reset_ladder(self, now: datetime) -> None:
        ladder = rules.update_ladder(self.cal(), now, self.targets()[1])
        self.r.next_update_due_at = ladder.due_at
        self.r.update_escalate_at = ladder.escalate_at
        self.r.update_reminded_at = None

    def suspend_ladder(self) -> None:
        self.r.next_update_due_at = None
        self.r.update_escalate_at = None
        self.r.update_reminded_at = None

    def targets(self) -> tuple[float, float, float, int]:
        """accept, update cadence, resolve, auto-close days (the uncatalogued ones for triage)."""
        if self.r.service is None:
            return (4.0, 8.0, 24.0, 5)
        spec = self.company.service_specs[self.r.service]
        return (spec.accept, spec.update_every, spec.resolve, spec.auto_close_days)

    def open_offer(self) -> OfferRecord | None:
        return next((o for o in self.offers if o.state == "open"), None)

    def member(self, team: str, *, exclude: tuple[str, ...] = ()) -> str:
        spec = self.company.team_specs[team]
        pool = [h for h in spec.members if h not in exclude] or [spec.lead]
        return self.rng.choice(pool)

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
        r = self.r
        for offer in self.offers:
            if offer.state == "open" and offer.escalated_at is None:
                yield offer.due_at, 1, partial(self.escalate_offer, offer)
        for promise in self.promises:
            if promise.state == promise_rules.OPEN:
                yield promise.due_at, 2, partial(self.break_promise, promise)
                if promise.reminded_at is None:
                    remind_at = promise_rules.reminder_due_at(promise.due_at)
                    yield remind_at, 3, partial(self.remind_promise, promise)
        if r.state in rules.OPEN_STATES:
            if r.next_update_due_at is not None and r.update_reminded_at is None:
                yield r.next_update_due_at, 4, self.remind_update
            if r.update_reminded_at is not None and r.update_escalate_at is not None:
                yield r.update_escalate_at, 5, self.escalate_update
        if r.state == rules.RESOLVED and r.auto_close_at is not None:
            yield r.auto_close_at, 6, lambda at: self.close(at, actor=None)

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
            best[2](max(best[0], self.cursor))

    def pass_until(self, when: datetime, diligence: float | None = None) -> None:
        """Let time pass to `when`, the owner posting updates as the cadence asks."""
        behaviour = self.company.team_specs[self.r.team].behaviour
        diligence = behaviour.diligence if diligence is None else diligence
        while self.r.next_update_due_at is not None and self.r.next_update_due_at < when:
            due = self.r.next_update_due_at
            if self.rng.random() < diligence:
                gap = business_hours_between(self.cal(), self.cursor, due)
                posted = self.later(gap * self.rng.uniform(0.5, 0.95))
            else:
                posted = _whole(add_business_hours(self.cal(), due, _lognormal(self.rng, 1.5, 0.7)))
            if posted >= when:
                break
            self.reach(posted)
            self.post_update(self.r.owner, self.rng.choice(texts.UPDATES), posted)
        self.reach(when)

    def pass_hours(self, hours: float, diligence: float | None = None) -> None:
        self.pass_until(self.later(hours), diligence)

    # -- the services, mirrored ------------------------------------------------------------

    def open(self, cases: list[CaseRecord]) -> None:
        r, now = self.r, self.r.opened_at
        accept, _, resolve, _ = self.targets()
        r.resolve_due_at = _whole(add_business_hours(self.cal(), now, resolve))
        r.updated_at = now
        self.reset_ladder(now)
        r.path.append(r.team)
        self.history.path_steps.append(
            PathStepRecord(self.history.next_seq(), r, self.tid(r.team), now, False)
        )
        self.participate(r.requester)
        self.participate(r.owner)
        offer = OfferRecord(
            self.history.next_seq(),
            r,
            "intake",
            self.pid(r.requester),
            None,
            r.team,
            None,
            "",
            now,
            _whole(add_business_hours(self.cal(), now, accept)),
        )
        self.offers.append(offer)
        self.history.offers.append(offer)
        r.cases = cases
        self.event(
            "opened",
            now,
            actor=r.requester,
            person=r.owner,
            service_id=None if r.service is None else self.company.services[r.service],
            case_ids=list(cases) or None,
            parent_id=r.parent,
        )
        self.event("offered", now, actor=r.requester, offer_id=offer, intake=True)
        self.notify(r.owner, "offer", f"New request for {self.team_name()}: {r.title}", now)

    def team_name(self, team: str | None = None) -> str:
        return self.company.team_specs[team or self.r.team].name

    def offer(
        self, actor: str, to_team: str, to_person: str | None, note: str, now: datetime
    ) -> OfferRecord:
        r = self.r
        previous = self.open_offer()
        if previous is not None:
            previous.state = "withdrawn"
            previous.answered_at = now
            previous.answered_by_id = self.pid(actor)
            self.event(
                "withdrawn",
                now,
                actor=actor,
                team=previous.to_team,
                offer_id=previous,
                superseded=True,
            )
        offer = OfferRecord(
            self.history.next_seq(),
            r,
            "handoff",
            self.pid(actor),
            self.tid(r.team),
            to_team,
            to_person,
            note,
            now,
            _whole(add_business_hours(self.cal(to_team), now, self.targets()[0])),
        )
        self.offers.append(offer)
        self.history.offers.append(offer)
        self.touch(now)
        self.event(
            "offered",
            now,
            actor=actor,
            other_team=to_team,
            person=to_person,
            offer_id=offer,
            note=note or None,
        )
        receiver = to_person if to_person is not None else self.company.duty_owner(to_team)
        self.participate(receiver)
        self.notify(
            receiver,
            "offer",
            f"Offered to you: {r.title} (accept by {offer.due_at:%Y-%m-%d %H:%M} UTC)",
            now,
        )
        return offer

    def accept(self, actor: str, offer: OfferRecord, now: datetime) -> None:
        r = self.r
        previous_owner, previous_team = r.owner, r.team
        offer.state = "accepted"
        offer.answered_at = now
        offer.answered_by_id = self.pid(actor)
        r.owner = actor
        bounce = False
        if offer.to_team != r.team:
            ids = [self.tid(t) for t in r.path]
            bounce = rules.is_bounce(ids, self.tid(offer.to_team))
            r.path.append(offer.to_team)
            self.history.path_steps.append(
                PathStepRecord(self.history.next_seq(), r, self.tid(offer.to_team), now, bounce)
            )
            r.team = offer.to_team
            if bounce:
                r.bounce_count += 1
        if r.accepted_at is None:
            r.accepted_at = now
        if r.state == rules.NEW:
            r.state = rules.IN_PROGRESS
        if r.waiting_on not in ("clarification", "requester"):
            self.reset_ladder(now)
        self.participate(actor)
        self.touch(now)
        self.event(
            "accepted",
            now,
            actor=actor,
            other_team=previous_team if previous_team != r.team else None,
            person=actor,
            offer_id=offer,
            previous_owner_id=self.pid(previous_owner),
            bounce=bounce or None,
            waited_seconds=(now - offer.offered_at).total_seconds(),
        )
        if previous_owner != actor:
            self.notify(
                previous_owner,
                "offer_accepted",
                f"Accepted: {r.title} is now owned by person {self.pid(actor)}",
                now,
            )

    def decline(self, actor: str, offer: OfferRecord, reason: str, now: datetime) -> None:
        offer.state = "declined"
        offer.answered_at = now
        offer.answered_by_id = self.pid(actor)
        offer.decline_reason = reason
        self.r.declines += 1
        self.touch(now)
        from_team = None
        if offer.from_team_id is not None:
            from_team = next(k for k, v in self.company.teams.items() if v == offer.from_team_id)
        self.event(
            "declined",
            now,
            actor=actor,
            team=offer.to_team,
            other_team=from_team,
            offer_id=offer,
            reason=reason,
            intake=offer.kind == "intake" or None,
        )
        from_handle = next(h for h, i in self.company.people.items() if i == offer.from_person_id)
        for handle in sorted({self.r.owner, from_handle} - {actor}, key=self.pid):
            self.notify(handle, "offer_declined", f"Declined: {self.r.title} — {reason}", now)

    def start_pause(
        self, actor: str, reason: str, note: str, now: datetime, child: RequestRecord | None = None
    ) -> None:
        self.history.pauses.append(
            PauseRecord(self.history.next_seq(), self.r, reason, note, child, now, self.pid(actor))
        )
        self.r.clock_paused_at = now
        self.r.waiting_on = reason
        if reason in ("clarification", "requester"):
            self.suspend_ladder()

    def end_pause(self, now: datetime) -> float:
        r = self.r
        pause = next(p for p in reversed(self.history.pauses) if p.request is r)
        pause.ended_at = now
        paused = 0.0
        if r.clock_paused_at is not None:
            paused = business_seconds_between(self.cal(), r.clock_paused_at, now)
        r.paused_business_seconds += paused
        if r.resolve_due_at is not None:
            r.resolve_due_at = add_business_seconds(self.cal(), r.resolve_due_at, paused)
        r.clock_paused_at = None
        r.waiting_on = None
        self.reset_ladder(now)
        return paused

    def ask(self, actor: str, question: str, now: datetime) -> None:
        self.start_pause(actor, "clarification", question, now)
        self.r.state = rules.NEEDS_CLARIFICATION
        self.touch(now)
        self.event("clarification_asked", now, actor=actor, question=question)
        self.notify(
            self.r.requester, "clarification", f"Question on {self.r.title}: {question}", now
        )

    def answer(self, answer: str, now: datetime) -> None:
        paused = self.end_pause(now)
        self.r.state = rules.working_state(self.r.accepted_at is not None)
        self.touch(now)
        self.event(
            "clarification_answered",
            now,
            actor=self.r.requester,
            answer=answer,
            paused_business_seconds=paused,
        )
        self.notify(self.r.owner, "clarification", f"Answered: {self.r.title}: {answer}", now)

    def wait(
        self, reason: str, note: str, now: datetime, child: RequestRecord | None = None
    ) -> None:
        self.start_pause(self.r.owner, reason, note, now, child)
        self.r.state = rules.WAITING
        self.touch(now)
        self.event("paused", now, actor=self.r.owner, reason=reason, note=note, child_id=child)

    def resume(
        self, actor: str | None, now: datetime, why: Callable[[], str] | None = None
    ) -> None:
        reason = self.r.waiting_on
        paused = self.end_pause(now)
        self.r.state = rules.IN_PROGRESS
        self.touch(now)
        self.event(
            "resumed",
            now,
            actor=actor,
            reason=reason,
            why=why,
            paused_business_seconds=paused,
        )

    def post_update(self, author: str, body: str, now: datetime) -> None:
        r = self.r
        update = UpdateRecord(self.history.next_seq(), r, self.pid(author), body, now)
        self.history.updates.append(update)
        if r.next_update_due_at is not None:
            self.reset_ladder(now)
        self.participate(author)
        self.touch(now)
        self.event("update_posted", now, actor=author, update_id=update)
        if r.requester != author:
            self.notify(r.requester, "update_posted", f"Update on {r.title}: {body[:200]}", now)

    def make_promise(self, actor: str, what: str, due_at: datetime, now: datetime) -> PromiseRecord:
        r = self.r
        promise = PromiseRecord(
            self.history.next_seq(), r, actor, self.pid(r.requester), what, due_at, now
        )
        self.promises.append(promise)
        self.history.promises.append(promise)
        r.updated_at = now
        r.version += 1
        self.participate(actor)
        self.event(
            "promise_made",
            now,
            actor=actor,
            person=actor,
            promise_id=promise,
            what=what,
            due_at=due_at.isoformat(),
        )
        self.notify(
            r.requester,
            "promise_due",
            f"Promised on {r.title}: {what} by {due_at:%Y-%m-%d %H:%M} UTC",
            now,
        )
        return promise

    def keep_promise(self, promise: PromiseRecord, note: str, now: datetime) -> None:
        if promise.state != promise_rules.OPEN:
            return
        assert promise_rules.outcome_when_done(promise.due_at, now) == promise_rules.KEPT
        promise.done_at = now
        promise.done_note = note
        promise.state = promise_rules.KEPT
        self.touch(now)
        self.event(
            "promise_kept",
            now,
            actor=promise.made_by,
            person=promise.made_by,
            promise_id=promise,
            note=note,
        )

    def break_promise(self, promise: PromiseRecord, now: datetime) -> None:
        promise.state = promise_rules.BROKEN
        self.r.broken += 1
        self.touch(now)
        self.event(
            "promise_broken",
            now,
            person=promise.made_by,
            promise_id=promise,
            due_at=promise.due_at.isoformat(),
        )
        message = f"Broken promise on {self.r.title}: {promise.what}"
        self.notify(promise.made_by, "promise_broken", message, now)
        self.notify(self.r.requester, "promise_broken", message, now)

    def remind_promise(self, promise: PromiseRecord, now: datetime) -> None:
        promise.reminded_at = now
        self.notify(
            promise.made_by,
            "promise_due",
            f"Due at {promise.due_at:%H:%M} UTC: {promise.what}",
            now,
        )

    def escalate_offer(self, offer: OfferRecord, now: datetime) -> None:
        offer.escalated_at = now
        self.r.escalations += 1
        self.touch(now)
        lead = self.company.lead(offer.to_team)
        from_team = None
        if offer.from_team_id is not None:
            from_team = next(k for k, v in self.company.teams.items() if v == offer.from_team_id)
        self.event(
            "escalated",
            now,
            team=offer.to_team,
            other_team=from_team,
            person=lead,
            offer_id=offer,
            what="offer_not_accepted",
        )
        self.notify(lead, "escalation", f"Not accepted in time: {self.r.title}", now)

    def remind_update(self, now: datetime) -> None:
        self.r.update_reminded_at = now
        self.touch(now)
        self.event("update_reminded", now, person=self.r.owner)
        self.notify(self.r.owner, "update_due", f"Update due: {self.r.title}", now)

    def escalate_update(self, now: datetime) -> None:
        self.r.update_escalate_at = None
        self.r.escalations += 1
        self.touch(now)
        lead = self.company.lead(self.r.team)
        self.event("update_escalated", now, person=lead, owner_id=self.pid(self.r.owner))
        self.notify(lead, "escalation", f"Update overdue: {self.r.title}", now)

    def resolve(self, resolution: str, now: datetime) -> None:
        r = self.r
        offer = self.open_offer()
        if offer is not None:
            offer.state = "withdrawn"
            offer.answered_at = now
            offer.answered_by_id = self.pid(r.owner)
            # As the service does: resolving withdraws the open offer, and the history says so.
            self.event(
                "withdrawn", now, actor=r.owner, team=offer.to_team, offer_id=offer, resolved=True
            )
        if r.accepted_at is None:
            r.accepted_at = now
        r.state = rules.RESOLVED
        r.resolution = resolution
        r.resolved_at = now
        if r.first_resolved_at is None:
            r.first_resolved_at = now
        self.suspend_ladder()
        cal = self.cal()
        days = self.targets()[3]
        r.auto_close_at = _whole(
            add_business_hours(cal, now, days * cal.business_seconds_per_day / 3600)
        )
        self.touch(now)
        self.event(
            "resolved",
            now,
            actor=r.owner,
            person=r.owner,
            resolution=resolution,
            within_target=(r.resolve_due_at is None or now <= r.resolve_due_at),
        )
        self.notify(r.requester, "resolved", f"Resolved: {r.title} — {resolution[:200]}", now)

    def close(self, now: datetime, *, actor: str | None) -> None:
        r = self.r
        r.state = rules.CLOSED
        r.closed_at = now
        r.auto_close_at = None
        self.touch(now)
        self.event("closed", now, actor=actor, auto=actor is None or None)

    def reopen(self, reason: str, now: datetime) -> None:
        r = self.r
        r.state = rules.IN_PROGRESS
        r.resolved_at = None
        r.auto_close_at = None
        r.reopened = True
        self.reset_ladder(now)
        self.touch(now)
        self.event("reopened", now, actor=r.requester, reason=reason)
        self.notify(r.owner, "reopened", f"Reopened: {r.title} — {reason}", now)

    def rate(self, scores: dict[str, int], comment: str, now: datetime) -> None:
        r = self.r
        rating = RatingRecord(
            self.history.next_seq(), r, self.pid(r.requester), scores, comment, now
        )
        self.history.ratings.append(rating)
        r.updated_at = now
        r.version += 1
        self.event(
            "rated",
            now,
            actor=r.requester,
            person=r.owner,
            comment=comment or None,
            understand=scores["understand"],
            own=scores["own"],
            serve=scores["serve"],
            communicate=scores["communicate"],
        )
        self.notify(r.owner, "feedback", f"Rated: {r.title}", now)

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
        self.event(
            "feedback_given", now, actor=giver, person=receiver, feedback_id=feedback, kind=kind
        )
        self.notify(receiver, "feedback", f"You received {kind} feedback", now)

    def link_case(self, case: CaseRecord, now: datetime) -> None:
        self.r.cases.append(case)
        self.touch(now)
        self.event(
            "case_linked", now, actor=self.r.requester, case_id=case, reference=case.reference
        )

    # -- the story of one request ------------------------------------------------------------

    def live(self) -> None:
        with contextlib.suppress(PastEnd):
            self._live()

    def _live(self) -> None:
        r, rng = self.r, self.rng
        if self.company.team_specs[r.team].is_triage:
            self._route_from_triage()
        else:
            self._take_in()
        behaviour = self.company.team_specs[r.team].behaviour
        if rng.random() < 0.03 and r.cases:
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
        accept_median = self.targets()[0] * behaviour.accept_factor
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
        note = rng.choice(texts.TRIAGE_NOTES).format(team=self.team_name(target))
        offer = self.offer(router, target, None, note, self.cursor)
        behaviour = self.company.team_specs[target].behaviour
        self.reach(self.later(_lognormal(rng, 4.0 * behaviour.accept_factor), target))
        self.accept(self.member(target, exclude=(r.requester,)), offer, self.cursor)

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
        accept_median = self.targets()[0] * other_behaviour.accept_factor
        self.pass_until(self.later(_lognormal(rng, accept_median), other))
        if rng.random() < other_behaviour.decline * 2:
            reason = rng.choice(texts.DECLINE_TO_TEAM).format(team=self.team_name(home))
            self.decline(self.member(other), offer, reason, self.cursor)
            return
        self.accept(self.member(other, exclude=(r.requester,)), offer, self.cursor)
        bounce = max(self.company.team_specs[home].behaviour.bounce, other_behaviour.bounce)
        if rng.random() < bounce:
            self.pass_hours(_lognormal(rng, 3.0))
            note = rng.choice(texts.BOUNCE_NOTES).format(team=self.team_name(home))
            back = self.offer(r.owner, home, None, note, self.cursor)
            home_behaviour = self.company.team_specs[home].behaviour
            self.pass_until(
                self.later(_lognormal(rng, self.targets()[0] * home_behaviour.accept_factor), home)
            )
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
        self.touch(self.cursor)
        self.event(
            "sub_request_opened", self.cursor, actor=r.owner, other_team=team, child_id=child.r
        )
        self.wait(
            "sub_request",
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
        self.resume(None, resolved, why=partial(_sub_request_resolved, child.r))
        self.notify(r.owner, "resolved", f"Sub-request resolved: {child.r.title}", resolved)

    def _wait_outside(self) -> None:
        rng = self.rng
        self.pass_hours(_lognormal(rng, 1.0))
        if self.r.state != rules.IN_PROGRESS:
            return
        if rng.random() < 0.25:
            reason, note = "requester", rng.choice(texts.REQUESTER_WAITS)
        else:
            reason, note = "outside", rng.choice(texts.OUTSIDE_WAITS)
        self.wait(reason, note, self.cursor)
        self.pass_hours(_lognormal(rng, 6.0))
        self.resume(self.r.owner, self.cursor)

    def _work(self, share: float) -> None:
        """Work the request to resolution, posting updates and making (and keeping) promises."""
        r, rng = self.r, self.rng
        behaviour = self.company.team_specs[r.team].behaviour
        work = _lognormal(rng, self.targets()[2] * behaviour.work_factor * share, 0.8)
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
        self.reach(replied if confirms else (r.auto_close_at or replied))
        if confirms and r.state == rules.RESOLVED:
            self.close(self.cursor, actor=r.requester)
        bad = r.broken + r.escalations + r.bounce_count + r.declines + int(r.reopened)
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
        late = r.resolve_due_at is not None and (r.first_resolved_at or END) > r.resolve_due_at

        def score(value: float) -> int:
            return max(1, min(5, round(value + rng.gauss(0.0, 0.6))))

        scores = {
            "understand": score(base + 0.3 - 0.5 * r.reopened),
            "own": score(base - 0.8 * r.escalations - 0.8 * r.bounce_count - 0.4 * r.declines),
            "serve": score(base - 0.8 * late - 1.0 * r.reopened),
            "communicate": score(base - 1.2 * r.broken - 0.4 * r.escalations),
        }
        average = sum(scores.values()) / 4
        pool = texts.GOOD_COMMENTS if average >= 3.5 else texts.POOR_COMMENTS
        return scores, rng.choice(pool)


class Simulation:
    """Opens the requests of six months in time order and lives each one through."""

    def __init__(self, company: Company, rng: random.Random, requests: int) -> None:
        self.company = company
        self.rng = rng
        self.history = History()
        self.sub_budget = round(requests * SUB_REQUEST_SHARE)
        self.roots = max(1, requests - self.sub_budget)
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
        if self.sub_budget <= 0:
            return False
        self.sub_budget -= 1
        return True

    def fill(self, request: RequestRecord) -> dict[str, str]:
        case = request.cases[0] if request.cases else None
        return {
            "customer": case.customer if case else "the customer",
            "claim": case.reference if case else "the claim",
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
    ) -> Life:
        company, rng = self.company, self.rng
        team = company.service_team[spec.key]
        if triage:
            team = next(k for k, t in company.team_specs.items() if t.is_triage)
        if cases is None:
            cases = self.cases_for(requester, company.home_team[requester], now)
        record = RequestRecord(
            self.history.next_seq(),
            title="",
            need="",
            context=rng.choice(texts.CONTEXTS),
            impact_customers=len(cases) or rng.choice((0, 0, 1, 1, 2, 5)),
            desired_by=None,
            priority=rng.choices(rules.PRIORITIES, weights=(10, 70, 15, 5))[0],
            requester=requester,
            service=None if triage else spec.key,
            team=team,
            owner=company.duty_owner(team),
            opened_at=now,
            parent=parent,
            confidential=spec.confidential and not triage,
        )
        record.cases = cases
        fill = self.fill(record)
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
            life = self.open_request(requester, spec, opened_at, triage=triage)
            life.live()
            if tick is not None:
                tick()
        return self.history


def simulate(
    company: Company, rng: random.Random, requests: int, tick: Callable[[], None] | None = None
) -> History:
    """About `requests` requests (sub-requests included) opened over the six months before END."""
    return Simulation(company, rng, requests).run(tick)
