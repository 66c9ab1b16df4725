"""Request services: load, apply the rules, write the change and its history event. Never commit.

Every change touches the request row, so its version moves on and two people acting on the same
request at once cannot both succeed: the second gets a VersionConflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from followthrough.cases.models import Case, RequestCase
from followthrough.errors import (
    Conflict,
    InvalidInput,
    NotAllowed,
    NotFound,
    OfferNotOpen,
    VersionConflict,
)
from followthrough.history.service import record_event
from followthrough.notify.service import notify
from followthrough.org.actors import Actor
from followthrough.org.service import team_calendar
from followthrough.org.snapshot import OrgSnapshot, ServiceFacts, org_snapshot
from followthrough.promises.models import Promise
from followthrough.requests import lifecycle, rules
from followthrough.requests.access import get_readable_request
from followthrough.requests.lifecycle import Change, OfferFacts, RequestFacts
from followthrough.requests.models import (
    Offer,
    PathStep,
    Pause,
    Request,
    RequestParticipant,
    RequestUpdate,
)
from followthrough.requests.vocabulary import (
    OfferKind,
    OfferState,
    PromiseState,
    RequestState,
    WaitReason,
)
from followthrough.timescale.service import refresh_estimate

# The uncatalogued targets and how a service's targets are read are the lifecycle's.
Targets = lifecycle.Targets
targets_of = lifecycle.targets_of


@dataclass(frozen=True)
class NewRequest:
    """What the requester tells us (Understand)."""

    title: str
    need: str
    service_id: int | None = None
    team_id: int | None = None
    context: str = ""
    impact_customers: int = 0
    desired_by: datetime | None = None
    priority: str = "normal"
    case_ids: tuple[int, ...] = ()
    parent_id: int | None = None


def _service_of(session: Session, request: Request) -> ServiceFacts | None:
    if request.service_id is None:
        return None
    return org_snapshot(session).services.get(request.service_id)


# Built once per dialect, on the plain table: participants are written by nearly every change,
# and the ORM's bulk insert machinery costs more than the statement.
_PARTICIPANTS = cast(Table, RequestParticipant.__table__)
_PARTICIPATE = {
    name: insert(_PARTICIPANTS).on_conflict_do_nothing()
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def participate(session: Session, request_id: int, *person_ids: int) -> None:
    """Record that the people take part in the request; one idempotent statement.

    Whoever is made owner (on opening, on accepting) and whoever an offer names is recorded
    then, so a change by the owner need not record them again.
    """
    session.connection().execute(
        _PARTICIPATE[session.get_bind().dialect.name],
        [{"request_id": request_id, "person_id": p} for p in dict.fromkeys(person_ids)],
    )


def touch(request: Request, now: datetime) -> None:
    """Mark the request changed, so its version moves on even if no other column did."""
    request.updated_at = now
    flag_modified(request, "updated_at")


def _check_version(request: Request, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != request.version:
        raise VersionConflict(
            f"request {request.id} is at version {request.version}, not {expected_version}",
            field="version",
            current_version=request.version,
        )


def load_for_change(
    session: Session, actor: Actor, request_id: int, expected_version: int | None = None
) -> Request:
    request = get_readable_request(session, actor, request_id, for_change=True)
    _check_version(request, expected_version)
    # The identity map holds objects weakly: without this, a change that returns its offer or
    # update would let the request go, and answering with its new version would read it again.
    session.info.setdefault("changed_requests", []).append(request)
    return request


def lock_request(session: Session, request_id: int) -> Request:
    """Load a request for a change made by the product itself (sweeper), waiting for its lock."""
    request = session.get(Request, request_id, with_for_update=True, populate_existing=True)
    if request is None:
        raise NotFound(f"request {request_id} does not exist", field="request_id")
    return request


# -- between the rows and the lifecycle's plain facts ------------------------------------------

_FACT_COLUMNS = tuple(
    name for name in RequestFacts.__dataclass_fields__ if name not in ("state", "waiting_on")
)


def facts_of(request: Request) -> RequestFacts:
    """The request as the lifecycle sees it."""
    return RequestFacts(
        state=RequestState(request.state),
        waiting_on=None if request.waiting_on is None else WaitReason(request.waiting_on),
        **{name: getattr(request, name) for name in _FACT_COLUMNS},
    )


def offer_facts(offer: Offer) -> OfferFacts:
    return OfferFacts(
        id=offer.id,
        kind=OfferKind(offer.kind),
        from_person_id=offer.from_person_id,
        from_team_id=offer.from_team_id,
        to_team_id=offer.to_team_id,
        to_person_id=offer.to_person_id,
        offered_at=offer.offered_at,
        due_at=offer.due_at,
        escalated_at=offer.escalated_at,
    )


def copy_facts(request: Request, facts: RequestFacts) -> None:
    """Set the columns the lifecycle changed (only those, so nothing else looks changed)."""
    for name in (*_FACT_COLUMNS, "state", "waiting_on"):
        value = getattr(facts, name)
        if getattr(request, name) != value:
            setattr(request, name, value)


def apply_change(
    session: Session,
    request: Request,
    change: Change,
    offers: Mapping[int, Offer] | None = None,
    *,
    changes_request: bool = True,
    promises: Mapping[int, Promise] | None = None,
) -> Offer | RequestUpdate | None:
    """Write what a lifecycle transition did: the request's columns, the offers it answered
    (`offers` holds them by id), the promises it released (`promises` by id), the rows it
    added, its events and its notifications. Returns the offer or update it created, if any.
    `changes_request` False: the request row was just inserted as the change has it, so its
    version does not move."""
    now = change.request.updated_at
    copy_facts(request, change.request)
    if changes_request:
        touch(request, now)
    for answer in change.answered:
        answered = (offers or {})[answer.offer_id]
        answered.state = answer.state
        answered.answered_at = answer.at
        answered.answered_by_id = answer.by_id
        if answer.decline_reason is not None:
            answered.decline_reason = answer.decline_reason
    if change.escalated_offer_id is not None:
        (offers or {})[change.escalated_offer_id].escalated_at = now
    for promise_id in change.released_promise_ids:
        (promises or {})[promise_id].state = PromiseState.RELEASED
    if change.new_step is not None:
        step = change.new_step
        session.add(
            PathStep(
                request_id=request.id,
                team_id=step.team_id,
                entered_at=step.entered_at,
                is_bounce=step.is_bounce,
            )
        )
    if change.pause_ended_at is not None:
        pause = open_pause_of(session, request.id)
        if pause is not None:
            pause.ended_at = change.pause_ended_at
    if change.new_pause is not None:
        started = change.new_pause
        session.add(
            Pause(
                request_id=request.id,
                reason=started.reason,
                note=started.note,
                child_request_id=started.child_id,
                started_at=started.started_at,
                started_by_id=started.started_by_id,
            )
        )
    created: Offer | RequestUpdate | None = None
    if change.new_offer is not None:
        new = change.new_offer
        created = Offer(
            request_id=request.id,
            kind=new.kind,
            from_person_id=new.from_person_id,
            from_team_id=new.from_team_id,
            to_team_id=new.to_team_id,
            to_person_id=new.to_person_id,
            note=new.note,
            offered_at=new.offered_at,
            due_at=new.due_at,
        )
    elif change.new_update is not None:
        update = change.new_update
        created = RequestUpdate(
            request_id=request.id,
            author_id=update.author_id,
            body=update.body,
            posted_at=update.posted_at,
        )
    if created is not None:
        session.add(created)
        session.flush()
        change = change.with_new_row(created.id)
    if change.participants:
        participate(session, request.id, *change.participants)
    write_events_and_notices(session, request.id, change.events, change.notices, now)
    return created


def write_events_and_notices(
    session: Session,
    request_id: int | None,
    events: Sequence[lifecycle.Event],
    notices: Sequence[lifecycle.Notice],
    at: datetime,
) -> None:
    """Append the events and notifications of a change (notifications dated `at`)."""
    for event in events:
        record_event(
            session,
            event.payload,
            event.at,
            request_id=request_id,
            actor_id=event.actor_id,
            team_id=event.team_id,
            other_team_id=event.other_team_id,
            person_id=event.person_id,
        )
    for notice in notices:
        notify(session, notice.person_id, notice.kind, notice.message, at, request_id=request_id)


def _targets(session: Session, request: Request) -> lifecycle.Targets:
    return targets_of(_service_of(session, request))


def open_pause_of(session: Session, request_id: int) -> Pause | None:
    return session.scalar(
        select(Pause).where(Pause.request_id == request_id, Pause.ended_at.is_(None))
    )


# -- the changes ---------------------------------------------------------------------------------


def open_request(session: Session, actor: Actor, new: NewRequest, now: datetime) -> Request:
    """Open a request. The receiving team's duty owner is accountable until a member accepts."""
    title = rules.require_text(new.title, "title", max_length=200)
    need = rules.require_text(new.need, "need")
    rules.require_one_of(new.priority, rules.PRIORITIES, "priority")
    if new.impact_customers < 0:
        raise InvalidInput("impact_customers must not be negative", field="impact_customers")
    if new.desired_by is not None and new.desired_by <= now:
        raise InvalidInput("desired_by must be in the future", field="desired_by")
    org = org_snapshot(session)
    service: ServiceFacts | None = None
    if new.service_id is not None:
        service = org.service(new.service_id)
        if new.team_id is not None and new.team_id != service.team_id:
            raise InvalidInput("team_id does not offer that service", field="team_id")
        team = org.team(service.team_id)
    elif new.team_id is not None:
        team = org.team(new.team_id)
    else:
        triage = [t for t in org.teams.values() if t.is_triage]
        if not triage:
            raise InvalidInput(
                "choose a service or a team: no triage team is set up for unsure requests",
                field="service_id",
            )
        team = min(triage, key=lambda t: t.id)
    cases = []
    for case_id in dict.fromkeys(new.case_ids):
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(f"case {case_id} does not exist", field="case_ids")
        cases.append(case)
    parent: Request | None = None
    if new.parent_id is not None:
        parent = load_for_change(session, actor, new.parent_id)
        rules.require_state("open_sub_request", parent.state)
        rules.require_working_on(actor, parent.owner_id, parent.team_id, "open a sub-request")

    change = lifecycle.open_request(
        title=title,
        requester_id=actor.person_id,
        team_id=team.id,
        team_name=team.name,
        duty_owner_id=team.duty_owner,
        calendar=team.calendar,
        targets=targets_of(service),
        now=now,
        service_id=None if service is None else service.id,
        case_ids=[c.id for c in cases],
        parent_id=new.parent_id,
    )
    request = Request(
        title=title,
        need=need,
        context=new.context.strip(),
        impact_customers=new.impact_customers,
        desired_by=new.desired_by,
        priority=new.priority,
        service_id=None if service is None else service.id,
        confidential=service is not None and service.confidential,
    )
    copy_facts(request, change.request)
    session.add(request)
    session.flush()
    for case in cases:
        session.add(RequestCase(request_id=request.id, case_id=case.id))
    apply_change(session, request, change, changes_request=False)
    if parent is not None:
        apply_change(
            session,
            parent,
            lifecycle.open_sub_request(
                facts_of(parent),
                child_id=request.id,
                child_team_id=team.id,
                actor_id=actor.person_id,
                now=now,
            ),
        )
    # Nothing was stated about a request this young: the estimate need not look.
    refresh_estimate(session, request, now, opened=True)
    session.flush()
    return request


