"""Request services: load, apply the rules, write the change and its history event. Never commit.

Every change touches the request row, so its version moves on and two people acting on the same
request at once cannot both succeed: the second gets a VersionConflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

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
from followthrough.org.models import Service
from followthrough.org.rules import (
    WorkingCalendar,
    add_business_hours,
    add_business_seconds,
    business_seconds_between,
)
from followthrough.org.service import team_calendar
from followthrough.org.snapshot import ServiceFacts, org_snapshot
from followthrough.requests import rules
from followthrough.requests.access import get_readable_request
from followthrough.requests.models import (
    Offer,
    PathStep,
    Pause,
    Request,
    RequestParticipant,
    RequestUpdate,
)
from followthrough.requests.rules import Actor
from followthrough.timescale.service import JUST_OPENED, refresh_estimate

# Targets for requests raised without a catalog service ("not sure which team").
UNCATALOGUED_ACCEPT_HOURS = 4.0
UNCATALOGUED_UPDATE_HOURS = 8.0
UNCATALOGUED_RESOLVE_HOURS = 24.0
UNCATALOGUED_AUTO_CLOSE_DAYS = 5


@dataclass(frozen=True)
class Targets:
    accept_hours: float
    update_every_hours: float
    resolve_hours: float
    auto_close_days: int


def targets_of(service: Service | ServiceFacts | None) -> Targets:
    if service is None:
        return Targets(
            UNCATALOGUED_ACCEPT_HOURS,
            UNCATALOGUED_UPDATE_HOURS,
            UNCATALOGUED_RESOLVE_HOURS,
            UNCATALOGUED_AUTO_CLOSE_DAYS,
        )
    return Targets(
        service.accept_target_hours,
        service.update_every_hours,
        service.resolve_target_hours,
        service.auto_close_days,
    )


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


def _reset_update_ladder(
    request: Request, calendar: WorkingCalendar, every_hours: float, now: datetime
) -> None:
    ladder = rules.update_ladder(calendar, now, every_hours)
    request.next_update_due_at = ladder.due_at
    request.update_escalate_at = ladder.escalate_at
    request.update_reminded_at = None


def _suspend_update_ladder(request: Request) -> None:
    request.next_update_due_at = None
    request.update_escalate_at = None
    request.update_reminded_at = None


def lock_request(session: Session, request_id: int) -> Request:
    """Load a request for a change made by the product itself (sweeper), waiting for its lock."""
    request = session.get(Request, request_id, with_for_update=True, populate_existing=True)
    if request is None:
        raise NotFound(f"request {request_id} does not exist", field="request_id")
    return request


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

    targets = targets_of(service)
    calendar = team.calendar
    owner_id = team.duty_owner
    request = Request(
        title=title,
        need=need,
        context=new.context.strip(),
        impact_customers=new.impact_customers,
        desired_by=new.desired_by,
        priority=new.priority,
        requester_id=actor.person_id,
        service_id=None if service is None else service.id,
        team_id=team.id,
        owner_id=owner_id,
        state=rules.NEW,
        parent_id=new.parent_id,
        confidential=service is not None and service.confidential,
        opened_at=now,
        updated_at=now,
        resolve_due_at=add_business_hours(calendar, now, targets.resolve_hours),
    )
    _reset_update_ladder(request, calendar, targets.update_every_hours, now)
    session.add(request)
    session.flush()
    # Nothing was stated about a request this young: the estimate need not look.
    session.info.setdefault(JUST_OPENED, set()).add(request.id)
    session.add(PathStep(request_id=request.id, team_id=team.id, entered_at=now))
    participate(session, request.id, actor.person_id, owner_id)
    offer = Offer(
        request_id=request.id,
        kind="intake",
        from_person_id=actor.person_id,
        to_team_id=team.id,
        offered_at=now,
        due_at=add_business_hours(calendar, now, targets.accept_hours),
    )
    session.add(offer)
    for case in cases:
        session.add(RequestCase(request_id=request.id, case_id=case.id))
    session.flush()
    record_event(
        session,
        "opened",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=team.id,
        person_id=owner_id,
        service_id=request.service_id,
        case_ids=[c.id for c in cases] or None,
        parent_id=new.parent_id,
    )
    record_event(
        session,
        "offered",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=team.id,
        offer_id=offer.id,
        intake=True,
    )
    notify(
        session,
        owner_id,
        "offer",
        f"New request for {team.name}: {title}",
        now,
        request_id=request.id,
    )
    if parent is not None:
        touch(parent, now)
        record_event(
            session,
            "sub_request_opened",
            now,
            request_id=parent.id,
            actor_id=actor.person_id,
            team_id=parent.team_id,
            other_team_id=team.id,
            child_id=request.id,
        )
    refresh_estimate(session, request, now)
    session.flush()
    return request


def open_offer_of(session: Session, request_id: int) -> Offer | None:
    return session.scalar(
        select(Offer).where(Offer.request_id == request_id, Offer.state == "open")
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
    is_intake = previous is not None and previous.kind == "intake"
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
    if previous is not None:
        _withdraw(session, previous, actor, now, superseded=True)
    targets = targets_of(_service_of(session, request))
    calendar = team.calendar
    offer = Offer(
        request_id=request.id,
        kind="handoff",
        from_person_id=actor.person_id,
        from_team_id=request.team_id,
        to_team_id=team.id,
        to_person_id=to_person_id,
        note=note.strip(),
        offered_at=now,
        due_at=add_business_hours(calendar, now, targets.accept_hours),
    )
    session.add(offer)
    touch(request, now)
    session.flush()
    record_event(
        session,
        "offered",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
        other_team_id=team.id,
        person_id=to_person_id,
        offer_id=offer.id,
        note=offer.note or None,
    )
    receivers = [to_person_id] if to_person_id is not None else [team.duty_owner]
    for person_id in receivers:
        participate(session, request.id, person_id)
        notify(
            session,
            person_id,
            "offer",
            f"Offered to you: {request.title} (accept by {offer.due_at:%Y-%m-%d %H:%M} UTC)",
            now,
            request_id=request.id,
        )
    session.flush()
    return offer


def _answer(offer: Offer, state: str, person_id: int, now: datetime) -> None:
    """Close an open offer as accepted, declined or withdrawn, recording who and when."""
    offer.state = state
    offer.answered_at = now
    offer.answered_by_id = person_id


def _withdraw(session: Session, offer: Offer, actor: Actor, now: datetime, **why: Any) -> None:
    """Withdraw an open offer and record it; `why` says what withdrew it when not a person's
    own choice (superseded by a new offer, the request resolved)."""
    _answer(offer, "withdrawn", actor.person_id, now)
    record_event(
        session,
        "withdrawn",
        now,
        request_id=offer.request_id,
        actor_id=actor.person_id,
        team_id=offer.to_team_id,
        offer_id=offer.id,
        **why,
    )


def _get_offer(session: Session, offer_id: int, request_id: int) -> Offer:
    offer = session.get(Offer, offer_id)
    if offer is None or offer.request_id != request_id:
        raise NotFound(f"offer {offer_id} does not exist on request {request_id}", field="offer_id")
    return offer


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
    offer = _get_offer(session, offer_id, request.id)
    if offer.state != "open":
        raise OfferNotOpen(f"offer {offer.id} is {offer.state}", field="offer_id")
    rules.require_state("answer_offer", request.state)
    if not rules.may_answer_offer(actor, offer.to_team_id, offer.to_person_id):
        raise NotAllowed("only the person or team the request was offered to can accept it")
    previous_owner = request.owner_id
    previous_team = request.team_id
    _answer(offer, "accepted", actor.person_id, now)
    request.owner_id = actor.person_id
    bounce = False
    if offer.to_team_id != request.team_id:
        path = list(
            session.scalars(
                select(PathStep.team_id)
                .where(PathStep.request_id == request.id)
                .order_by(PathStep.id)
            )
        )
        bounce = rules.is_bounce(path, offer.to_team_id)
        session.add(
            PathStep(
                request_id=request.id, team_id=offer.to_team_id, entered_at=now, is_bounce=bounce
            )
        )
        request.team_id = offer.to_team_id
        if bounce:
            request.bounce_count += 1
    if request.accepted_at is None:
        request.accepted_at = now
    if request.state == rules.NEW:
        request.state = rules.IN_PROGRESS
    # While the requester owes an answer no update is due; otherwise the new owner's cadence starts.
    if request.waiting_on not in ("clarification", "requester"):
        targets = targets_of(_service_of(session, request))
        _reset_update_ladder(
            request, team_calendar(session, request.team_id), targets.update_every_hours, now
        )
    if offer.to_person_id != actor.person_id:  # an offer to a person recorded them
        participate(session, request.id, actor.person_id)
    touch(request, now)
    record_event(
        session,
        "accepted",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
        other_team_id=previous_team if previous_team != request.team_id else None,
        person_id=actor.person_id,
        offer_id=offer.id,
        previous_owner_id=previous_owner,
        bounce=bounce or None,
        waited_seconds=(now - offer.offered_at).total_seconds(),
    )
    if previous_owner != actor.person_id:
        notify(
            session,
            previous_owner,
            "offer_accepted",
            f"Accepted: {request.title} is now owned by {org_snapshot(session).person(actor.person_id).name}",
            now,
            request_id=request.id,
        )
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
    """The receiver declines with a reason; the request stays with the sender, who is told why."""
    reason = rules.require_text(reason, "reason")
    request = load_for_change(session, actor, request_id, expected_version)
    offer = _get_offer(session, offer_id, request.id)
    if offer.state != "open":
        raise OfferNotOpen(f"offer {offer.id} is {offer.state}", field="offer_id")
    if not rules.may_answer_offer(actor, offer.to_team_id, offer.to_person_id):
        raise NotAllowed("only the person or team the request was offered to can decline it")
    _answer(offer, "declined", actor.person_id, now)
    offer.decline_reason = reason
    touch(request, now)
    record_event(
        session,
        "declined",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=offer.to_team_id,
        other_team_id=offer.from_team_id,
        offer_id=offer.id,
        reason=reason,
        intake=offer.kind == "intake" or None,
    )
    told = {request.owner_id, offer.from_person_id} - {actor.person_id}
    for person_id in sorted(told):
        notify(
            session,
            person_id,
            "offer_declined",
            f"Declined: {request.title} — {reason}",
            now,
            request_id=request.id,
        )
    session.flush()
    return request


def withdraw_offer(
    session: Session,
    actor: Actor,
    request_id: int,
    offer_id: int,
    now: datetime,
    expected_version: int | None = None,
) -> Request:
    request = load_for_change(session, actor, request_id, expected_version)
    offer = _get_offer(session, offer_id, request.id)
    if offer.state != "open":
        raise OfferNotOpen(f"offer {offer.id} is {offer.state}", field="offer_id")
    if offer.kind == "intake":
        raise InvalidInput(
            "the intake offer is answered by accepting or handing on", field="offer_id"
        )
    rules.require_owner_or_lead(actor, request.owner_id, request.team_id, "withdraw the offer")
    _withdraw(session, offer, actor, now)
    touch(request, now)
    session.flush()
    return request


def _start_pause(
    session: Session,
    request: Request,
    actor: Actor,
    reason: str,
    note: str,
    now: datetime,
    child_request_id: int | None = None,
) -> Pause:
    pause = Pause(
        request_id=request.id,
        reason=reason,
        note=note,
        child_request_id=child_request_id,
        started_at=now,
        started_by_id=actor.person_id,
    )
    session.add(pause)
    request.clock_paused_at = now
    request.waiting_on = reason
    # The ball is in the requester's court: no updates are owed until they answer.
    if reason in ("clarification", "requester"):
        _suspend_update_ladder(request)
    return pause


def _end_pause(session: Session, request: Request, now: datetime) -> float:
    """Close the open pause and move the resolve target on by the business time it lasted."""
    pause = session.scalar(
        select(Pause).where(Pause.request_id == request.id, Pause.ended_at.is_(None))
    )
    if pause is not None:
        pause.ended_at = now
    calendar = team_calendar(session, request.team_id)
    paused = 0.0
    if request.clock_paused_at is not None:
        paused = business_seconds_between(calendar, request.clock_paused_at, now)
    request.paused_business_seconds += paused
    if request.resolve_due_at is not None:
        request.resolve_due_at = add_business_seconds(calendar, request.resolve_due_at, paused)
    request.clock_paused_at = None
    request.waiting_on = None
    targets = targets_of(_service_of(session, request))
    _reset_update_ladder(request, calendar, targets.update_every_hours, now)
    return paused


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
    _start_pause(session, request, actor, "clarification", question, now)
    request.state = rules.NEEDS_CLARIFICATION
    touch(request, now)
    record_event(
        session,
        "clarification_asked",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
        question=question,
    )
    notify(
        session,
        request.requester_id,
        "clarification",
        f"Question on {request.title}: {question}",
        now,
        request_id=request.id,
    )
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
    paused = _end_pause(session, request, now)
    request.state = rules.working_state(request.accepted_at is not None)
    touch(request, now)
    record_event(
        session,
        "clarification_answered",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
        answer=answer,
        paused_business_seconds=paused,
    )
    notify(
        session,
        request.owner_id,
        "clarification",
        f"Answered: {request.title}: {answer}",
        now,
        request_id=request.id,
    )
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
    if reason == "sub_request":
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
    _start_pause(session, request, actor, reason, note, now, child_request_id)
    request.state = rules.WAITING
    touch(request, now)
    record_event(
        session,
        "paused",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
        reason=reason,
        note=note,
        child_id=child_request_id,
    )
    session.flush()
    return request


def resume(
    session: Session,
    actor: Actor | None,
    request_id: int,
    now: datetime,
    expected_version: int | None = None,
    *,
    why: str | None = None,
) -> Request:
    """End a wait. `actor` None is the product itself (a sub-request it waited on resolved)."""
    if actor is None:
        request = lock_request(session, request_id)
    else:
        request = load_for_change(session, actor, request_id, expected_version)
        rules.require_working_on(actor, request.owner_id, request.team_id, "resume the request")
    rules.require_state("resume", request.state)
    reason = request.waiting_on
    paused = _end_pause(session, request, now)
    request.state = rules.IN_PROGRESS
    touch(request, now)
    record_event(
        session,
        "resumed",
        now,
        request_id=request.id,
        actor_id=None if actor is None else actor.person_id,
        team_id=request.team_id,
        reason=reason,
        why=why,
        paused_business_seconds=paused,
    )
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
    update = RequestUpdate(
        request_id=request.id, author_id=actor.person_id, body=body, posted_at=now
    )
    session.add(update)
    if working and request.next_update_due_at is not None:
        targets = targets_of(_service_of(session, request))
        _reset_update_ladder(
            request, team_calendar(session, request.team_id), targets.update_every_hours, now
        )
    if actor.person_id != request.owner_id:  # the owner was recorded when made owner
        participate(session, request.id, actor.person_id)
    touch(request, now)
    session.flush()
    record_event(
        session,
        "update_posted",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
        update_id=update.id,
        from_requester=(not working) or None,
    )
    receiver = request.requester_id if working else request.owner_id
    if receiver != actor.person_id:
        notify(
            session,
            receiver,
            "update_posted",
            f"Update on {request.title}: {body[:200]}",
            now,
            request_id=request.id,
        )
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
    if offer is not None:
        # Resolving ends the hand-off: the offer is withdrawn, and the history says so.
        _withdraw(session, offer, actor, now, resolved=True)
    if request.accepted_at is None:
        # Resolving it is the strongest way of owning it.
        request.accepted_at = now
    request.state = rules.RESOLVED
    request.resolution = resolution
    request.resolved_at = now
    _suspend_update_ladder(request)
    targets = targets_of(_service_of(session, request))
    calendar = team_calendar(session, request.team_id)
    request.auto_close_at = add_business_hours(
        calendar, now, targets.auto_close_days * calendar.business_seconds_per_day / 3600
    )
    request.eta_median_at = None
    request.eta_likely_at = None
    request.eta_basis = None
    touch(request, now)
    record_event(
        session,
        "resolved",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
        person_id=request.owner_id,
        resolution=resolution,
        within_target=(request.resolve_due_at is None or now <= request.resolve_due_at),
    )
    notify(
        session,
        request.requester_id,
        "resolved",
        f"Resolved: {request.title} — {resolution[:200]}",
        now,
        request_id=request.id,
    )
    if request.parent_id is not None:
        _on_child_resolved(session, request, now)
    session.flush()
    return request


def _on_child_resolved(session: Session, child: Request, now: datetime) -> None:
    """A parent waiting on this sub-request picks up again by itself."""
    assert child.parent_id is not None
    parent = lock_request(session, child.parent_id)
    if parent.state != rules.WAITING or parent.waiting_on != "sub_request":
        return
    pause = session.scalar(
        select(Pause).where(Pause.request_id == parent.id, Pause.ended_at.is_(None))
    )
    if pause is not None and pause.child_request_id == child.id:
        resume(session, None, parent.id, now, why=f"sub-request {child.id} resolved")
        notify(
            session,
            parent.owner_id,
            "resolved",
            f"Sub-request resolved: {child.title}",
            now,
            request_id=parent.id,
        )


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
    _close(session, request, now, actor_id=actor.person_id, auto=False)
    return request


def _close(
    session: Session, request: Request, now: datetime, *, actor_id: int | None, auto: bool
) -> None:
    request.state = rules.CLOSED
    request.closed_at = now
    request.auto_close_at = None
    touch(request, now)
    record_event(
        session,
        "closed",
        now,
        request_id=request.id,
        actor_id=actor_id,
        team_id=request.team_id,
        auto=auto or None,
    )
    session.flush()


def auto_close(session: Session, request: Request, now: datetime) -> None:
    """Close a resolved request the requester neither confirmed nor reopened in time."""
    rules.require_state("auto_close", request.state)
    _close(session, request, now, actor_id=None, auto=True)


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
    request.state = rules.IN_PROGRESS
    request.resolved_at = None
    request.auto_close_at = None
    targets = targets_of(_service_of(session, request))
    _reset_update_ladder(
        request, team_calendar(session, request.team_id), targets.update_every_hours, now
    )
    touch(request, now)
    record_event(
        session,
        "reopened",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
        reason=reason,
    )
    notify(
        session,
        request.owner_id,
        "reopened",
        f"Reopened: {request.title} — {reason}",
        now,
        request_id=request.id,
    )
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
    touch(request, now)
    record_event(
        session,
        "case_linked",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
        case_id=case.id,
        reference=case.reference,
    )
    session.flush()
    return request
