"""The request lifecycle, once: every transition as a pure function.

A transition takes the plain state of a request (`RequestFacts`), `now`, and whatever else it
needs (calendar, targets, names), and returns a `Change`: the new state, the events (typed
payloads) and the notifications, and the rows it adds or answers (offers, path steps, pauses,
updates). The live services, the sweeper, the demo generator and history imports all call these
functions and only load, apply and write what they return; none of them restates a rule.

Permission checks (who may act) stay with the callers (`rules.require_*`): a replayed log has
no one to ask. The state machine is checked here (`rules.require_state`).

Rows a change creates have no id yet: the payloads name them with `NEW_ROW`, and the writer
fills the id in with `Change.with_new_row` once the row is inserted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Protocol

from followthrough.errors import Conflict, InvalidInput, InvalidTransition
from followthrough.history.payloads import NEW_ROW, OwnerReassigned, sub_request_resolved
from followthrough.org.rules import (
    WorkingCalendar,
    add_business_hours,
    add_business_seconds,
    business_seconds_between,
)
from followthrough.promises import rules as promise_rules
from followthrough.requests import rules
from followthrough.requests.vocabulary import (
    Accepted,
    CaseLinked,
    ClarificationAnswered,
    ClarificationAsked,
    Closed,
    Declined,
    DuplicateMerged,
    Escalated,
    EventKind,
    FeedbackGiven,
    MergedInto,
    NotificationKind,
    Offered,
    OfferKind,
    OfferState,
    Opened,
    Paused,
    Payload,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
    PromiseReleased,
    PromiseState,
    Rated,
    Recategorised,
    Reopened,
    RequestState,
    RequestWithdrawn,
    Resolved,
    Resumed,
    ReturnedToRequester,
    SubRequestOpened,
    UpdateEscalated,
    UpdatePosted,
    UpdateReminded,
    WaitReason,
    Withdrawn,
)

# -- the facts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """A service's targets, in the receiving team's business hours (auto-close in days)."""

    accept_hours: float
    update_every_hours: float
    resolve_hours: float
    auto_close_days: int


# Targets for requests raised without a catalog service ("not sure which team").
UNCATALOGUED = Targets(
    accept_hours=4.0, update_every_hours=8.0, resolve_hours=24.0, auto_close_days=5
)


class ServiceTargets(Protocol):
    """A catalog service's targets, as the organisation holds them."""

    @property
    def accept_target_hours(self) -> float: ...
    @property
    def update_every_hours(self) -> float: ...
    @property
    def resolve_target_hours(self) -> float: ...
    @property
    def auto_close_days(self) -> int: ...


def targets_of(service: ServiceTargets | None) -> Targets:
    """The service's targets; the uncatalogued ones for a request without a service."""
    if service is None:
        return UNCATALOGUED
    return Targets(
        service.accept_target_hours,
        service.update_every_hours,
        service.resolve_target_hours,
        service.auto_close_days,
    )


@dataclass(frozen=True)
class OfferFacts:
    """An open offer (a handoff, or the intake offer made on opening)."""

    id: int
    kind: OfferKind
    from_person_id: int
    from_team_id: int | None
    to_team_id: int
    to_person_id: int | None
    offered_at: datetime
    due_at: datetime
    escalated_at: datetime | None = None


@dataclass(frozen=True)
class RequestFacts:
    """What the lifecycle knows about a request: its state, who holds it and its clocks."""

    title: str
    requester_id: int
    owner_id: int
    team_id: int
    opened_at: datetime
    updated_at: datetime
    state: RequestState = RequestState.NEW
    parent_id: int | None = None
    waiting_on: WaitReason | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str | None = None
    # Communicate: when the next update is due, and where the reminder ladder stands.
    next_update_due_at: datetime | None = None
    update_reminded_at: datetime | None = None
    update_escalate_at: datetime | None = None
    # The OLA clock: the resolve target, moved later by every pause.
    resolve_due_at: datetime | None = None
    clock_paused_at: datetime | None = None
    paused_business_seconds: float = 0.0
    auto_close_at: datetime | None = None
    bounce_count: int = 0
    # A duplicate merged into another request names it (state `merged`).
    merged_into_id: int | None = None


@dataclass(frozen=True)
class PromiseFacts:
    id: int
    made_by_id: int
    made_to_id: int
    what: str
    due_at: datetime
    made_at: datetime
    state: PromiseState = PromiseState.OPEN
    reminded_at: datetime | None = None
    done_at: datetime | None = None
    done_note: str | None = None


@dataclass(frozen=True)
class Event:
    """One history row of a request (the writer adds the request's id)."""

    payload: Payload
    at: datetime
    actor_id: int | None = None
    team_id: int | None = None
    other_team_id: int | None = None
    person_id: int | None = None

    @property
    def kind(self) -> EventKind:
        return self.payload.KIND


@dataclass(frozen=True)
class Notice:
    """A notification for one person's inbox."""

    person_id: int
    kind: NotificationKind
    message: str


@dataclass(frozen=True)
class OfferAnswer:
    """An open offer closed: accepted, declined or withdrawn, by whom and when."""

    offer_id: int
    state: OfferState
    by_id: int
    at: datetime
    decline_reason: str | None = None


@dataclass(frozen=True)
class NewOffer:
    kind: OfferKind
    from_person_id: int
    from_team_id: int | None
    to_team_id: int
    to_person_id: int | None
    note: str
    offered_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class NewPathStep:
    team_id: int
    entered_at: datetime
    is_bounce: bool


@dataclass(frozen=True)
class NewPause:
    reason: WaitReason
    note: str
    child_id: int | None
    started_at: datetime
    started_by_id: int


@dataclass(frozen=True)
class NewUpdate:
    author_id: int
    body: str
    posted_at: datetime


@dataclass(frozen=True)
class Change:
    """What one transition does to a request and around it."""

    request: RequestFacts
    events: tuple[Event, ...] = ()
    notices: tuple[Notice, ...] = ()
    # People who now take part in the request (they may read it from now on).
    participants: tuple[int, ...] = ()
    answered: tuple[OfferAnswer, ...] = ()
    new_offer: NewOffer | None = None
    escalated_offer_id: int | None = None
    new_step: NewPathStep | None = None
    new_pause: NewPause | None = None
    pause_ended_at: datetime | None = None
    new_update: NewUpdate | None = None
    # Open promises let go because the request ended unresolved (withdrawn, merged).
    released_promise_ids: tuple[int, ...] = ()

    def with_new_row(self, row_id: int) -> Change:
        """The change with the id of the row it created (offer, update) in its payloads."""
        return replace(
            self,
            events=tuple(replace(e, payload=e.payload.with_new_row(row_id)) for e in self.events),
        )