def open_offer_of(session: Session, request_id: int) -> Offer | None:
    return session.scalar(
        select(Offer).where(Offer.request_id == request_id, Offer.state == OfferState.OPEN)
    )


def offer_request(
    session: Session,
    actor: Actor,
    request_id: int,
    to_team_id: int,
    to_person_id: int | None,
    note: str,
    now: datetime,
    expected_version: int | None = None,
) -> Offer:
    """Offer the request to a team or person; the current owner stays accountable meanwhile."""
    request = load_for_change(session, actor, request_id, expected_version)
    rules.require_state("offer", request.state)
    previous = open_offer_of(session, request.id)
    is_intake = previous is not None and previous.kind == OfferKind.INTAKE
    # While the intake offer is open, any member of the receiving team may route it on.
    if not (is_intake and request.team_id in actor.team_ids):
        rules.require_owner_or_lead(
            actor, request.owner_id, request.team_id, "hand the request off"
        )
    org = org_snapshot(session)
    team = org.team(to_team_id, "to_team_id")
    if to_person_id is not None:
        org.person(to_person_id, "to_person_id")
        if not org.is_member(to_team_id, to_person_id):
            raise InvalidInput("to_person_id is not a member of to_team_id", field="to_person_id")
        if to_person_id == request.owner_id:
            raise InvalidInput("the request is already owned by that person", field="to_person_id")
    change = lifecycle.offer(
        facts_of(request),
        previous=None if previous is None else offer_facts(previous),
        actor_id=actor.person_id,
        to_team_id=team.id,
        to_person_id=to_person_id,
        # Only asked for when no one is named: a team with neither duty owner nor lead may
        # still be offered to one of its people.
        to_team_duty_owner_id=team.duty_owner if to_person_id is None else to_person_id,
        note=note.strip(),
        calendar=team.calendar,
        targets=_targets(session, request),
        now=now,
    )
    created = apply_change(
        session, request, change, {} if previous is None else {previous.id: previous}
    )
    assert isinstance(created, Offer)
    session.flush()
    return created


