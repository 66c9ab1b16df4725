"""One imported case, replayed through the request lifecycle: plain data in, a plan out.

The log's rows, already mapped to event kinds, are applied in time order to a request as the
live desk would have seen it: an offer and its acceptance when the case moves to another group
(with the time it waited and the bounce flag), a pause that stops the clock until the case goes
on, one resolution (a "Closed" after "Resolved" closes it), reopenings. Rows that repeat the
state the request is already in ("Accepted" by its owner again, a second "Resolved") are left
out and counted, so nothing is counted twice. No database here: the writer turns the plan into
rows. Pure, so the tests can replay a case by hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from followthrough.org.rules import (
    WorkingCalendar,
    add_business_hours,
    add_business_seconds,
    business_seconds_between,
)
from followthrough.requests import rules

OPEN = rules.OPEN_STATES
PAUSED = rules.PAUSED_STATES
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
    accept_hours: float
    resolve_hours: float
    base: Mapping[str, Any]  # payload every event of the case carries (file, case id)

    def calendar(self, team_id: int) -> WorkingCalendar:
        return self.calendars.get(team_id) or WorkingCalendar()


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
    team_id: int
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
    state: str
    team_id: int
    owner_id: int
    opened_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    waiting_on: str | None
    clock_paused_at: datetime | None
    paused_business_seconds: float
    bounce_count: int
    path: list[tuple[int, datetime, bool]]
    offers: list[OfferPlan]
    events: list[EventPlan]
    pauses: list[PausePlan]
    participants: set[int]
    left_out: Counter[str] = field(default_factory=Counter)


class _Replay:
    def __init__(self, ctx: CaseContext, team_id: int, opened_at: datetime) -> None:
        self.ctx = ctx
        self.team = team_id
        self.state = rules.NEW
        self.owner = ctx.accountable.get(team_id) or ctx.unknown_id
        self.path: list[tuple[int, datetime, bool]] = [(team_id, opened_at, False)]
        self.bounces = 0
        self.pending: OfferPlan | None = None
        self.offers: list[OfferPlan] = []
        self.events: list[EventPlan] = []
        self.pauses: list[PausePlan] = []
        self.paused_at: datetime | None = None
        self.waiting_on: str | None = None
        self.paused_seconds = 0.0
        self.accepted_at: datetime | None = None
        self.resolved_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.resolution: str | None = None
        self.participants: set[int] = {ctx.requester_id}
        self.left_out: Counter[str] = Counter()

    # --- writing events ---------------------------------------------------------------------

    def emit(
        self,
        kind: str,
        at: datetime,
        actor: int | None,
        step: Step | None,
        *,
        team: int | None = None,
        other: int | None = None,
        person: int | None = None,
        offer: OfferPlan | None = None,
        **computed: Any,
    ) -> None:
        payload: dict[str, Any] = dict(self.ctx.base)
        if step is None:
            payload["synthetic"] = True
        else:
            payload.update(step.payload)
        payload.update({k: v for k, v in computed.items() if v is not None})
        self.events.append(
            EventPlan(
                kind, at, actor, self.team if team is None else team, other, person, payload, offer
            )
        )
        if actor is not None:
            self.participants.add(actor)

    def leave_out(self, step: Step, why: str) -> None:
        self.left_out[f"{step.kind}: {why}"] += 1

    # --- offers -----------------------------------------------------------------------------

    def offer(self, at: datetime, to_team: int, step: Step | None, intake: bool = False) -> None:
        """Offer the request to a team (or a person in it); an open offer is superseded."""
        if self.pending is not None:
            self.answer(self.pending, "withdrawn", at, self.owner, superseded=True)
        actor = self.ctx.requester_id if intake else (self.owner if step is None else step.actor_id)
        person = None if step is None else step.person_id
        offer = OfferPlan(
            kind="intake" if intake else "handoff",
            from_person_id=actor,
            from_team_id=None if intake else self.team,
            to_team_id=to_team,
            to_person_id=person,
            offered_at=at,
            due_at=add_business_hours(self.ctx.calendar(to_team), at, self.ctx.accept_hours),
        )
        self.offers.append(offer)
        self.pending = offer
        self.emit(
            "offered",
            at,
            actor,
            step,
            other=None if intake else to_team,
            person=person,
            offer=offer,
            intake=True if intake else None,
        )

    def answer(self, offer: OfferPlan, state: str, at: datetime, by: int, **why: Any) -> None:
        offer.state, offer.answered_at, offer.answered_by_id = state, at, by
        self.pending = None
        if state == "withdrawn":
            self.emit("withdrawn", at, by, None, team=offer.to_team_id, offer=offer, **why)

    def accept(self, at: datetime, actor: int, step: Step | None) -> None:
        """The pending offer is accepted by `actor`: they own the request, the path grows."""
        offer = self.pending
        assert offer is not None
        previous_team, previous_owner = self.team, self.owner
        offer.state, offer.answered_at, offer.answered_by_id = "accepted", at, actor
        self.pending = None
        bounce = False
        if offer.to_team_id != self.team:
            teams = [team for team, _, _ in self.path]
            bounce = rules.is_bounce(teams, offer.to_team_id)
            self.path.append((offer.to_team_id, at, bounce))
            self.bounces += bounce
            self.team = offer.to_team_id
        self.owner = actor
        self.accepted_at = self.accepted_at or at
        if self.state == rules.NEW:
            self.state = rules.IN_PROGRESS
        self.emit(
            "accepted",
            at,
            actor,
            step,
            other=previous_team if previous_team != self.team else None,
            person=actor,
            offer=offer,
            previous_owner_id=previous_owner,
            bounce=bounce or None,
            waited_seconds=(at - offer.offered_at).total_seconds(),
        )

    # --- pauses -----------------------------------------------------------------------------

    def pause(self, step: Step, reason: str) -> None:
        self.state = rules.NEEDS_CLARIFICATION if reason == "clarification" else rules.WAITING
        self.paused_at, self.waiting_on = step.at, reason
        self.pauses.append(PausePlan(reason, step.at, step.actor_id))
        if step.kind == "clarification_asked":
            self.emit(step.kind, step.at, step.actor_id, step)
        else:
            self.emit("paused", step.at, step.actor_id, step, reason=reason)

    def resume(self, at: datetime, actor: int | None, step: Step | None) -> None:
        """End the pause: the clock stood still for the business time it lasted."""
        assert self.paused_at is not None
        paused = business_seconds_between(self.ctx.calendar(self.team), self.paused_at, at)
        self.paused_seconds += paused
        self.pauses[-1].ended_at = at
        reason = self.waiting_on
        self.paused_at = self.waiting_on = None
        answered = reason == "clarification"
        # After a clarification the request is new again if nobody has accepted it yet.
        self.state = rules.working_state(self.accepted_at is not None)
        self.emit(
            "clarification_answered" if answered else "resumed",
            at,
            actor,
            step,
            reason=None if answered else reason,
            paused_business_seconds=paused,
        )

    # --- the rows ---------------------------------------------------------------------------

    def apply(self, step: Step) -> None:
        kind = step.kind
        if kind == "opened":
            kind = "update_posted"  # a request opens once; later "opened" rows are notes
            step = Step(kind, step.at, step.actor_id, step.team_id, step.payload)
        group = self.team if step.team_id is None else step.team_id
        if kind == "offered":
            self.offered(step, group)
        elif kind in ("declined", "withdrawn"):
            self.answered(step, kind)
        elif kind == "escalated":
            team = self.team if self.pending is None else self.pending.to_team_id
            self.emit(kind, step.at, step.actor_id, step, team=team, other=step.other_team_id)
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
        if (
            self.pending is not None
            and self.pending.to_team_id == target
            and self.pending.to_person_id == step.person_id
        ):
            self.leave_out(step, "already offered there")
            return
        if self.state in PAUSED:
            self.resume(step.at, step.actor_id, None)
        self.offer(step.at, target, step)

    def answered(self, step: Step, kind: str) -> None:
        offer = self.pending
        if offer is None:
            self.leave_out(step, "no open offer")
            return
        self.answer(offer, kind, step.at, step.actor_id)
        if kind == "withdrawn":
            self.events[-1] = EventPlan(
                kind,
                step.at,
                step.actor_id,
                offer.to_team_id,
                None,
                None,
                {**self.ctx.base, **step.payload},
                offer,
            )
        else:
            offer.decline_reason = str(step.payload.get("reason") or "") or None
            self.emit(
                kind,
                step.at,
                step.actor_id,
                step,
                team=offer.to_team_id,
                other=offer.from_team_id,
                offer=offer,
            )

    def move_to(self, group: int, step: Step) -> None:
        """The case went on in another group: an offer there (unless one is open) accepted by
        whoever acted there first."""
        if self.state in PAUSED:
            self.resume(step.at, step.actor_id, None)
        if self.pending is None or self.pending.to_team_id != group:
            self.offer(step.at, group, None)
        self.accept(step.at, step.actor_id, step if step.kind == "accepted" else None)

    def act(self, kind: str, step: Step) -> None:
        at, actor = step.at, step.actor_id
        if kind == "accepted":
            if self.pending is not None and self.pending.to_team_id == self.team:
                if self.state in PAUSED:
                    self.resume(at, actor, None)
                self.accept(at, actor, step)
            elif self.state in PAUSED:
                self.resume(at, actor, step)  # taken up again after a wait
            elif self.state not in OPEN:
                self.leave_out(step, "the request is no longer open")
            elif actor == self.owner:
                self.leave_out(step, "already its owner")
            else:
                previous = self.owner
                self.owner = actor
                self.accepted_at = self.accepted_at or at
                self.state = rules.IN_PROGRESS
                self.emit(kind, at, actor, step, person=actor, previous_owner_id=previous)
        elif kind in ("paused", "clarification_asked"):
            reason = "clarification" if kind == "clarification_asked" else _reason(step)
            if self.state in PAUSED:
                self.leave_out(step, "already paused")
            elif self.state not in OPEN:
                self.leave_out(step, "the request is no longer open")
            else:
                if (
                    self.state == rules.NEW
                    and self.pending is not None
                    and reason != "clarification"
                ):
                    self.accept(at, actor, None)  # only whoever took it up can wait on others
                self.pause(step, reason)
        elif kind in ("resumed", "clarification_answered"):
            if self.state in PAUSED:
                self.resume(at, actor, step)
            else:
                self.leave_out(step, "not paused")
        elif kind == "resolved":
            if self.state not in OPEN:
                self.leave_out(step, "already resolved")
            else:
                self.resolve(step)
        elif kind == "closed":
            if self.state == rules.CLOSED:
                self.leave_out(step, "already closed")
                return
            if self.state in OPEN:
                self.resolve(Step("resolved", at, actor, step.team_id, {}), synthetic=True)
            self.state, self.closed_at = rules.CLOSED, at
            self.emit(kind, at, actor, step)
        elif kind == "reopened":
            if self.state not in (rules.RESOLVED, rules.CLOSED):
                self.leave_out(step, "not resolved")
                return
            self.state = rules.IN_PROGRESS
            self.resolved_at = self.closed_at = self.resolution = None
            self.emit(kind, at, actor, step)
        else:
            self.emit(kind, at, actor, step, person=step.person_id)

    def resolve(self, step: Step, synthetic: bool = False) -> None:
        at, actor = step.at, step.actor_id
        if self.state in PAUSED:
            self.resume(at, actor, None)
        if self.pending is not None:
            self.answer(self.pending, "withdrawn", at, actor, resolved=True)
        self.state, self.resolved_at = rules.RESOLVED, at
        text = step.payload.get("resolution")
        self.resolution = str(text) if text else None
        calendar = self.ctx.calendar(self.team)
        due = add_business_seconds(
            calendar,
            add_business_hours(calendar, self.path[0][1], self.ctx.resolve_hours),
            self.paused_seconds,
        )
        self.emit(
            "resolved",
            at,
            actor,
            None if synthetic else step,
            person=self.owner,
            within_target=at <= due,
        )


def _reason(step: Step) -> str:
    """What a pause waits on: the log's own reason when it names one we know, else the rule's."""
    named = step.payload.get("reason")
    if isinstance(named, str) and named in WAIT_REASONS:
        return named
    return step.waiting_on if step.waiting_on in WAIT_REASONS else "outside"


def replay_case(steps: Sequence[Step], first_team: int, ctx: CaseContext) -> CasePlan:
    """The request, offers, pauses and events one case of a log amounts to.

    The first row opens the request in `first_team` (a row of another kind first gets an
    "opened" made up at its time, marked synthetic); an intake offer to that team follows
    unless the log has its own.
    """
    first = steps[0]
    replay = _Replay(ctx, first_team, first.at)
    rest = list(steps)
    if first.kind == "opened":
        rest.pop(0)
        if first.person_id is not None:
            replay.owner = first.person_id  # our own logs name the first accountable owner
        replay.emit("opened", first.at, ctx.requester_id, first, person=replay.owner)
    else:
        replay.emit("opened", first.at, ctx.requester_id, None, person=replay.owner)
    replay.participants.add(replay.owner)
    intake = rest[0] if rest else None
    if (
        intake is not None
        and intake.kind == "offered"
        and intake.other_team_id in (None, first_team)
        and intake.team_id in (None, first_team)
        and intake.person_id is None
    ):
        rest.pop(0)
        replay.offer(intake.at, first_team, intake, intake=True)
        replay.events[-1].actor_id = intake.actor_id
    else:
        replay.offer(first.at, first_team, None, intake=True)
    for step in rest:
        replay.apply(step)
    owner = replay.owner
    replay.participants.add(owner)
    return CasePlan(
        state=replay.state,
        team_id=replay.team,
        owner_id=owner,
        opened_at=first.at,
        updated_at=replay.events[-1].at,
        accepted_at=replay.accepted_at if replay.state != rules.NEW else None,
        resolved_at=replay.resolved_at,
        closed_at=replay.closed_at,
        resolution=replay.resolution,
        waiting_on=replay.waiting_on,
        clock_paused_at=replay.paused_at,
        paused_business_seconds=replay.paused_seconds,
        bounce_count=replay.bounces,
        path=replay.path,
        offers=replay.offers,
        events=replay.events,
        pauses=replay.pauses,
        participants=replay.participants,
        left_out=replay.left_out,
    )