@dataclass(frozen=True)
class PromiseChange:
    request: RequestFacts
    promise: PromiseFacts
    events: tuple[Event, ...] = ()
    notices: tuple[Notice, ...] = ()
    participants: tuple[int, ...] = ()

    def with_new_row(self, row_id: int) -> PromiseChange:
        """The change with the new promise's id in the promise and its payloads."""
        return replace(
            self,
            promise=replace(self.promise, id=row_id),
            events=tuple(replace(e, payload=e.payload.with_new_row(row_id)) for e in self.events),
        )


# -- the rules the transitions share -------------------------------------------------------------


_REQUEST_FIELDS = frozenset(f.name for f in fields(RequestFacts))


def _touched(request: RequestFacts, now: datetime, **changes: object) -> RequestFacts:
    """Every change marks the request changed at `now`."""
    # What `dataclasses.replace` does, without its per-call look at every field: a history
    # import makes a copy for each of a million events. RequestFacts has no __post_init__.
    if not changes.keys() <= _REQUEST_FIELDS or "updated_at" in changes:
        return replace(request, updated_at=now, **changes)  # type: ignore[arg-type]  # raises
    after = object.__new__(type(request))
    state = after.__dict__
    state.update(request.__dict__)
    state.update(changes)
    state["updated_at"] = now
    return after


def _ladder_reset(
    calendar: WorkingCalendar, targets: Targets, now: datetime
) -> dict[str, datetime | None]:
    ladder = rules.update_ladder(calendar, now, targets.update_every_hours)
    return {
        "next_update_due_at": ladder.due_at,
        "update_escalate_at": ladder.escalate_at,
        "update_reminded_at": None,
    }


_LADDER_SUSPENDED: dict[str, datetime | None] = {
    "next_update_due_at": None,
    "update_escalate_at": None,
    "update_reminded_at": None,
}


def resolve_due(calendar: WorkingCalendar, targets: Targets, start: datetime) -> datetime:
    """When a request whose resolve clock starts at `start` should be resolved by."""
    return add_business_hours(calendar, start, targets.resolve_hours)


def restart_clocks(
    request: RequestFacts, calendar: WorkingCalendar, targets: Targets, now: datetime
) -> RequestFacts:
    """A request brought in from another system keeps its past but its clocks start now: still
    open, it owes a resolution by the target from now and updates on the cadence (unless the
    requester owes an answer); resolved, it closes by itself as any resolved request does."""
    if request.state == RequestState.RESOLVED:
        return replace(request, auto_close_at=auto_close_due(calendar, targets, now))
    if request.state not in rules.OPEN_STATES:
        return request
    ladder = (
        _ladder_reset(calendar, targets, now)
        if rules.owes_updates(request.waiting_on)
        else _LADDER_SUSPENDED
    )
    return replace(
        request,
        resolve_due_at=resolve_due(calendar, targets, now),
        **ladder,  # type: ignore[arg-type]
    )


def accept_due(calendar: WorkingCalendar, targets: Targets, now: datetime) -> datetime:
    """An offer is to be accepted within the acceptance target, in the receiver's hours."""
    return add_business_hours(calendar, now, targets.accept_hours)


def auto_close_due(calendar: WorkingCalendar, targets: Targets, resolved_at: datetime) -> datetime:
    """A resolved request closes by itself `auto_close_days` business days after resolving,
    unless the requester confirms or reopens it first."""
    hours = targets.auto_close_days * calendar.business_seconds_per_day / 3600
    return add_business_hours(calendar, resolved_at, hours)


def _pause(
    request: RequestFacts,
    actor_id: int,
    reason: WaitReason,
    note: str,
    now: datetime,
    child_id: int | None = None,
) -> tuple[dict[str, object], NewPause]:
    """Stop the OLA clock; while the requester owes an answer, no update is owed either."""
    changes: dict[str, object] = {"clock_paused_at": now, "waiting_on": reason}
    if not rules.owes_updates(reason):
        changes.update(_LADDER_SUSPENDED)
    return changes, NewPause(reason, note, child_id, now, actor_id)


def _unpause(
    request: RequestFacts, calendar: WorkingCalendar, targets: Targets, now: datetime
) -> tuple[dict[str, object], float]:
    """End the pause: the resolve target moves on by the business time it lasted, and the
    update cadence starts again from now. Returns the changes and the paused seconds."""
    paused = 0.0
    if request.clock_paused_at is not None:
        paused = business_seconds_between(calendar, request.clock_paused_at, now)
    changes: dict[str, object] = {
        "paused_business_seconds": request.paused_business_seconds + paused,
        "clock_paused_at": None,
        "waiting_on": None,
        **_ladder_reset(calendar, targets, now),
    }
    if request.resolve_due_at is not None:
        changes["resolve_due_at"] = add_business_seconds(calendar, request.resolve_due_at, paused)
    return changes, paused


# -- opening ---------------------------------------------------------------------------------------


def open_request(
    *,
    title: str,
    requester_id: int,
    team_id: int,
    team_name: str,
    duty_owner_id: int,
    calendar: WorkingCalendar,
    targets: Targets,
    now: datetime,
    service_id: int | None = None,
    case_ids: Sequence[int] = (),
    parent_id: int | None = None,
) -> Change:
    """A new request: the team's duty owner is accountable, and an intake offer asks the team
    to accept it. The change's new offer is the intake offer."""
    request = RequestFacts(
        title=title,
        requester_id=requester_id,
        owner_id=duty_owner_id,
        team_id=team_id,
        opened_at=now,
        updated_at=now,
        state=RequestState.NEW,
        parent_id=parent_id,
        resolve_due_at=resolve_due(calendar, targets, now),
        **_ladder_reset(calendar, targets, now),  # type: ignore[arg-type]
    )
    intake = NewOffer(
        kind=OfferKind.INTAKE,
        from_person_id=requester_id,
        from_team_id=None,
        to_team_id=team_id,
        to_person_id=None,
        note="",
        offered_at=now,
        due_at=accept_due(calendar, targets, now),
    )
    return Change(
        request=request,
        events=(
            Event(
                Opened(
                    service_id=service_id, case_ids=tuple(case_ids) or None, parent_id=parent_id
                ),
                now,
                actor_id=requester_id,
                team_id=team_id,
                person_id=duty_owner_id,
            ),
            Event(
                Offered(offer_id=NEW_ROW, intake=True), now, actor_id=requester_id, team_id=team_id
            ),
        ),
        notices=(
            Notice(duty_owner_id, NotificationKind.OFFER, f"New request for {team_name}: {title}"),
        ),
        participants=(requester_id, duty_owner_id),
        new_offer=intake,
        new_step=NewPathStep(team_id, now, False),
    )