def _get_offer(session: Session, offer_id: int, request_id: int) -> Offer:
    offer = session.get(Offer, offer_id)
    if offer is None or offer.request_id != request_id:
        raise NotFound(f"offer {offer_id} does not exist on request {request_id}", field="offer_id")
    return offer


def _get_open_offer(session: Session, offer_id: int, request_id: int) -> Offer:
    offer = _get_offer(session, offer_id, request_id)
    if offer.state != OfferState.OPEN:
        raise OfferNotOpen(f"offer {offer.id} is {offer.state}", field="offer_id")
    return offer


def _path_of(session: Session, request_id: int) -> list[int]:
    return list(
        session.scalars(
            select(PathStep.team_id).where(PathStep.request_id == request_id).order_by(PathStep.id)
        )
    )


def accept_offer(
    session: Session,
    actor: Actor,
    request_id: int,
    offer_id: int,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    """The receiver accepts: they become the one accountable owner, and the team path grows."""
    request = load_for_change(session, actor, request_id, expected_version)
    offer = _get_open_offer(session, offer_id, request.id)
    rules.require_state("answer_offer", request.state)
    if not rules.may_answer_offer(actor, offer.to_team_id, offer.to_person_id):
        raise NotAllowed("only the person or team the request was offered to can accept it")
    org = org_snapshot(session)
    # The path is only read when the request moves to another team.
    path = _path_of(session, request.id) if offer.to_team_id != request.team_id else []
    change = lifecycle.accept(
        facts_of(request),
        offer_facts(offer),
        actor_id=actor.person_id,
        actor_name=org.person(actor.person_id).name,
        path=path,
        calendar=org.team(offer.to_team_id).calendar,
        targets=_targets(session, request),
        now=now,
    )
    apply_change(session, request, change, {offer.id: offer})
    refresh_estimate(session, request, now)
    session.flush()
    return request


def decline_offer(
    session: Session,
    actor: Actor,
    request_id: int,
    offer_id: int,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    """The receiver declines with a reason; a handoff stays with the sender, who is told why.
    A declined intake goes to the triage team or back to the requester
    (`lifecycle.decline_intake`), never left with nobody working it."""
    reason = rules.require_text(reason, "reason")
    request = load_for_change(session, actor, request_id, expected_version)
    offer = _get_open_offer(session, offer_id, request.id)
    if not rules.may_answer_offer(actor, offer.to_team_id, offer.to_person_id):
        raise NotAllowed("only the person or team the request was offered to can decline it")
    if offer.kind == OfferKind.INTAKE:
        org = org_snapshot(session)
        change = lifecycle.decline_intake(
            facts_of(request),
            offer_facts(offer),
            actor_id=actor.person_id,
            reason=reason,
            team_name=org.team(offer.to_team_id).name,
            triage=triage_team(org),
            path=_path_of(session, request.id),
            targets=_targets(session, request),
            now=now,
        )
        new = apply_change(session, request, change, {offer.id: offer})
        if new is not None:
            refresh_estimate(session, request, now)
    else:
        change = lifecycle.decline(
            facts_of(request), offer_facts(offer), actor_id=actor.person_id, reason=reason, now=now
        )
        apply_change(session, request, change, {offer.id: offer})
    session.flush()
    return request


def triage_team(org: OrgSnapshot) -> lifecycle.TriageTeam | None:
    """The organisation's triage team (the first, if several are marked), or None."""
    triage = [t for t in org.teams.values() if t.is_triage]
    if not triage:
        return None
    team = min(triage, key=lambda t: t.id)
    return lifecycle.TriageTeam(team.id, team.name, team.duty_owner, team.calendar)


def withdraw_offer(
    session: Session,
    actor: Actor,
    request_id: int,
    offer_id: int,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    request = load_for_change(session, actor, request_id, expected_version)
    offer = _get_open_offer(session, offer_id, request.id)
    facts = offer_facts(offer)
    lifecycle.require_withdrawable(facts)
    rules.require_owner_or_lead(actor, request.owner_id, request.team_id, "withdraw the offer")
    change = lifecycle.withdraw(facts_of(request), facts, actor_id=actor.person_id, now=now)
    apply_change(session, request, change, {offer.id: offer})
    session.flush()
    return request


def ask_clarification(
    session: Session,
    actor: Actor,
    request_id: int,
    question: str,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    question = rules.require_text(question, "question")
    request = load_for_change(session, actor, request_id, expected_version)
    rules.require_state("ask_clarification", request.state)
    rules.require_working_on(actor, request.owner_id, request.team_id, "ask for clarification")
    change = lifecycle.ask_clarification(
        facts_of(request), actor_id=actor.person_id, question=question, now=now
    )
    apply_change(session, request, change)
    session.flush()
    return request


def answer_clarification(
    session: Session,
    actor: Actor,
    request_id: int,
    answer: str,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    answer = rules.require_text(answer, "answer")
    request = load_for_change(session, actor, request_id, expected_version)
    rules.require_state("answer_clarification", request.state)
    rules.require_requester_or_working_on(actor, request, "answer the question")
    change = lifecycle.answer_clarification(
        facts_of(request),
        actor_id=actor.person_id,
        answer=answer,
        calendar=team_calendar(session, request.team_id),
        targets=_targets(session, request),
        now=now,
    )
    apply_change(session, request, change)
    refresh_estimate(session, request, now)
    session.flush()
    return request


def start_waiting(
    session: Session,
    actor: Actor,
    request_id: int,
    reason: str,
    note: str,
    now: datetime,
    child_request_id: int | None = None,
    expected_version: int | None = None,
) -> Request:
    """Pause the OLA clock while the request waits on the requester, a sub-request or an outsider."""
    rules.require_one_of(reason, rules.WAIT_REASONS, "reason")
    note = rules.require_text(note, "note")
    request = load_for_change(session, actor, request_id, expected_version)
    rules.require_state("wait", request.state)
    rules.require_working_on(actor, request.owner_id, request.team_id, "pause the request")
    if reason == WaitReason.SUB_REQUEST:
        if child_request_id is None:
            raise InvalidInput(
                "child_request_id is required when waiting on a sub-request",
                field="child_request_id",
            )
        child = session.get(Request, child_request_id)
        if child is None or child.parent_id != request.id:
            raise InvalidInput(
                "child_request_id is not a sub-request of this request", field="child_request_id"
            )
        if child.state not in rules.OPEN_STATES:
            raise InvalidInput("that sub-request is already resolved", field="child_request_id")
    elif child_request_id is not None:
        raise InvalidInput(
            "child_request_id is only for waiting on a sub-request", field="child_request_id"
        )
    change = lifecycle.wait(
        facts_of(request),
        actor_id=actor.person_id,
        reason=WaitReason(reason),
        note=note,
        now=now,
        child_id=child_request_id,
    )
    apply_change(session, request, change)
    session.flush()
    return request


def resume(
    session: Session,
    actor: Actor,
    request_id: int,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    """End a wait."""
    request = load_for_change(session, actor, request_id, expected_version)
    rules.require_working_on(actor, request.owner_id, request.team_id, "resume the request")
    change = lifecycle.resume(
        facts_of(request),
        actor_id=actor.person_id,
        calendar=team_calendar(session, request.team_id),
        targets=_targets(session, request),
        now=now,
    )
    apply_change(session, request, change)
    refresh_estimate(session, request, now)
    session.flush()
    return request


def post_update(
    session: Session,
    actor: Actor,
    request_id: int,
    body: str,
    now: datetime,
    expected_version: int | None = None,
) -> RequestUpdate:
    """Post a progress update. From the owning side it resets the next-update-due time."""
    body = rules.require_text(body, "body")
    request = load_for_change(session, actor, request_id, expected_version)
    rules.require_state("post_update", request.state)
    working = rules.is_working_on(actor, request.owner_id, request.team_id)
    if not working and actor.person_id != request.requester_id:
        raise NotAllowed("only the requester, the owner or the owning team can post updates")
    change = lifecycle.post_update(
        facts_of(request),
        actor_id=actor.person_id,
        body=body,
        working=working,
        calendar=team_calendar(session, request.team_id),
        targets=_targets(session, request),
        now=now,
    )
    update = apply_change(session, request, change)
    assert isinstance(update, RequestUpdate)
    session.flush()
    return update


def resolve_request(
    session: Session,
    actor: Actor,
    request_id: int,
    resolution: str,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    """Resolve with a summary; the requester then confirms or reopens, else it auto-closes."""
    resolution = rules.require_text(resolution, "resolution")
    request = load_for_change(session, actor, request_id, expected_version)
    rules.require_state("resolve", request.state)
    rules.require_owner_or_lead(actor, request.owner_id, request.team_id, "resolve the request")
    offer = open_offer_of(session, request.id)
    change = lifecycle.resolve(
        facts_of(request),
        open_offer=None if offer is None else offer_facts(offer),
        actor_id=actor.person_id,
        resolution=resolution,
        calendar=team_calendar(session, request.team_id),
        targets=_targets(session, request),
        now=now,
    )
    apply_change(session, request, change, {} if offer is None else {offer.id: offer})
    # A resolved request shows no estimate.
    request.eta_median_at = None
    request.eta_likely_at = None
    request.eta_basis = None
    if request.parent_id is not None:
        _on_child_resolved(session, request, now)
    session.flush()
    return request


def _on_child_resolved(session: Session, child: Request, now: datetime) -> None:
    """A parent waiting on this sub-request picks up again by itself."""
    assert child.parent_id is not None
    parent = lock_request(session, child.parent_id)
    pause = open_pause_of(session, parent.id)
    change = lifecycle.child_resolved(
        facts_of(parent),
        child_id=child.id,
        child_title=child.title,
        waiting_on_child_id=None if pause is None else pause.child_request_id,
        calendar=team_calendar(session, parent.team_id),
        targets=_targets(session, parent),
        now=now,
    )
    if change is None:
        return
    apply_change(session, parent, change)
    refresh_estimate(session, parent, now)
    session.flush()


def _require_requester(actor: Actor, request: Request, what: str) -> None:
    if actor.person_id != request.requester_id:
        raise NotAllowed(f"only the requester can {what}")


def confirm_resolution(
    session: Session,
    actor: Actor,
    request_id: int,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    request = load_for_change(session, actor, request_id, expected_version)
    rules.require_state("confirm", request.state)
    _require_requester(actor, request, "confirm the resolution")
    apply_change(
        session, request, lifecycle.confirm(facts_of(request), actor_id=actor.person_id, now=now)
    )
    session.flush()
    return request


def auto_close(session: Session, request: Request, now: datetime) -> None:
    """Close a resolved request the requester neither confirmed nor reopened in time."""
    apply_change(session, request, lifecycle.auto_close(facts_of(request), now=now))
    session.flush()


def reopen_request(
    session: Session,
    actor: Actor,
    request_id: int,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    reason = rules.require_text(reason, "reason")
    request = load_for_change(session, actor, request_id, expected_version)
    rules.require_state("reopen", request.state)
    _require_requester(actor, request, "reopen the request")
    change = lifecycle.reopen(
        facts_of(request),
        actor_id=actor.person_id,
        reason=reason,
        calendar=team_calendar(session, request.team_id),
        targets=_targets(session, request),
        now=now,
    )
    apply_change(session, request, change)
    refresh_estimate(session, request, now)
    session.flush()
    return request


def link_case(
    session: Session, actor: Actor, request_id: int, case_id: int, now: datetime
) -> Request:
    request = load_for_change(session, actor, request_id)
    rules.require_requester_or_working_on(actor, request, "link cases")
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist", field="case_id")
    if session.get(RequestCase, (request.id, case.id)) is not None:
        raise Conflict(f"case {case.reference} is already linked", field="case_id")
    session.add(RequestCase(request_id=request.id, case_id=case.id))
    change = lifecycle.link_case(
        facts_of(request),
        actor_id=actor.person_id,
        case_id=case.id,
        reference=case.reference,
        now=now,
    )
    apply_change(session, request, change)
    session.flush()
    return request


# -- ending unresolved: withdrawn, merged --------------------------------------------------------


def may_withdraw(actor: Actor, requester_id: int) -> bool:
    """The requester withdraws their own request; an admin may withdraw any they can read."""
    return actor.person_id == requester_id or actor.is_admin


def may_merge(actor: Actor, owner_id: int, team_id: int) -> bool:
    """Whoever works on the duplicate merges it: its owner, a member or the lead of its team."""
    return rules.is_working_on(actor, owner_id, team_id) or team_id in actor.lead_of


def _open_promises(session: Session, request_id: int) -> dict[int, Promise]:
    rows = session.scalars(
        select(Promise)
        .where(Promise.request_id == request_id, Promise.state == PromiseState.OPEN)
        .order_by(Promise.id)
    )
    return {p.id: p for p in rows}


def _promise_facts(promise: Promise) -> lifecycle.PromiseFacts:
    return lifecycle.PromiseFacts(
        id=promise.id,
        made_by_id=promise.made_by_id,
        made_to_id=promise.made_to_id,
        what=promise.what,
        due_at=promise.due_at,
        made_at=promise.made_at,
        state=PromiseState(promise.state),
        reminded_at=promise.reminded_at,
        done_at=promise.done_at,
        done_note=promise.done_note,
    )


def _offer_receiver(session: Session, offer: Offer) -> int:
    """Who was told of the offer (`lifecycle.offer_receiver`)."""
    if offer.to_person_id is not None:
        return offer.to_person_id
    duty_owner = org_snapshot(session).team(offer.to_team_id).duty_owner
    return lifecycle.offer_receiver(offer_facts(offer), duty_owner)


def _clear_estimate(request: Request) -> None:
    request.eta_median_at = None
    request.eta_likely_at = None
    request.eta_basis = None


def withdraw_request(
    session: Session,
    actor: Actor,
    request_id: int,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    """The requester (or an admin) withdraws an open request with a reason. Withdrawing one
    already withdrawn changes nothing (the same answer again); any other ended request is a
    conflict."""
    reason = rules.require_text(reason, "reason")
    request = load_for_change(session, actor, request_id)
    if not may_withdraw(actor, request.requester_id):
        raise NotAllowed("only the requester (or an admin) can withdraw the request")
    if request.state == RequestState.WITHDRAWN:
        return request
    _check_version(request, expected_version)
    offer = open_offer_of(session, request.id)
    promises = _open_promises(session, request.id)
    change = lifecycle.withdraw_request(
        facts_of(request),
        open_offer=None if offer is None else offer_facts(offer),
        offer_receiver_id=None if offer is None else _offer_receiver(session, offer),
        promises=[_promise_facts(p) for p in promises.values()],
        actor_id=actor.person_id,
        reason=reason,
        now=now,
    )
    apply_change(
        session, request, change, {} if offer is None else {offer.id: offer}, promises=promises
    )
    _clear_estimate(request)
    session.flush()
    return request


def merge_requests(
    session: Session,
    actor: Actor,
    duplicate_id: int,
    into_id: int,
    note: str,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    """Merge the duplicate into another open request the actor can read. The duplicate's
    requester and participants take part in the other from now on, and its customer cases are
    linked there; each request keeps its history, with an event saying what happened.
    Returns the duplicate."""
    note = note.strip()
    if len(note) > 10_000:
        raise InvalidInput("note is longer than 10000 characters", field="note")
    if duplicate_id == into_id:
        raise InvalidInput("a request cannot be merged into itself", field="into_id")
    # Whether the actor may merge this one is said first, before anything about the other.
    seen = get_readable_request(session, actor, duplicate_id)
    if not may_merge(actor, seen.owner_id, seen.team_id):
        raise NotAllowed("only the owner or the owning team can merge the request")
    # Both rows are locked, the lower id first, so two merges of the same pair in opposite
    # directions queue rather than deadlock.
    locked: dict[int, Request] = {}
    for request_id in sorted((duplicate_id, into_id)):
        try:
            locked[request_id] = load_for_change(session, actor, request_id)
        except NotFound:
            if request_id == duplicate_id:
                raise
            raise NotFound(f"request {into_id} does not exist", field="into_id") from None
    duplicate, into = locked[duplicate_id], locked[into_id]
    if not may_merge(actor, duplicate.owner_id, duplicate.team_id):
        raise NotAllowed("only the owner or the owning team can merge the request")
    _check_version(duplicate, expected_version)
    offer = open_offer_of(session, duplicate.id)
    promises = _open_promises(session, duplicate.id)
    people = list(
        session.scalars(
            select(RequestParticipant.person_id)
            .where(RequestParticipant.request_id == duplicate.id)
            .order_by(RequestParticipant.person_id)
        )
    )
    have = set(
        session.scalars(select(RequestCase.case_id).where(RequestCase.request_id == into.id))
    )
    new_cases = [
        case_id
        for case_id in session.scalars(
            select(RequestCase.case_id)
            .where(RequestCase.request_id == duplicate.id)
            .order_by(RequestCase.case_id)
        )
        if case_id not in have
    ]
    merged = lifecycle.merge(
        facts_of(duplicate),
        facts_of(into),
        duplicate_id=duplicate.id,
        into_id=into.id,
        open_offer=None if offer is None else offer_facts(offer),
        promises=[_promise_facts(p) for p in promises.values()],
        duplicate_people=[duplicate.requester_id, *people],
        new_case_ids=new_cases,
        actor_id=actor.person_id,
        note=note,
        now=now,
    )
    apply_change(
        session,
        duplicate,
        merged.duplicate,
        {} if offer is None else {offer.id: offer},
        promises=promises,
    )
    _clear_estimate(duplicate)
    for case_id in new_cases:
        session.add(RequestCase(request_id=into.id, case_id=case_id))
    apply_change(session, into, merged.into)
    session.flush()
    return duplicate


# -- re-categorising -------------------------------------------------------------------------------


def may_change_service(actor: Actor, owner_id: int, team_id: int, triage_ids: set[int]) -> bool:
    """Who files a request under another service: whoever works on it (its owner, a member of
    the team holding it), that team's lead, and the triage team, whose work is routing. Not
    the requester as such: they raised it under what they believed; the desk decides."""
    return (
        rules.is_working_on(actor, owner_id, team_id)
        or team_id in actor.lead_of
        or bool(triage_ids & (actor.team_ids | actor.lead_of))
    )


def change_service(
    session: Session,
    actor: Actor,
    request_id: int,
    service_id: int,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    """File the request under another catalog service (`lifecycle.change_service`): its
    targets follow the new service; a service of another team is offered to that team.
    A confidential service makes the request confidential; moving away never makes a
    confidential request readable by more people."""
    reason = rules.require_text(reason, "reason")
    request = load_for_change(session, actor, request_id, expected_version)
    org = org_snapshot(session)
    triage_ids = {t.id for t in org.teams.values() if t.is_triage}
    if not may_change_service(actor, request.owner_id, request.team_id, triage_ids):
        raise NotAllowed(
            "only the owner, the owning team, its lead or triage can change the service"
        )
    new = org.service(service_id, "service_id")
    team = org.team(new.team_id, "service_id")
    offer = open_offer_of(session, request.id)
    change = lifecycle.change_service(
        facts_of(request),
        from_service_id=request.service_id,
        to_service_id=new.id,
        service_name=new.name,
        service_team_id=team.id,
        service_team_duty_owner_id=(
            team.duty_owner if team.id != request.team_id else request.owner_id
        ),
        open_offer=None if offer is None else offer_facts(offer),
        reason=reason,
        actor_id=actor.person_id,
        calendar=team.calendar,
        targets=targets_of(new),
        now=now,
    )
    request.service_id = new.id
    request.confidential = request.confidential or new.confidential
    apply_change(session, request, change, {} if offer is None else {offer.id: offer})
    refresh_estimate(session, request, now)
    session.flush()
    return request
