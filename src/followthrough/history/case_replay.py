"""One imported case, replayed through the request lifecycle: plain data in, a plan out.

The log's rows, already mapped to event kinds, are applied in time order through the same
transition functions the live desk calls (`requests/lifecycle.py`): opening with its intake
offer, an offer and its acceptance when the case moves to another group (with the time it
waited and the bounce flag), a wait that stops the clock until the case goes on, one
resolution (a "Closed" after "Resolved" is the close), reopening. What the lifecycle decides —
states, the team path, bounces, paused business time, payloads — is its; this module only
says which transition a row is. A row the desk would refuse in that state, or that repeats the
state the request is already in ("Accepted" by its owner again, a second "Resolved"), is left
out and counted. Events the log implies but does not have (the intake offer, an offer before
a row in another group, a resume before a handoff) are marked `synthetic`. No database here:
the writer turns the plan into rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from followthrough.errors import DomainError
from followthrough.history.payloads import NEW_ROW
from followthrough.org.rules import WorkingCalendar
from followthrough.requests import lifecycle, rules
from followthrough.requests.lifecycle import Change, OfferFacts, RequestFacts, Targets
from followthrough.requests.vocabulary import OfferKind, RequestState, WaitReason

OPEN = frozenset(RequestState(s) for s in rules.OPEN_STATES)
PAUSED = frozenset(RequestState(s) for s in rules.PAUSED_STATES)
WAIT_REASONS = frozenset(rules.WAIT_REASONS)


@dataclass(slots=True)
class Step:
    """One mapped log row. `team_id` is the row's group (None: the log names none);
    `other_team_id` and `person_id` are only named by logs this product exported."""

    kind: str
    at: datetime
    actor_id: int
    team_id: int | None
    payload: Mapping[str, Any]
    other_team_id: int | None = None
    person_id: int | None = None
    waiting_on: str | None = None


@dataclass(frozen=True)
class CaseContext:
    """What the replay needs to know about the organisation and the service's targets."""

    calendars: Mapping[int, WorkingCalendar]
    accountable: Mapping[int, int | None]  # team -> duty owner, else lead
    unknown_id: int
    requester_id: int
    targets: Targets
    title: str
    base: Mapping[str, Any]  # payload every event of the case carries (file, case id)
    # False when the other system's resolve target is unknown: resolutions are then not
    # measured against one (the live desk's default is not the other system's target).
    resolve_target_known: bool = True

    def calendar(self, team_id: int) -> WorkingCalendar:
        return self.calendars.get(team_id) or WorkingCalendar()

    def duty_owner(self, team_id: int) -> int:
        return self.accountable.get(team_id) or self.unknown_id


@dataclass(slots=True)
class OfferPlan:
    kind: str  # "intake" or "handoff"
    from_person_id: int
    from_team_id: int | None
    to_team_id: int
    to_person_id: int | None
    offered_at: datetime
    due_at: datetime
    state: str = "open"
    answered_at: datetime | None = None
    answered_by_id: int | None = None
    decline_reason: str | None = None


@dataclass(slots=True)
class EventPlan:
    kind: str
    at: datetime
    actor_id: int | None
    team_id: int | None
    other_team_id: int | None
    person_id: int | None
    payload: dict[str, Any]
    offer: OfferPlan | None = None  # its id goes into the payload as offer_id


@dataclass(slots=True)
class PausePlan:
    reason: str
    started_at: datetime
    started_by_id: int
    ended_at: datetime | None = None


@dataclass
class CasePlan:
    request: RequestFacts
    path: list[tuple[int, datetime, bool]]
    offers: list[OfferPlan]
    events: list[EventPlan]
    pauses: list[PausePlan]
    participants: set[int]
    left_out: Counter[str] = field(default_factory=Counter)