def open_sub_request(
    parent: RequestFacts, *, child_id: int, child_team_id: int, actor_id: int, now: datetime
) -> Change:
    """The parent's side of a sub-request opened by someone working on it."""
    rules.require_state("open_sub_request", parent.state)
    return Change(
        request=_touched(parent, now),
        events=(
            Event(
                SubRequestOpened(child_id=child_id),
                now,
                actor_id=actor_id,
                team_id=parent.team_id,
                other_team_id=child_team_id,
            ),
        ),
    )


# -- offers ----------------------------------------------------------------------------------------


def _withdrawal(
    offer: OfferFacts, actor_id: int, now: datetime, payload: Withdrawn
) -> tuple[OfferAnswer, Event]:
    return (
        OfferAnswer(offer.id, OfferState.WITHDRAWN, actor_id, now),
        Event(payload, now, actor_id=actor_id, team_id=offer.to_team_id),
    )


def offer(
    request: RequestFacts,
    *,
    previous: OfferFacts | None,
    actor_id: int,
    to_team_id: int,
    to_person_id: int | None,
    to_team_duty_owner_id: int,
    note: str,
    calendar: WorkingCalendar,
    targets: Targets,
    now: datetime,
) -> Change:
    """Offer the request to a team or a person; the owner stays accountable until it is
    accepted. A still open offer is withdrawn (superseded). `calendar` is the receiving team's.
    The offer goes to the person named, else to the receiving team's duty owner."""
    rules.require_state("offer", request.state)
    events: list[Event] = []
    answered: list[OfferAnswer] = []
    if previous is not None:
        answer, event = _withdrawal(
            previous, actor_id, now, Withdrawn(previous.id, superseded=True)
        )
        answered.append(answer)
        events.append(event)
    new = NewOffer(
        kind=OfferKind.HANDOFF,
        from_person_id=actor_id,
        from_team_id=request.team_id,
        to_team_id=to_team_id,
        to_person_id=to_person_id,
        note=note,
        offered_at=now,
        due_at=accept_due(calendar, targets, now),
    )
    events.append(
        Event(
            Offered(offer_id=NEW_ROW, note=note or None),
            now,
            actor_id=actor_id,
            team_id=request.team_id,
            other_team_id=to_team_id,
            person_id=to_person_id,
        )
    )
    receiver = to_person_id if to_person_id is not None else to_team_duty_owner_id
    return Change(
        request=_touched(request, now),
        events=tuple(events),
        notices=(
            Notice(
                receiver,
                NotificationKind.OFFER,
                f"Offered to you: {request.title} (accept by {new.due_at:%Y-%m-%d %H:%M} UTC)",
            ),
        ),
        participants=(receiver,),
        answered=tuple(answered),
        new_offer=new,
    )


def accept(
    request: RequestFacts,
    offer: OfferFacts,
    *,
    actor_id: int,
    actor_name: str,
    path: Sequence[int],
    calendar: WorkingCalendar,
    targets: Targets,
    now: datetime,
) -> Change:
    """The receiver accepts and becomes the one accountable owner; moving to another team
    extends the path (a return to a team it left is a bounce). `path` is the teams so far, in
    order; `calendar` is the receiving team's."""
    rules.require_state("answer_offer", request.state)
    previous_owner, previous_team = request.owner_id, request.team_id
    changes: dict[str, object] = {"owner_id": actor_id}
    bounce = False
    step = None
    if offer.to_team_id != request.team_id:
        bounce = rules.is_bounce(path, offer.to_team_id)
        step = NewPathStep(offer.to_team_id, now, bounce)
        changes["team_id"] = offer.to_team_id
        changes["bounce_count"] = request.bounce_count + bounce
    if request.accepted_at is None:
        changes["accepted_at"] = now
    if request.state == RequestState.NEW:
        changes["state"] = RequestState.IN_PROGRESS
    if rules.owes_updates(request.waiting_on):
        changes.update(_ladder_reset(calendar, targets, now))
    after = _touched(request, now, **changes)
    notices: tuple[Notice, ...] = ()
    if previous_owner != actor_id:
        notices = (
            Notice(
                previous_owner,
                NotificationKind.OFFER_ACCEPTED,
                f"Accepted: {request.title} is now owned by {actor_name}",
            ),
        )
    return Change(
        request=after,
        events=(
            Event(
                Accepted(
                    offer_id=offer.id,
                    previous_owner_id=previous_owner,
                    bounce=bounce,
                    waited_seconds=(now - offer.offered_at).total_seconds(),
                ),
                now,
                actor_id=actor_id,
                team_id=after.team_id,
                other_team_id=previous_team if previous_team != after.team_id else None,
                person_id=actor_id,
            ),
        ),
        notices=notices,
        # An offer to a person recorded them when it was made.
        participants=() if offer.to_person_id == actor_id else (actor_id,),
        answered=(OfferAnswer(offer.id, OfferState.ACCEPTED, actor_id, now),),
        new_step=step,
    )


def decline(
    request: RequestFacts, offer: OfferFacts, *, actor_id: int, reason: str, now: datetime
) -> Change:
    """The receiver declines with a reason; ownership does not move, and the owner and the
    sender hear why."""
    told = sorted({request.owner_id, offer.from_person_id} - {actor_id})
    return Change(
        request=_touched(request, now),
        events=(
            Event(
                Declined(offer_id=offer.id, reason=reason, intake=offer.kind == OfferKind.INTAKE),
                now,
                actor_id=actor_id,
                team_id=offer.to_team_id,
                other_team_id=offer.from_team_id,
            ),
        ),
        notices=tuple(
            Notice(p, NotificationKind.OFFER_DECLINED, f"Declined: {request.title} — {reason}")
            for p in told
        ),
        answered=(OfferAnswer(offer.id, OfferState.DECLINED, actor_id, now, reason),),
    )


@dataclass(frozen=True)
class TriageTeam:
    """The team that routes requests nobody else took, when the organisation has one."""

    id: int
    name: str
    duty_owner_id: int
    calendar: WorkingCalendar


def decline_intake(
    request: RequestFacts,
    offer: OfferFacts,
    *,
    actor_id: int,
    reason: str,
    team_name: str,
    triage: TriageTeam | None,
    path: Sequence[int],
    targets: Targets,
    now: datetime,
) -> Change:
    """A team declines the request it was raised to. It is never left with nobody working it:

    - to the triage team, when there is one and it is neither the team declining nor a team
      the request already passed through: its duty owner is accountable and the team is
      offered it as a new intake, with the reason as the offer's note;
    - otherwise back to the requester, accountable again with the reason: they offer it to
      another team or withdraw it. Nobody owes them updates while they hold it.

    The requester is told either way. `path` is the teams so far; `team_name` is the declining
    team's; `targets` the request's (the triage offer's acceptance target)."""
    if offer.kind != OfferKind.INTAKE:
        raise InvalidInput("only the intake offer goes on by this rule", field="offer_id")
    rules.require_state("answer_offer", request.state)
    declined = Event(
        Declined(offer_id=offer.id, reason=reason, intake=True),
        now,
        actor_id=actor_id,
        team_id=offer.to_team_id,
        other_team_id=offer.from_team_id,
    )
    answer = OfferAnswer(offer.id, OfferState.DECLINED, actor_id, now, reason)
    previous_owner = request.owner_id
    if triage is not None and triage.id != offer.to_team_id and triage.id not in path:
        note = f"{team_name} declined it: {reason}"
        intake = NewOffer(
            kind=OfferKind.INTAKE,
            from_person_id=actor_id,
            from_team_id=offer.to_team_id,
            to_team_id=triage.id,
            to_person_id=None,
            note=note,
            offered_at=now,
            due_at=accept_due(triage.calendar, targets, now),
        )
        told = {request.requester_id, previous_owner} - {actor_id, triage.duty_owner_id}
        return Change(
            request=_touched(request, now, owner_id=triage.duty_owner_id, team_id=triage.id),
            events=(
                declined,
                Event(
                    Offered(offer_id=NEW_ROW, intake=True, note=note),
                    now,
                    actor_id=actor_id,
                    team_id=triage.id,
                    other_team_id=offer.to_team_id,
                    person_id=triage.duty_owner_id,
                ),
            ),
            notices=(
                Notice(
                    triage.duty_owner_id,
                    NotificationKind.OFFER,
                    f"New request for {triage.name}: {request.title} ({note})",
                ),
                *(
                    Notice(
                        p,
                        NotificationKind.OFFER_DECLINED,
                        f"{team_name} declined {request.title}: {reason}. "
                        f"It went to {triage.name}, who will route it.",
                    )
                    for p in sorted(told)
                ),
            ),
            participants=(triage.duty_owner_id,),
            answered=(answer,),
            new_offer=intake,
            new_step=NewPathStep(triage.id, now, rules.is_bounce(path, triage.id)),
        )
    owner_told = sorted({previous_owner} - {actor_id, request.requester_id})
    return Change(
        request=_touched(request, now, owner_id=request.requester_id, **_LADDER_SUSPENDED),
        events=(
            declined,
            Event(
                ReturnedToRequester(offer_id=offer.id, reason=reason),
                now,
                actor_id=actor_id,
                team_id=offer.to_team_id,
                person_id=request.requester_id,
            ),
        ),
        notices=(
            Notice(
                request.requester_id,
                NotificationKind.RETURNED,
                f"{team_name} declined {request.title}: {reason}. It is back with you: "
                "offer it to another team, or withdraw it.",
            ),
            *(
                Notice(p, NotificationKind.OFFER_DECLINED, f"Declined: {request.title} — {reason}")
                for p in owner_told
            ),
        ),
        answered=(answer,),
    )


def require_withdrawable(offer: OfferFacts) -> None:
    """Only a handoff can be taken back: the intake offer is answered by accepting or handing
    the request on."""
    if offer.kind == OfferKind.INTAKE:
        raise InvalidInput(
            "the intake offer is answered by accepting or handing on", field="offer_id"
        )


def withdraw(request: RequestFacts, offer: OfferFacts, *, actor_id: int, now: datetime) -> Change:
    """The sender takes a handoff back."""
    require_withdrawable(offer)
    answer, event = _withdrawal(offer, actor_id, now, Withdrawn(offer.id))
    return Change(request=_touched(request, now), events=(event,), answered=(answer,))


def reassign_owner(
    request: RequestFacts, *, to_owner_id: int, actor_id: int, reason: str, now: datetime
) -> Change:
    """The request handed straight to a new owner, without an offer: its owner can no longer
    hold it (they left). The new owner is accountable at once and hears why; the team, the
    path and the clocks stay as they were."""
    rules.require_state("reassign", request.state)
    if to_owner_id == request.owner_id:
        raise Conflict("the request already has that owner", field="owner_id")
    return Change(
        request=_touched(request, now, owner_id=to_owner_id),
        events=(
            Event(
                OwnerReassigned(previous_owner_id=request.owner_id, reason=reason),
                now,
                actor_id=actor_id,
                team_id=request.team_id,
                person_id=to_owner_id,
            ),
        ),
        notices=(
            Notice(
                to_owner_id, NotificationKind.REASSIGNED, f"Now yours: {request.title} — {reason}"
            ),
        ),
        participants=(to_owner_id,),
    )


def change_service(
    request: RequestFacts,
    *,
    from_service_id: int | None,
    to_service_id: int,
    service_name: str,
    service_team_id: int,
    service_team_duty_owner_id: int,
    open_offer: OfferFacts | None,
    reason: str,
    actor_id: int,
    calendar: WorkingCalendar,
    targets: Targets,
    now: datetime,
) -> Change:
    """Re-categorise an open request to another catalog service. `calendar` is the new
    service's team's and `targets` the new service's.

    The targets follow the new service: the resolve-by becomes the new resolve target counted
    from opening, moved on by the business time already paused, exactly as if it had been
    raised on that service. The next update is due on the new cadence from now, unless the old
    one was due sooner (re-categorising is no way to put off an update that is owed).

    Ownership never moves silently: when the service belongs to another team, the request is
    offered to that team (an ordinary handoff, superseding any open offer) and its owner stays
    accountable until someone there accepts; a decline leaves it where it is, as any decline
    does. The requester hears of the new service unless they made the change."""
    rules.require_state("change_service", request.state)
    if to_service_id == from_service_id:
        raise InvalidInput("the request is already on that service", field="service_id")
    resolve_by = resolve_due(calendar, targets, request.opened_at)
    if request.paused_business_seconds:
        # Only then: moving by nothing would carry a 17:00 deadline to the next morning.
        resolve_by = add_business_seconds(calendar, resolve_by, request.paused_business_seconds)
    changes: dict[str, object] = {"resolve_due_at": resolve_by}
    if request.next_update_due_at is not None:
        ladder = rules.update_ladder(calendar, now, targets.update_every_hours)
        if ladder.due_at < request.next_update_due_at:
            changes.update(
                next_update_due_at=ladder.due_at,
                update_escalate_at=ladder.escalate_at,
                update_reminded_at=None,
            )
    after = _touched(request, now, **changes)
    moves = service_team_id != request.team_id
    recategorised = Event(
        Recategorised(from_service_id=from_service_id, to_service_id=to_service_id, reason=reason),
        now,
        actor_id=actor_id,
        team_id=request.team_id,
        other_team_id=service_team_id if moves else None,
    )
    told = () if actor_id == request.requester_id else (request.requester_id,)
    notices = tuple(
        Notice(
            p,
            NotificationKind.UPDATE_POSTED,
            f"{request.title} is now filed under {service_name}: {reason}",
        )
        for p in told
    )
    if not moves:
        return Change(request=after, events=(recategorised,), notices=notices)
    handoff = offer(
        after,
        previous=open_offer,
        actor_id=actor_id,
        to_team_id=service_team_id,
        to_person_id=None,
        to_team_duty_owner_id=service_team_duty_owner_id,
        note=f"Re-categorised to {service_name}: {reason}",
        calendar=calendar,
        targets=targets,
        now=now,
    )
    return replace(
        handoff,
        events=(recategorised, *handoff.events),
        notices=(*notices, *handoff.notices),
    )