class _Replay:
    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx
        self.path: list[tuple[int, datetime, bool]] = []
        self.offers: list[OfferPlan] = []
        self.pending: OfferFacts | None = None
        self.events: list[EventPlan] = []
        self.pauses: list[PausePlan] = []
        self.participants: set[int] = {ctx.requester_id}
        self.left_out: Counter[str] = Counter()
        self.request: RequestFacts

    @property
    def state(self) -> RequestState:
        return self.request.state

    @property
    def team(self) -> int:
        return self.request.team_id

    # --- applying what the lifecycle decided ------------------------------------------------

    def apply(self, change: Change, step: Step | None, *, row_event: int = -1) -> None:
        """Take the change's request, offers, path, pauses and events. The event at `row_event`
        is the log row's own (it carries the row's attributes); any other is synthetic."""
        self.request = change.request
        for answer in change.answered:
            offer = self.offers[answer.offer_id - 1]
            offer.state, offer.answered_at = str(answer.state), answer.at
            offer.answered_by_id, offer.decline_reason = answer.by_id, answer.decline_reason
            if self.pending is not None and self.pending.id == answer.offer_id:
                self.pending = None
        new_id = NEW_ROW
        if change.new_offer is not None:
            new = change.new_offer
            new_id = len(self.offers) + 1
            self.offers.append(
                OfferPlan(
                    str(new.kind),
                    new.from_person_id,
                    new.from_team_id,
                    new.to_team_id,
                    new.to_person_id,
                    new.offered_at,
                    new.due_at,
                )
            )
            self.pending = OfferFacts(
                new_id,
                new.kind,
                new.from_person_id,
                new.from_team_id,
                new.to_team_id,
                new.to_person_id,
                new.offered_at,
                new.due_at,
            )
        if change.new_step is not None:
            s = change.new_step
            self.path.append((s.team_id, s.entered_at, s.is_bounce))
        if change.pause_ended_at is not None and self.pauses:
            self.pauses[-1].ended_at = change.pause_ended_at
        if change.new_pause is not None:
            p = change.new_pause
            self.pauses.append(PausePlan(str(p.reason), p.started_at, p.started_by_id))
        participants = self.participants
        participants.update(change.participants)
        events = change.events
        own = len(events) + row_event if row_event < 0 else row_event
        base, plans = self.ctx.base, self.events
        for index, event in enumerate(events):
            payload: dict[str, Any] = dict(base)
            if step is not None and index == own:
                payload.update(step.payload)
            else:
                payload["synthetic"] = True
            typed = event.payload
            stored = typed.to_json()
            payload.update(stored)
            offer_id = stored.get("offer_id")
            about: OfferPlan | None = None
            if offer_id is not None:
                offer_id = new_id if offer_id == NEW_ROW else offer_id
                about = self.offers[offer_id - 1]
            actor_id = event.actor_id
            plans.append(
                EventPlan(
                    str(typed.KIND),
                    event.at,
                    actor_id,
                    event.team_id,
                    event.other_team_id,
                    event.person_id,
                    payload,
                    about,
                )
            )
            if actor_id is not None:
                participants.add(actor_id)

    def note(self, step: Step, kind: str) -> None:
        """A row that changes nothing the lifecycle keeps (an update, a call): its event only."""
        payload = {**self.ctx.base, **step.payload}
        self.events.append(
            EventPlan(kind, step.at, step.actor_id, self.team, None, step.person_id, payload)
        )
        self.participants.add(step.actor_id)

    def leave_out(self, step: Step, why: str) -> None:
        self.left_out[f"{step.kind}: {why}"] += 1

    # --- transitions ------------------------------------------------------------------------

    def open(self, first: Step, first_team: int, owner: int, intake: Step | None) -> None:
        ctx = self.ctx
        change = lifecycle.open_request(
            title=ctx.title,
            requester_id=ctx.requester_id,
            team_id=first_team,
            team_name="",
            duty_owner_id=owner,
            calendar=ctx.calendar(first_team),
            targets=ctx.targets,
            now=first.at,
        )
        self.request = change.request
        opened, offered = change.events
        self.apply(
            Change(change.request, (opened,), (), change.participants, new_step=change.new_step),
            first if first.kind == "opened" else None,
        )
        self.apply(
            Change(change.request, (offered,), new_offer=change.new_offer),
            intake,
        )
        if intake is not None:  # the log's own intake row: its time and who queued it
            self.events[-1].actor_id = intake.actor_id
            self.events[-1].at = self.offers[-1].offered_at = intake.at
            if self.pending is not None:
                self.pending = replace(self.pending, offered_at=intake.at)

    def offer(self, at: datetime, to_team: int, to_person: int | None, step: Step | None) -> None:
        actor = self.request.owner_id if step is None else step.actor_id
        change = lifecycle.offer(
            self.request,
            previous=self.pending,
            actor_id=actor,
            to_team_id=to_team,
            to_person_id=to_person,
            to_team_duty_owner_id=self.ctx.duty_owner(to_team),
            note="",
            calendar=self.ctx.calendar(to_team),
            targets=self.ctx.targets,
            now=at,
        )
        self.apply(change, step)

    def accept(self, at: datetime, actor: int, step: Step | None) -> None:
        offer = self.pending
        assert offer is not None
        change = lifecycle.accept(
            self.request,
            offer,
            actor_id=actor,
            actor_name="",
            path=[team for team, _, _ in self.path],
            calendar=self.ctx.calendar(offer.to_team_id),
            targets=self.ctx.targets,
            now=at,
        )
        self.apply(change, step)

    def resume(self, at: datetime, actor: int | None, step: Step | None) -> None:
        ctx = self.ctx
        if self.state == RequestState.NEEDS_CLARIFICATION:
            change = lifecycle.answer_clarification(
                self.request,
                actor_id=actor if actor is not None else ctx.unknown_id,
                answer=str((step.payload if step else {}).get("activity", "")),
                calendar=ctx.calendar(self.team),
                targets=ctx.targets,
                now=at,
            )
        else:
            change = lifecycle.resume(
                self.request,
                actor_id=actor,
                calendar=ctx.calendar(self.team),
                targets=ctx.targets,
                now=at,
            )
        self.apply(change, step)

    def resolve(self, step: Step, *, own_row: bool) -> None:
        if self.state in PAUSED:
            self.resume(step.at, step.actor_id, None)
        text = step.payload.get("resolution") or step.payload.get("activity") or "resolved"
        request = self.request
        if not self.ctx.resolve_target_known:
            request = replace(request, resolve_due_at=None)
        change = lifecycle.resolve(
            request,
            open_offer=self.pending,
            actor_id=step.actor_id,
            resolution=str(text),
            calendar=self.ctx.calendar(self.team),
            targets=self.ctx.targets,
            now=step.at,
        )
        self.apply(change, step if own_row else None)

    # --- the rows ---------------------------------------------------------------------------

    def row(self, step: Step) -> None:
        try:
            self._row(step)
        except DomainError as refused:
            self.leave_out(step, refused.detail)

    def _row(self, step: Step) -> None:
        kind = step.kind
        if kind == "opened":
            kind = "update_posted"  # a request opens once; later "opened" rows are notes
        group = self.team if step.team_id is None else step.team_id
        if self.state == RequestState.RESOLVED and kind in WORK_AFTER_RESOLUTION:
            # Work went on after the resolution, so it did not hold: the other system reopened
            # the case without a row of its own saying so (a help desk's "Resolved" followed by
            # "In Progress"). A second resolution then counts as one, not as a repeat.
            change = lifecycle.reopen(
                self.request,
                actor_id=step.actor_id,
                reason="work went on after the resolution",
                calendar=self.ctx.calendar(self.team),
                targets=self.ctx.targets,
                now=step.at,
            )
            self.apply(change, None)
        if kind == "offered":
            self.offered(step, group)
        elif kind == "declined":
            if self.pending is None:
                self.leave_out(step, "no open offer")
                return
            reason = str(step.payload.get("reason") or step.payload.get("activity") or "declined")
            change = lifecycle.decline(
                self.request, self.pending, actor_id=step.actor_id, reason=reason, now=step.at
            )
            self.apply(change, step)
        elif kind == "withdrawn":
            if self.pending is None:
                self.leave_out(step, "no open offer")
                return
            change = lifecycle.withdraw(
                self.request, self.pending, actor_id=step.actor_id, now=step.at
            )
            self.apply(change, step)
        elif kind == "escalated":
            self.note(step, kind)
        else:
            if group != self.team and self.state in OPEN:
                self.move_to(group, step)
                if kind == "accepted":
                    return
            self.act(kind, step)

    def offered(self, step: Step, group: int) -> None:
        target = step.other_team_id if step.other_team_id is not None else group
        if self.state not in OPEN:
            self.leave_out(step, "the request is no longer open")
            return
        pending = self.pending
        if (
            pending is not None
            and pending.to_team_id == target
            and pending.to_person_id == step.person_id
        ):
            self.leave_out(step, "already offered there")
            return
        if self.state in PAUSED:
            self.resume(step.at, step.actor_id, None)
        self.offer(step.at, target, step.person_id, step)

    def move_to(self, group: int, step: Step) -> None:
        """The case went on in another group: an offer there (unless one is open), accepted by
        whoever acted there first."""
        if self.state in PAUSED:
            self.resume(step.at, step.actor_id, None)
        if self.pending is None or self.pending.to_team_id != group:
            self.offer(step.at, group, None, None)
        self.accept(step.at, step.actor_id, step if step.kind == "accepted" else None)

    def act(self, kind: str, step: Step) -> None:
        at, actor = step.at, step.actor_id
        state = self.state
        if kind == "accepted":
            if self.pending is not None and self.pending.to_team_id == self.team:
                if state in PAUSED:
                    self.resume(at, actor, None)
                self.accept(at, actor, step)
            elif state in PAUSED:
                self.resume(at, actor, step)  # taken up again after a wait
            elif state not in OPEN:
                self.leave_out(step, "the request is no longer open")
            elif actor == self.request.owner_id:
                self.leave_out(step, "already its owner")
            else:  # someone else in the team took it over: offered to them, accepted
                self.offer(at, self.team, actor, None)
                self.accept(at, actor, step)
        elif kind in ("paused", "clarification_asked"):
            if state in PAUSED:
                self.leave_out(step, "already paused")
                return
            if state not in OPEN:
                self.leave_out(step, "the request is no longer open")
                return
            if kind == "clarification_asked":
                question = str(step.payload.get("question") or step.payload.get("activity") or "")
                change = lifecycle.ask_clarification(
                    self.request, actor_id=actor, question=question, now=at
                )
            else:
                if state == RequestState.NEW and self.pending is not None:
                    self.accept(at, actor, None)  # only whoever took it up waits on others
                change = lifecycle.wait(
                    self.request,
                    actor_id=actor,
                    reason=WaitReason(_reason(step)),
                    note=str(step.payload.get("note") or ""),
                    now=at,
                )
            self.apply(change, step)
        elif kind in ("resumed", "clarification_answered"):
            if state in PAUSED:
                self.resume(at, actor, step)
            else:
                self.leave_out(step, "not paused")
        elif kind == "resolved":
            if state not in OPEN:
                self.leave_out(step, "already resolved")
            else:
                self.resolve(step, own_row=True)
        elif kind == "closed":
            if state == RequestState.CLOSED:
                self.leave_out(step, "already closed")
                return
            if state in OPEN:
                self.resolve(step, own_row=False)  # closed without a resolution first
            self.apply(lifecycle.confirm(self.request, actor_id=actor, now=at), step)
        elif kind == "reopened":
            if state not in (RequestState.RESOLVED, RequestState.CLOSED):
                self.leave_out(step, "not resolved")
                return
            change = lifecycle.reopen(
                self.request,
                actor_id=actor,
                reason=str(step.payload.get("reason") or ""),
                calendar=self.ctx.calendar(self.team),
                targets=self.ctx.targets,
                now=at,
            )
            self.apply(change, step)
        else:
            self.note(step, kind)