def offer_escalation_due_at(offer: OfferFacts) -> datetime | None:
    """An open offer not accepted by its due time escalates once."""
    return offer.due_at if offer.escalated_at is None else None


def escalates_to(lead_id: int | None, duty_owner_id: int) -> int:
    """Escalations go to the team's lead, or to its duty owner where it has no lead."""
    return lead_id if lead_id is not None else duty_owner_id


def escalation_receiver(request: RequestFacts, lead_id: int) -> int | None:
    """Who an escalation goes to: `lead_id` (the team's `escalates_to`), never the person who
    already owns the request. The lead is the top of a team, so when the owner is the lead
    there is nobody above them: None, and the escalation is recorded without a receiver."""
    return None if lead_id == request.owner_id else lead_id


def escalate_offer(
    request: RequestFacts, offer: OfferFacts, *, lead_id: int, now: datetime
) -> Change:
    """The receiving team's lead hears of an offer nobody accepted in time (unless the lead
    owns the request: then it is recorded that there is nobody above)."""
    receiver = escalation_receiver(request, lead_id)
    return Change(
        request=_touched(request, now),
        events=(
            Event(
                Escalated(offer_id=offer.id, nobody_above=receiver is None),
                now,
                team_id=offer.to_team_id,
                other_team_id=offer.from_team_id,
                person_id=receiver,
            ),
        ),
        notices=()
        if receiver is None
        else (
            Notice(receiver, NotificationKind.ESCALATION, f"Not accepted in time: {request.title}"),
        ),
        escalated_offer_id=offer.id,
    )


# -- pauses ----------------------------------------------------------------------------------------


def ask_clarification(
    request: RequestFacts, *, actor_id: int, question: str, now: datetime
) -> Change:
    """The requester is asked a question; the clock stops until they answer."""
    rules.require_state("ask_clarification", request.state)
    changes, pause = _pause(request, actor_id, WaitReason.CLARIFICATION, question, now)
    return Change(
        request=_touched(request, now, state=RequestState.NEEDS_CLARIFICATION, **changes),
        events=(
            Event(
                ClarificationAsked(question=question),
                now,
                actor_id=actor_id,
                team_id=request.team_id,
            ),
        ),
        notices=(
            Notice(
                request.requester_id,
                NotificationKind.CLARIFICATION,
                f"Question on {request.title}: {question}",
            ),
        ),
        new_pause=pause,
    )


def answer_clarification(
    request: RequestFacts,
    *,
    actor_id: int,
    answer: str,
    calendar: WorkingCalendar,
    targets: Targets,
    now: datetime,
) -> Change:
    """The question is answered: the clock runs again, and the request is new again if nobody
    has accepted it yet, else in progress."""
    rules.require_state("answer_clarification", request.state)
    changes, paused = _unpause(request, calendar, targets, now)
    state = rules.working_state(request.accepted_at is not None)
    return Change(
        request=_touched(request, now, state=state, **changes),
        events=(
            Event(
                ClarificationAnswered(answer=answer, paused_business_seconds=paused),
                now,
                actor_id=actor_id,
                team_id=request.team_id,
            ),
        ),
        notices=(
            Notice(
                request.owner_id,
                NotificationKind.CLARIFICATION,
                f"Answered: {request.title}: {answer}",
            ),
        ),
        pause_ended_at=now,
    )


def wait(
    request: RequestFacts,
    *,
    actor_id: int,
    reason: WaitReason,
    note: str,
    now: datetime,
    child_id: int | None = None,
) -> Change:
    """Pause the clock while the request waits on the requester, a sub-request or an outsider."""
    rules.require_state("wait", request.state)
    changes, pause = _pause(request, actor_id, reason, note, now, child_id)
    return Change(
        request=_touched(request, now, state=RequestState.WAITING, **changes),
        events=(
            Event(
                Paused(reason=reason, note=note, child_id=child_id),
                now,
                actor_id=actor_id,
                team_id=request.team_id,
            ),
        ),
        new_pause=pause,
    )


def resume(
    request: RequestFacts,
    *,
    actor_id: int | None,
    calendar: WorkingCalendar,
    targets: Targets,
    now: datetime,
    why: str | None = None,
    child_id: int | None = None,
) -> Change:
    """End a wait; `actor_id` None is the product itself."""
    rules.require_state("resume", request.state)
    changes, paused = _unpause(request, calendar, targets, now)
    return Change(
        request=_touched(request, now, state=RequestState.IN_PROGRESS, **changes),
        events=(
            Event(
                Resumed(
                    reason=request.waiting_on,
                    why=why,
                    paused_business_seconds=paused,
                    child_id=child_id,
                ),
                now,
                actor_id=actor_id,
                team_id=request.team_id,
            ),
        ),
        pause_ended_at=now,
    )


def child_resolved(
    parent: RequestFacts,
    *,
    child_id: int,
    child_title: str,
    waiting_on_child_id: int | None,
    calendar: WorkingCalendar,
    targets: Targets,
    now: datetime,
) -> Change | None:
    """A parent waiting on this sub-request picks up again by itself and its owner is told;
    None if it was not waiting on it. `waiting_on_child_id` is the open pause's sub-request."""
    if (
        parent.state != RequestState.WAITING
        or parent.waiting_on != WaitReason.SUB_REQUEST
        or waiting_on_child_id != child_id
    ):
        return None
    resumed = resume(
        parent,
        actor_id=None,
        calendar=calendar,
        targets=targets,
        now=now,
        why=sub_request_resolved(child_id),
        child_id=child_id,
    )
    return replace(
        resumed,
        notices=(
            Notice(
                parent.owner_id, NotificationKind.RESOLVED, f"Sub-request resolved: {child_title}"
            ),
        ),
    )


# -- communicating ---------------------------------------------------------------------------------


def post_update(
    request: RequestFacts,
    *,
    actor_id: int,
    body: str,
    working: bool,
    calendar: WorkingCalendar,
    targets: Targets,
    now: datetime,
) -> Change:
    """An update. From the owning side (`working`) it restarts the update cadence, if one is
    running, and goes to the requester; from the requester it goes to the owner."""
    rules.require_state("post_update", request.state)
    changes: dict[str, object] = {}
    if working and request.next_update_due_at is not None:
        changes.update(_ladder_reset(calendar, targets, now))
    receiver = request.requester_id if working else request.owner_id
    notices: tuple[Notice, ...] = ()
    if receiver != actor_id:
        notices = (
            Notice(
                receiver, NotificationKind.UPDATE_POSTED, f"Update on {request.title}: {body[:200]}"
            ),
        )
    return Change(
        request=_touched(request, now, **changes),
        events=(
            Event(
                UpdatePosted(update_id=NEW_ROW, from_requester=not working),
                now,
                actor_id=actor_id,
                team_id=request.team_id,
            ),
        ),
        notices=notices,
        # The owner was recorded when made owner.
        participants=() if actor_id == request.owner_id else (actor_id,),
        new_update=NewUpdate(actor_id, body, now),
    )


def update_reminder_due_at(request: RequestFacts) -> datetime | None:
    """The owner is reminded once per rung of the ladder, when the next update falls due."""
    if request.state not in rules.OPEN_STATES or request.update_reminded_at is not None:
        return None
    return request.next_update_due_at


def remind_update(
    request: RequestFacts, *, calendar: WorkingCalendar, targets: Targets, now: datetime
) -> Change:
    """The owner is reminded that an update is due. Its escalation comes no sooner than half a
    cadence (the ladder's interval from due to escalation) after the reminder, in the team's
    business hours: a reminder sent late, after the planned escalation time, still gives the
    owner that long before the lead hears of it, never the same second."""
    escalate_at = request.update_escalate_at
    if escalate_at is not None:
        escalate_at = max(
            escalate_at, add_business_hours(calendar, now, targets.update_every_hours / 2)
        )
    return Change(
        request=_touched(request, now, update_reminded_at=now, update_escalate_at=escalate_at),
        events=(Event(UpdateReminded(), now, team_id=request.team_id, person_id=request.owner_id),),
        notices=(
            Notice(request.owner_id, NotificationKind.UPDATE_DUE, f"Update due: {request.title}"),
        ),
    )


def update_escalation_due_at(request: RequestFacts) -> datetime | None:
    """An update still missing after the reminder escalates once, half a cadence later."""
    if request.state not in rules.OPEN_STATES or request.update_reminded_at is None:
        return None
    return request.update_escalate_at


def escalate_update(request: RequestFacts, *, lead_id: int, now: datetime) -> Change:
    """The team's lead hears of an overdue update; when the lead owns the request, it is
    recorded that there is nobody above them, and nobody is notified."""
    receiver = escalation_receiver(request, lead_id)
    return Change(
        request=_touched(request, now, update_escalate_at=None),
        events=(
            Event(
                UpdateEscalated(owner_id=request.owner_id, nobody_above=receiver is None),
                now,
                team_id=request.team_id,
                person_id=receiver,
            ),
        ),
        notices=()
        if receiver is None
        else (Notice(receiver, NotificationKind.ESCALATION, f"Update overdue: {request.title}"),),
    )


# -- resolving -------------------------------------------------------------------------------------


def resolve(
    request: RequestFacts,
    *,
    open_offer: OfferFacts | None,
    actor_id: int,
    resolution: str,
    calendar: WorkingCalendar,
    targets: Targets,
    now: datetime,
) -> Change:
    """Resolve with a summary. Resolving ends any handoff (the open offer is withdrawn, with its
    event) and is the strongest way of owning it; no update is owed any more, and the request
    closes by itself unless the requester confirms or reopens it first."""
    rules.require_state("resolve", request.state)
    events: list[Event] = []
    answered: tuple[OfferAnswer, ...] = ()
    if open_offer is not None:
        answer, event = _withdrawal(
            open_offer, actor_id, now, Withdrawn(open_offer.id, resolved=True)
        )
        answered = (answer,)
        events.append(event)
    after = _touched(
        request,
        now,
        state=RequestState.RESOLVED,
        resolution=resolution,
        resolved_at=now,
        accepted_at=request.accepted_at or now,
        auto_close_at=auto_close_due(calendar, targets, now),
        **_LADDER_SUSPENDED,
    )
    events.append(
        Event(
            Resolved(
                resolution=resolution,
                within_target=None
                if request.resolve_due_at is None
                else now <= request.resolve_due_at,
            ),
            now,
            actor_id=actor_id,
            team_id=request.team_id,
            person_id=request.owner_id,
        )
    )
    return Change(
        request=after,
        events=tuple(events),
        notices=(
            Notice(
                request.requester_id,
                NotificationKind.RESOLVED,
                f"Resolved: {request.title} — {resolution[:200]}",
            ),
        ),
        answered=answered,
    )


def _close(request: RequestFacts, *, actor_id: int | None, now: datetime) -> Change:
    return Change(
        request=_touched(
            request, now, state=RequestState.CLOSED, closed_at=now, auto_close_at=None
        ),
        events=(
            Event(Closed(auto=actor_id is None), now, actor_id=actor_id, team_id=request.team_id),
        ),
    )


def confirm(request: RequestFacts, *, actor_id: int, now: datetime) -> Change:
    """The requester confirms the resolution: closed."""
    rules.require_state("confirm", request.state)
    return _close(request, actor_id=actor_id, now=now)


def auto_close_due_at(request: RequestFacts) -> datetime | None:
    return request.auto_close_at if request.state == RequestState.RESOLVED else None


def auto_close(request: RequestFacts, *, now: datetime) -> Change:
    """Closed by the product: the requester neither confirmed nor reopened it in time."""
    rules.require_state("auto_close", request.state)
    return _close(request, actor_id=None, now=now)


def reopen(
    request: RequestFacts,
    *,
    actor_id: int,
    reason: str,
    calendar: WorkingCalendar,
    targets: Targets,
    now: datetime,
) -> Change:
    """The requester reopens: back in progress with the owner, updates owed again."""
    rules.require_state("reopen", request.state)
    return Change(
        request=_touched(
            request,
            now,
            state=RequestState.IN_PROGRESS,
            resolved_at=None,
            auto_close_at=None,
            **_ladder_reset(calendar, targets, now),
        ),
        events=(Event(Reopened(reason=reason), now, actor_id=actor_id, team_id=request.team_id),),
        notices=(
            Notice(
                request.owner_id,
                NotificationKind.REOPENED,
                f"Reopened: {request.title} — {reason}",
            ),
        ),
    )


# -- ending unresolved: withdrawn, merged ----------------------------------------------------------