# Rows that mean someone took the case up again; on a resolved request they reopen it.
WORK_AFTER_RESOLUTION = frozenset({"offered", "accepted", "paused", "clarification_asked"})


def _reason(step: Step) -> str:
    """What a pause waits on: the log's own reason when it names one we know, else the rule's."""
    named = step.payload.get("reason")
    if isinstance(named, str) and named in WAIT_REASONS:
        return named
    return step.waiting_on if step.waiting_on in WAIT_REASONS else "outside"


def replay_case(steps: Sequence[Step], first_team: int, ctx: CaseContext) -> CasePlan:
    """The request, offers, pauses and events one case of a log amounts to.

    The first row opens the request in `first_team` (a row of another kind first gets an
    "opened" made up at its time, marked synthetic); the intake offer to that team is the
    log's own when its next row offers the case there.
    """
    first = steps[0]
    replay = _Replay(ctx)
    rest = list(steps)
    owner = ctx.duty_owner(first_team)
    if first.kind == "opened":
        rest.pop(0)
        if first.person_id is not None:
            owner = first.person_id  # our own logs name the first accountable owner
    intake = rest[0] if rest else None
    if (
        intake is not None
        and intake.kind == "offered"
        and intake.other_team_id in (None, first_team)
        and intake.team_id in (None, first_team)
        and intake.person_id is None
    ):
        rest.pop(0)
    else:
        intake = None
    replay.open(first, first_team, owner, intake)
    for step in rest:
        replay.row(step)
    replay.participants.add(replay.request.owner_id)
    return CasePlan(
        request=replay.request,
        path=replay.path,
        offers=replay.offers,
        events=replay.events,
        pauses=replay.pauses,
        participants=replay.participants,
        left_out=replay.left_out,
    )


__all__ = ["CaseContext", "CasePlan", "OfferKind", "Step", "replay_case"]