def _ended(
    request: RequestFacts,
    *,
    state: RequestState,
    open_offer: OfferFacts | None,
    promises: Sequence[PromiseFacts],
    actor_id: int,
    why: str,
    now: datetime,
    **changes: object,
) -> tuple[RequestFacts, list[Event], tuple[OfferAnswer, ...], tuple[int, ...], bool]:
    """What withdrawing and merging share: the request closes unresolved (no resolution, no
    resolve time, no estimate), its open offer is withdrawn and its open promises are released
    (each with its event), no update is owed and a running pause ends. Returns the request
    after, the events, the offer answered, the promises released and whether a pause ended."""
    events: list[Event] = []
    answered: tuple[OfferAnswer, ...] = ()
    if open_offer is not None:
        answer, event = _withdrawal(open_offer, actor_id, now, Withdrawn(open_offer.id))
        answered = (answer,)
        events.append(event)
    released = tuple(p for p in promises if p.state == PromiseState.OPEN)
    events.extend(
        Event(
            PromiseReleased(promise_id=p.id, why=why),
            now,
            actor_id=actor_id,
            team_id=request.team_id,
            person_id=p.made_by_id,
        )
        for p in released
    )
    paused = request.clock_paused_at is not None
    after = _touched(
        request,
        now,
        state=state,
        closed_at=now,
        auto_close_at=None,
        clock_paused_at=None,
        waiting_on=None,
        **_LADDER_SUSPENDED,
        **changes,
    )
    return after, events, answered, tuple(p.id for p in released), paused


def offer_receiver(offer: OfferFacts, to_team_duty_owner_id: int) -> int:
    """Who an offer was told to: the person named, else the receiving team's duty owner."""
    return offer.to_person_id if offer.to_person_id is not None else to_team_duty_owner_id


def withdraw_request(
    request: RequestFacts,
    *,
    open_offer: OfferFacts | None,
    offer_receiver_id: int | None,
    promises: Sequence[PromiseFacts],
    actor_id: int,
    reason: str,
    now: datetime,
) -> Change:
    """The requester (or an admin) withdraws an open request with a reason: it ends as
    withdrawn, never counted as resolved. The open offer is withdrawn, open promises are
    released, and the owner, whoever the offer went to (`offer_receiver_id`), whoever made
    the promises and — when someone else withdrew it — the requester hear why."""
    rules.require_state("withdraw", request.state)
    after, events, answered, released, paused = _ended(
        request,
        state=RequestState.WITHDRAWN,
        open_offer=open_offer,
        promises=promises,
        actor_id=actor_id,
        why="the request was withdrawn",
        now=now,
    )
    events.insert(
        0,
        Event(
            RequestWithdrawn(reason=reason),
            now,
            actor_id=actor_id,
            team_id=request.team_id,
            person_id=request.owner_id,
        ),
    )
    makers = {p.made_by_id for p in promises if p.id in released}
    told = {request.owner_id, request.requester_id, *makers}
    if offer_receiver_id is not None:
        told.add(offer_receiver_id)
    return Change(
        request=after,
        events=tuple(events),
        notices=tuple(
            Notice(p, NotificationKind.WITHDRAWN, f"Withdrawn: {request.title} — {reason}")
            for p in sorted(told - {actor_id})
        ),
        answered=answered,
        pause_ended_at=now if paused else None,
        released_promise_ids=released,
    )


@dataclass(frozen=True)
class Merge:
    """A merge's two sides: the duplicate ends, the request it went into gains its people."""

    duplicate: Change
    into: Change


def merge(
    duplicate: RequestFacts,
    into: RequestFacts,
    *,
    duplicate_id: int,
    into_id: int,
    open_offer: OfferFacts | None,
    promises: Sequence[PromiseFacts],
    duplicate_people: Sequence[int],
    new_case_ids: Sequence[int],
    actor_id: int,
    note: str,
    now: datetime,
) -> Merge:
    """Someone working on a duplicate merges it into another open request: the duplicate ends
    as merged, pointing to it (its open offer withdrawn, its open promises released); the
    other request gains the duplicate's people (`duplicate_people`: its requester and
    participants), who may read it from now on, and the duplicate's customer cases it did not
    have (`new_case_ids`). Both histories are kept, an event on each. Both requesters and
    both owners are told.

    Only an open request can take a duplicate, and a merged request is no longer open, so a
    merge can never close a circle (A into B, then B into A)."""
    if duplicate_id == into_id:
        raise InvalidInput("a request cannot be merged into itself", field="into_id")
    rules.require_state("merge", duplicate.state)
    if into.state not in rules.ALLOWED_IN["merge_into"]:
        raise InvalidTransition(
            f"request {into_id} is {into.state.replace('_', ' ')}: a duplicate can only be "
            "merged into an open request",
            field="into_id",
            state=into.state,
        )
    ended, events, answered, released, paused = _ended(
        duplicate,
        state=RequestState.MERGED,
        open_offer=open_offer,
        promises=promises,
        actor_id=actor_id,
        why=f"the request was merged into #{into_id}",
        now=now,
        merged_into_id=into_id,
    )
    events.insert(
        0,
        Event(
            MergedInto(into_id=into_id, note=note or None),
            now,
            actor_id=actor_id,
            team_id=duplicate.team_id,
            other_team_id=into.team_id if into.team_id != duplicate.team_id else None,
        ),
    )
    moved = f"#{duplicate_id} {duplicate.title} was merged into #{into_id} {into.title}"
    told_duplicate = {duplicate.requester_id, duplicate.owner_id} - {actor_id}
    told_into = {into.requester_id, into.owner_id} - {actor_id} - told_duplicate
    joining = tuple(p for p in dict.fromkeys(duplicate_people) if p != into.requester_id)
    joining_requester = (
        duplicate.requester_id if duplicate.requester_id != into.requester_id else None
    )
    return Merge(
        duplicate=Change(
            request=ended,
            events=tuple(events),
            notices=tuple(
                Notice(p, NotificationKind.MERGED, f"{moved}: follow it there.")
                for p in sorted(told_duplicate)
            ),
            answered=answered,
            pause_ended_at=now if paused else None,
            released_promise_ids=released,
        ),
        into=Change(
            request=_touched(into, now),
            events=(
                Event(
                    DuplicateMerged(
                        duplicate_id=duplicate_id,
                        requester_id=joining_requester,
                        case_ids=tuple(new_case_ids) or None,
                    ),
                    now,
                    actor_id=actor_id,
                    team_id=into.team_id,
                    other_team_id=duplicate.team_id if duplicate.team_id != into.team_id else None,
                    # The duplicate's requester, who takes part from now on (if not the same).
                    person_id=joining_requester,
                ),
            ),
            notices=tuple(
                Notice(p, NotificationKind.MERGED, f"{moved}.") for p in sorted(told_into)
            ),
            participants=joining,
        ),
    )


# -- around the request ----------------------------------------------------------------------------


def link_case(
    request: RequestFacts, *, actor_id: int, case_id: int, reference: str, now: datetime
) -> Change:
    return Change(
        request=_touched(request, now),
        events=(
            Event(
                CaseLinked(case_id=case_id, reference=reference),
                now,
                actor_id=actor_id,
                team_id=request.team_id,
            ),
        ),
    )


@dataclass(frozen=True)
class Scores:
    """The requester's rating of the four blocks, 1 to 5 each."""

    understand: int
    own: int
    serve: int
    communicate: int


def rate(
    request: RequestFacts, *, actor_id: int, scores: Scores, comment: str, now: datetime
) -> Change:
    """The requester rates the four blocks; the owner hears of it."""
    rules.require_state("rate", request.state)
    return Change(
        request=_touched(request, now),
        events=(
            Event(
                Rated(
                    comment=comment or None,
                    understand=scores.understand,
                    own=scores.own,
                    serve=scores.serve,
                    communicate=scores.communicate,
                ),
                now,
                actor_id=actor_id,
                team_id=request.team_id,
                person_id=request.owner_id,
            ),
        ),
        notices=(Notice(request.owner_id, NotificationKind.FEEDBACK, f"Rated: {request.title}"),),
    )


def give_feedback(
    *, team_id: int | None, actor_id: int, to_person_id: int, kind: str, now: datetime
) -> tuple[Event, Notice]:
    """Colleague feedback (about a request, whose team is `team_id`, or not): its event (the
    feedback row is `NEW_ROW`) and the receiver's notice. The request itself does not change."""
    return (
        Event(
            FeedbackGiven(feedback_id=NEW_ROW, kind=kind),
            now,
            actor_id=actor_id,
            team_id=team_id,
            person_id=to_person_id,
        ),
        Notice(to_person_id, NotificationKind.FEEDBACK, f"You received {kind} feedback"),
    )


# -- promises --------------------------------------------------------------------------------------


def require_promise_due_after(due_at: datetime, now: datetime) -> None:
    """A promise is for later: its due time must be after it is made."""
    if due_at <= now:
        raise InvalidInput("due_at must be in the future", field="due_at")


def make_promise(
    request: RequestFacts, *, actor_id: int, what: str, due_at: datetime, now: datetime
) -> PromiseChange:
    """Someone working on the request promises the requester something by a time. The promise
    is `NEW_ROW` until written."""
    require_promise_due_after(due_at, now)
    rules.require_state("make_promise", request.state)
    promise = PromiseFacts(
        id=NEW_ROW,
        made_by_id=actor_id,
        made_to_id=request.requester_id,
        what=what,
        due_at=due_at,
        made_at=now,
    )
    return PromiseChange(
        request=_touched(request, now),
        promise=promise,
        events=(
            Event(
                PromiseMade(promise_id=NEW_ROW, what=what, due_at=due_at),
                now,
                actor_id=actor_id,
                team_id=request.team_id,
                person_id=actor_id,
            ),
        ),
        notices=(
            Notice(
                request.requester_id,
                NotificationKind.PROMISE_DUE,
                f"Promised on {request.title}: {what} by {due_at:%Y-%m-%d %H:%M} UTC",
            ),
        ),
        participants=() if actor_id == request.owner_id else (actor_id,),
    )


def _broken(
    request: RequestFacts,
    promise: PromiseFacts,
    now: datetime,
    late_note: str | None,
    lead_id: int | None,
) -> PromiseChange:
    """Broken: whoever made it and whoever it was made to hear of it, and so does the team's
    lead (`escalates_to`), who answers for the team's promises, unless one of the two."""
    message = f"Broken promise on {request.title}: {promise.what}"
    told = (promise.made_by_id, promise.made_to_id)
    lead = () if lead_id is None or lead_id in told else (lead_id,)
    return PromiseChange(
        request=_touched(request, now),
        promise=replace(promise, state=PromiseState.BROKEN),
        events=(
            Event(
                PromiseBroken(promise_id=promise.id, due_at=promise.due_at, late_note=late_note),
                now,
                team_id=request.team_id,
                person_id=promise.made_by_id,
            ),
        ),
        notices=tuple(
            Notice(person_id, NotificationKind.PROMISE_BROKEN, message)
            for person_id in (*told, *lead)
        ),
    )


def keep_promise(
    request: RequestFacts,
    promise: PromiseFacts,
    *,
    actor_id: int,
    note: str,
    lead_id: int | None,
    now: datetime,
) -> PromiseChange:
    """Marked done: kept if in time; done late it is broken (with the note), and the team's
    lead `lead_id` hears of it as of any broken promise."""
    if promise.state != PromiseState.OPEN:
        raise Conflict(f"the promise is already {promise.state}", field="promise_id")
    done = replace(promise, done_at=now, done_note=note)
    if promise_rules.outcome_when_done(promise.due_at, now) != PromiseState.KEPT:
        return _broken(request, done, now, late_note=note, lead_id=lead_id)
    return PromiseChange(
        request=_touched(request, now),
        promise=replace(done, state=PromiseState.KEPT),
        events=(
            Event(
                PromiseKept(promise_id=promise.id, note=note),
                now,
                actor_id=actor_id,
                team_id=request.team_id,
                person_id=promise.made_by_id,
            ),
        ),
    )


def promise_break_due_at(promise: PromiseFacts) -> datetime | None:
    """An open promise breaks by itself at its due time."""
    return promise.due_at if promise.state == PromiseState.OPEN else None


def break_promise(
    request: RequestFacts, promise: PromiseFacts, *, lead_id: int | None, now: datetime
) -> PromiseChange:
    """The product breaks an open promise at its due time; maker, requester and the team's
    lead `lead_id` (`escalates_to`) hear of it."""
    return _broken(request, promise, now, late_note=None, lead_id=lead_id)


def promise_reminder_due_at(promise: PromiseFacts) -> datetime | None:
    """Whoever made an open promise is reminded once, shortly before it falls due."""
    if promise.state != PromiseState.OPEN or promise.reminded_at is not None:
        return None
    return promise_rules.reminder_due_at(promise.due_at)


def remind_promise(promise: PromiseFacts, *, now: datetime) -> tuple[PromiseFacts, Notice]:
    """The reminder; the request does not change."""
    return (
        replace(promise, reminded_at=now),
        Notice(
            promise.made_by_id,
            NotificationKind.PROMISE_DUE,
            f"Due at {promise.due_at:%H:%M} UTC: {promise.what}",
        ),
    )
