"""Request pages: raise a request, my requests, the request page with its actions, live updates.

Each action calls the same service function as the API; errors come back next to the field.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from followthrough.attachments.service import attachments_for_page
from followthrough.cases import service as cases
from followthrough.cases.models import Case
from followthrough.db import Database
from followthrough.errors import InvalidInput, NotFound, ServiceBusy
from followthrough.feedback import service as feedback
from followthrough.feedback.api import RatingIn
from followthrough.feedback.service import BLOCKS
from followthrough.fields import Id, Offset, Text, form_id, form_text
from followthrough.history.payloads import (
    Accepted,
    AttachmentAdded,
    CaseLinked,
    ClarificationAnswered,
    ClarificationAsked,
    Closed,
    Declined,
    DuplicateMerged,
    Escalated,
    MergedInto,
    NoteAdded,
    Offered,
    Opened,
    OwnerReassigned,
    Paused,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
    PromiseReleased,
    Rated,
    Recategorised,
    Reopened,
    RequestWithdrawn,
    Resolved,
    Resumed,
    ReturnedToRequester,
    SubRequestOpened,
    UnknownEventKind,
    UpdateEscalated,
    UpdatePosted,
    UpdateReminded,
    Withdrawn,
    from_json,
)
from followthrough.insight.routing_service import request_to_route, routing_answer
from followthrough.mail.bounces import bounces_on_request
from followthrough.notes.service import notes_if_working
from followthrough.org.local_time import DEFAULT_CLOCK, Clock, show_instant
from followthrough.org.models import Membership, Person, Service, Team
from followthrough.org.snapshot import org_snapshot
from followthrough.promises import service as promises
from followthrough.promises.api import KeepIn, PromiseIn
from followthrough.requests import queries, rules, service
from followthrough.requests import schemas as s
from followthrough.requests.access import get_readable_request
from followthrough.requests.board import case_refs, open_promise_counts
from followthrough.requests.models import Request as RequestRow
from followthrough.requests.queries import RequestFilter, person_names, team_names
from followthrough.timescale.service import estimate_for_service
from followthrough.web.deps import UnitOfWorkRoute, admission
from followthrough.web.pages import (
    ChangePage,
    FormErrors,
    Page,
    ReadPage,
    Viewer,
    model_from_form,
    safe_next,
)

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

LIVE_POLL_SECONDS = 1.0
LIVE_MAX_SECONDS = 120.0


# ---- raise a request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceOption:
    id: int
    name: str
    description: str
    team: str
    confidential: bool
    accept_target_hours: float
    update_every_hours: float
    resolve_target_hours: float


def find_services(session: Session, q: str, limit: int = 25) -> list[ServiceOption]:
    """Active catalog services whose name, description or team matches every word of `q`."""
    query = (
        select(Service, Team.name)
        .join(Team, Team.id == Service.team_id)
        .where(Service.active.is_(True))
        .order_by(Team.name, Service.name)
        .limit(limit)
    )
    for word in q.split()[:5]:
        pattern = f"%{word.lower()}%"
        query = query.where(
            or_(
                Service.name.ilike(pattern),
                Service.description.ilike(pattern),
                Team.name.ilike(pattern),
            )
        )
    return [
        ServiceOption(
            id=svc.id,
            name=svc.name,
            description=svc.description,
            team=team,
            confidential=svc.confidential,
            accept_target_hours=svc.accept_target_hours,
            update_every_hours=svc.update_every_hours,
            resolve_target_hours=svc.resolve_target_hours,
        )
        for svc, team in session.execute(query)
    ]


def _service_option(page: Page, service_id: int | None) -> ServiceOption | None:
    """The service as the raise page shows it; None unless it is offered."""
    found = None if service_id is None else page.session.get(Service, service_id)
    if found is None or not found.active:
        return None
    team = page.session.get(Team, found.team_id)
    return ServiceOption(
        id=found.id,
        name=found.name,
        description=found.description,
        team="" if team is None else team.name,
        confidential=found.confidential,
        accept_target_hours=found.accept_target_hours,
        update_every_hours=found.update_every_hours,
        resolve_target_hours=found.resolve_target_hours,
    )


def _preview(page: Page, service_id: int | None) -> dict[str, Any]:
    """The chosen service's targets and its timescale sentence, shown before submitting."""
    chosen = _service_option(page, service_id)
    if chosen is None:
        return {"chosen": None, "estimate": None}
    return {"chosen": chosen, "estimate": estimate_for_service(page.session, chosen.id, page.now)}


def _int_or_none(value: str) -> int | None:
    return form_id(value)


def _raise_form(page: Page, errors: FormErrors | None = None) -> Response:
    # A NUL in the search box was refused beside it; the form is drawn again without it.
    q = page.form.get("q").replace("\x00", "")
    service_id = _int_or_none(page.form.get("service_id"))
    parent_id = _int_or_none(page.form.get("parent_id"))
    return page.render(
        "raise.html",
        status=200 if errors is None else errors.status,
        q=q,
        services=find_services(page.session, q),
        service_id=service_id,
        parent_id=parent_id,
        errors=errors,
        **_preview(page, service_id),
    )


@router.get("/requests/new")
def raise_form(page: ReadPage) -> Response:
    form_text(page.form.get("q"), "q")
    return _raise_form(page)


@router.get("/requests/new/services")
def service_options(page: ReadPage) -> Response:
    """The service list for the search box (htmx swaps it in as the person types)."""
    return page.render(
        "raise_services.html",
        q=page.form.get("q"),
        services=find_services(page.session, form_text(page.form.get("q"), "q")),
        service_id=_int_or_none(page.form.get("service_id")),
        errors=None,
    )


@router.get("/requests/new/preview")
def service_preview(page: ReadPage) -> Response:
    return page.render(
        "raise_preview.html", **_preview(page, _int_or_none(page.form.get("service_id")))
    )


@router.get("/requests/new/suggestions")
def routing_suggestions(page: ReadPage) -> Response:
    """For "not sure which team": the teams that resolved the most similar requests."""
    text = (
        f"{form_text(page.form.get('title'), 'title')} {form_text(page.form.get('need'), 'need')}"
    )
    priority = form_text(page.form.get("priority"), "priority")
    impact = _int_or_none(page.form.get("impact_customers")) or 0  # blank or 0: none
    answer = routing_answer(
        page.session,
        request_to_route(
            page.actor,
            text,
            priority if priority in rules.PRIORITIES else "normal",
            impact,
        ),
    )
    service_suggestions = answer.services if text.strip() else ()
    # The suggestions are drawn again as the need is typed, over a service chosen among them
    # (sent as service_id): it stays chosen, and stays listed once it no longer fits the words.
    service_id = _int_or_none(page.form.get("service_id"))
    suggested = {s.service_id for s in service_suggestions}
    kept = None if service_id in suggested else _service_option(page, service_id)
    return page.render(
        "raise_suggestions.html",
        suggestions=answer.teams if text.strip() else [],
        service_suggestions=service_suggestions,
        kept_service=kept,
        service_id=service_id,
        routing=answer if text.strip() else None,
        team_id=_int_or_none(page.form.get("team_id")),
    )


def _linked_cases(page: Page, references: str, customer: str) -> tuple[int, ...]:
    """Existing cases by reference; an unknown reference becomes a new case if a customer is named."""
    form_text(references, "cases")
    form_text(customer, "cases")
    ids: list[int] = []
    for reference in [r.strip() for r in references.replace(";", ",").split(",") if r.strip()]:
        found = page.session.scalar(select(Case).where(Case.reference == reference))
        if found is None:
            if not customer.strip():
                raise InvalidInput(
                    f"there is no case {reference} yet: add the customer's name to create it",
                    field="cases",
                )
            found = cases.add_case(
                page.session, page.actor, reference, customer, None, "", page.now
            )
        ids.append(found.id)
    return tuple(ids)


@router.post("/requests/new")
def raise_request(page: ChangePage) -> Response:
    form = page.form
    opened: list[int] = []

    def open_it() -> None:
        # A date and datetime-local input carry no zone: they are read on the person's clock.
        values = {"desired_by": page.typed_time("desired_by", "Wanted by", end_of_day=True)}
        for name in ("q", "service_id", "team_id"):
            form_text(form.get(name), name)
        unsure = form.get("service_id") in ("", "unsure")
        if unsure:
            values["service_id"] = ""
        # A suggested team only applies to "not sure which team"; a service names its own team.
        values["team_id"] = form.get("team_id") if unsure else ""
        body = model_from_form(s.RequestIn, form.replaced(values))
        case_ids = _linked_cases(page, form.get("cases"), form.get("customer"))
        request = service.open_request(
            page.session, page.actor, body.as_new_request(case_ids), page.now
        )
        opened.append(request.id)

    errors = page.attempt("raise", open_it, {"case_ids": "cases", "team_id": "service_id"})
    if errors:
        return _raise_form(page, errors)
    return page.redirect(
        f"/requests/{opened[0]}", "Request raised. The receiving team has been told."
    )


# ---- my requests --------------------------------------------------------------------------------


# The tabs of My requests and the states each shows ("all": every state).
MY_REQUESTS_TABS = {
    "open": tuple(sorted(rules.OPEN_STATES)),
    "resolved": (rules.RESOLVED,),
    "all": (),
}
MY_REQUESTS_PAGE = 50


@router.get("/requests")
def my_requests(page: ReadPage, show: Text = "open", offset: Offset = 0) -> Response:
    tabs = {
        name: RequestFilter(
            states=states,
            requester_id=page.viewer.person_id,
            sort="-updated_at",
            limit=MY_REQUESTS_PAGE,
            offset=offset,
        )
        for name, states in MY_REQUESTS_TABS.items()
    }
    shown = tabs.get(show, tabs["all"])
    result = queries.list_requests(page.session, page.actor, shown, page.now)
    # Each tab's true count, through the same filter and access rule as its list.
    counts = queries.count_requests(page.session, page.actor, list(tabs.values()), page.now)
    totals = dict(zip(tabs, counts, strict=True))
    ids = [r.id for r in result.items]
    return page.render(
        "my_requests.html",
        result=result,
        show=show,
        totals=totals,
        total=totals.get(show, totals["all"]),
        promises=open_promise_counts(page.session, ids),
        cases=case_refs(page.session, ids),
    )


# ---- the request page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    at: datetime
    kind: str
    text: str
    detail: str
    tone: str


def describe(
    event: s.EventOut,
    people: dict[int, str],
    teams: dict[int, str],
    clock: Clock = DEFAULT_CLOCK,
    services: dict[int, str] | None = None,
) -> TimelineEntry:
    """One history event in the users' words, from its typed payload; times in it on the
    viewer's clock."""

    def person(pid: int | None) -> str:
        return people.get(pid, "someone") if pid is not None else "Followthrough"

    def team(tid: int | None) -> str:
        return teams.get(tid, "a team") if tid is not None else "a team"

    actor = person(event.actor_id)
    tone = ""
    detail = ""
    kind = event.kind
    try:
        payload = from_json(kind, event.payload)
    except UnknownEventKind:
        text = f"{actor}: {kind.replace('_', ' ')}"
        return TimelineEntry(event.id, event.at, kind, text, detail, tone)
    match payload:
        case Opened():
            text = (
                f"{actor} raised it for {team(event.team_id)}; "
                f"{person(event.person_id)} is accountable until someone accepts"
            )
        case Offered(intake=True):
            text = f"Offered to {team(event.team_id)}"
            detail = payload.note or ""
        case Offered():
            target = team(event.other_team_id or event.team_id)
            if event.person_id is not None:
                target = f"{person(event.person_id)} ({target})"
            text = f"{actor} offered it to {target}"
            detail = payload.note or ""
        case Accepted():
            text = f"{actor} accepted and is now the owner"
            if payload.bounce:
                text += f" — it bounced back to {team(event.team_id)}"
                tone = "warn"
        case Declined():
            text = f"{actor} declined the offer"
            detail = payload.reason
            tone = "warn"
        case Withdrawn():
            text = "The offer was withdrawn" + (
                " (handed on instead)" if payload.superseded else ""
            )
        case Escalated(nobody_above=True):
            text = "Not accepted in time — its owner leads the team: nobody above to escalate to"
            tone = "bad"
        case Escalated():
            text = f"Not accepted in time — escalated to {person(event.person_id)}"
            tone = "bad"
        case Paused():
            text = f"{actor} paused it: waiting on {payload.reason.replace('_', ' ')}"
            detail = payload.note
        case Resumed():
            text = f"{actor} resumed it" if event.actor_id else "Resumed"
            detail = payload.why or ""
        case ClarificationAsked():
            text = f"{actor} asked the requester a question"
            detail = payload.question
        case ClarificationAnswered():
            text = f"{actor} answered the question"
            detail = payload.answer
        case UpdatePosted():
            text = f"{actor} posted an update"
        case UpdateReminded():
            text = f"Update due — {person(event.person_id)} was reminded"
            tone = "warn"
        case UpdateEscalated(nobody_above=True):
            text = (
                f"Update overdue — {person(payload.owner_id)} leads the team: "
                "nobody above to escalate to"
            )
            tone = "bad"
        case UpdateEscalated():
            text = f"Update overdue — escalated to {person(event.person_id)}"
            tone = "bad"
        case PromiseMade():
            text = f"{actor} promised: {payload.what}"
            if payload.due_at is not None:
                detail = f"by {show_instant(payload.due_at, clock)}"
        case PromiseKept():
            text = f"{person(event.person_id)} kept a promise"
            detail = payload.note or ""
            tone = "good"
        case PromiseBroken():
            text = f"A promise by {person(event.person_id)} was broken"
            detail = payload.late_note or ""
            tone = "bad"
        case Resolved():
            # Not measured (no target known, as for some imported history) is not late.
            late = payload.within_target is False
            text = f"{actor} resolved it" + (" (after the target)" if late else "")
            detail = payload.resolution
            tone = "good"
        case Reopened():
            text = f"{actor} reopened it"
            detail = payload.reason
            tone = "warn"
        case Closed():
            text = "Closed automatically" if payload.auto else f"{actor} confirmed it is done"
        case Rated():
            text = (
                f"{actor} rated it: Understand {payload.understand} · Own {payload.own} · "
                f"Serve {payload.serve} · Communicate {payload.communicate}"
            )
            detail = payload.comment or ""
        case CaseLinked():
            text = f"{actor} linked case {payload.reference}"
        case RequestWithdrawn():
            text = f"{actor} withdrew the request"
            detail = payload.reason
            tone = "warn"
        case MergedInto():
            text = f"{actor} merged it into #{payload.into_id} as a duplicate"
            detail = payload.note or ""
        case DuplicateMerged():
            text = f"{actor} merged duplicate #{payload.duplicate_id} into it"
            if payload.requester_id is not None:
                text += f"; {person(event.person_id)}, who raised it, takes part now"
        case PromiseReleased():
            text = f"A promise by {person(event.person_id)} was released"
            detail = payload.why
        case Recategorised():
            names = services or {}
            before = (
                "no service"
                if payload.from_service_id is None
                else names.get(payload.from_service_id, "another service")
            )
            after = names.get(payload.to_service_id or 0, "another service")
            text = f"{actor} filed it under {after} (it was {before})"
            if event.other_team_id is not None:
                text += f"; {team(event.other_team_id)} gives that service"
            detail = payload.reason
        case ReturnedToRequester():
            text = f"It went back to {person(event.person_id)}, who raised it"
            detail = payload.reason
            tone = "warn"
        case SubRequestOpened():
            text = f"{actor} opened sub-request #{payload.child_id} for {team(event.other_team_id)}"
        case AttachmentAdded():
            text = f"{actor} attached {payload.file_name}"
        case OwnerReassigned():
            # Handed straight to a new owner, without an offer (its owner left): who moved it,
            # from whom, to whom and why, as the person who did it would say it.
            text = (
                f"{actor} moved it from {person(payload.previous_owner_id)} "
                f"to {person(event.person_id)}"
            )
            if payload.reason:
                text += f" — {payload.reason}"
        case NoteAdded():
            # Shown only to the teams working the request (queries.request_events).
            text = f"{actor} added an internal note"
        case _:
            text = f"{actor}: {kind.replace('_', ' ')}"
    return TimelineEntry(event.id, event.at, kind, text, detail, tone)


@dataclass(frozen=True)
class HandoffTarget:
    value: str
    label: str


def handoff_targets(session: Session) -> list[tuple[str, list[HandoffTarget]]]:
    """Every team and its members, for the hand-off menu: 'team:<id>' or 'person:<team>:<id>'."""
    teams = list(session.execute(select(Team.id, Team.name, Team.lead_id).order_by(Team.name)))
    members: dict[int, list[tuple[int, str]]] = {}
    rows = session.execute(
        select(Membership.team_id, Person.id, Person.name)
        .join(Person, Person.id == Membership.person_id)
        .where(Person.active.is_(True))
        .order_by(Person.name)
    )
    for team_id, pid, name in rows:
        members.setdefault(team_id, []).append((pid, name))
    groups = []
    for team_id, name, _lead in teams:
        options = [HandoffTarget(f"team:{team_id}", f"{name} — anyone in the team")]
        options += [
            HandoffTarget(f"person:{team_id}:{pid}", f"{pname} ({name})")
            for pid, pname in members.get(team_id, [])
        ]
        groups.append((name, options))
    return groups


def _request_page(page: Page, request_id: int, errors: FormErrors | None = None) -> Response:
    actor = page.actor
    detail = queries.request_detail(page.session, actor, request_id)
    events = queries.request_events(page.session, actor, request_id)
    people = person_names(
        page.session,
        [e.actor_id for e in events if e.actor_id] + [e.person_id for e in events if e.person_id],
    )
    teams = team_names(
        page.session,
        [e.team_id for e in events if e.team_id]
        + [e.other_team_id for e in events if e.other_team_id],
    )
    open_offer = next((o for o in detail.offers if o.state == "open"), None)
    working = rules.is_working_on(actor, detail.owner.id, detail.team.id)
    owner_or_lead = (
        actor.person_id == detail.owner.id or detail.team.id in actor.lead_of or actor.is_admin
    )
    state = detail.state
    can = {
        "answer_offer": open_offer is not None
        and state in rules.ALLOWED_IN["answer_offer"]
        and rules.may_answer_offer(
            actor,
            open_offer.to_team.id,
            None if open_offer.to_person is None else open_offer.to_person.id,
        ),
        "withdraw": open_offer is not None and open_offer.kind != "intake" and owner_or_lead,
        "hand_off": state in rules.ALLOWED_IN["offer"]
        and (
            owner_or_lead
            or (
                open_offer is not None
                and open_offer.kind == "intake"
                and detail.team.id in actor.team_ids
            )
        ),
        "post_update": state in rules.ALLOWED_IN["post_update"]
        and (working or actor.person_id == detail.requester.id),
        "promise": state in rules.ALLOWED_IN["make_promise"] and working,
        "ask": state in rules.ALLOWED_IN["ask_clarification"] and working,
        "answer": state in rules.ALLOWED_IN["answer_clarification"]
        and (working or actor.person_id == detail.requester.id),
        "pause": state in rules.ALLOWED_IN["wait"] and working,
        "resume": state in rules.ALLOWED_IN["resume"] and working,
        "resolve": state in rules.ALLOWED_IN["resolve"] and owner_or_lead,
        "confirm": state in rules.ALLOWED_IN["confirm"] and actor.person_id == detail.requester.id,
        "rate": state in rules.ALLOWED_IN["rate"]
        and actor.person_id == detail.requester.id
        and detail.rating is None,
        "sub_request": state in rules.ALLOWED_IN["open_sub_request"] and working,
        "link_case": (actor.person_id == detail.requester.id or working)
        and state in rules.OPEN_STATES | {rules.RESOLVED, rules.CLOSED},
        "withdraw_request": state in rules.ALLOWED_IN["withdraw"]
        and service.may_withdraw(actor, detail.requester.id),
        "merge": state in rules.ALLOWED_IN["merge"]
        and service.may_merge(actor, detail.owner.id, detail.team.id),
        "change_service": state in rules.ALLOWED_IN["change_service"]
        and service.may_change_service(
            actor, detail.owner.id, detail.team.id, triage_team_ids(page.session)
        ),
    }
    # A declined intake that came back to the requester: what happened, and what they can do.
    returned = None
    if (
        open_offer is None
        and state == rules.NEW
        and detail.owner.id == detail.requester.id
        and detail.offers
        and detail.offers[-1].kind == "intake"
        and detail.offers[-1].state == "declined"
    ):
        returned = detail.offers[-1]
    can["keep"] = working or actor.person_id == detail.owner.id
    update_bodies = {u.id: u for u in detail.updates}
    return page.render(
        "request.html",
        status=200 if errors is None else errors.status,
        r=detail,
        timeline=[
            describe(e, people, teams, page.viewer.clock, service_names(page.session))
            for e in reversed(events)
        ],
        last_event_id=events[-1].id if events else 0,
        updates=update_bodies,
        open_offer=open_offer,
        can=can,
        working=working,
        errors=errors,
        targets=handoff_targets(page.session) if can["hand_off"] else [],
        open_children=[c for c in detail.children if c.state in rules.OPEN_STATES],
        blocks=BLOCKS,
        returned=returned,
        # The team's queue only for those who may open it (its members and leads, admins).
        crumb_team=actor.is_admin or detail.team.id in actor.team_ids | actor.lead_of,
        attachments=attachments_for_page(page.session, actor, request_id),
        notes=notes_if_working(page.session, actor, request_id),
        service_choices=service_choices(page, detail) if can["change_service"] else [],
        # Mail to these people is paused until an admin marks their address fixed.
        mail_bounces=bounces_on_request(page.session, request_id),
    )


def service_names(session: Session) -> dict[int, str]:
    return {x.id: x.name for x in org_snapshot(session).services.values()}


def triage_team_ids(session: Session) -> set[int]:
    return {t.id for t in org_snapshot(session).teams.values() if t.is_triage}


def service_choices(page: Page, detail: s.RequestDetail) -> list[tuple[str, list[HandoffTarget]]]:
    """The services a request may be filed under, for the page's select: the routing model's
    suggestions for its words first (when it beats guessing), then the catalog by team. The
    service it is on now is left out."""
    org = org_snapshot(page.session)
    current = detail.service_id
    answer = routing_answer(
        page.session, request_to_route(page.actor, f"{detail.title}\n{detail.need}")
    )
    suggested = [
        HandoffTarget(str(x.service_id), f"{x.service_name} ({x.team_name})")
        for x in answer.services
        if x.service_id != current
    ]
    groups: list[tuple[str, list[HandoffTarget]]] = []
    if suggested:
        groups.append(("Suggested for this request", suggested))
    by_team: dict[int, list[HandoffTarget]] = {}
    for x in sorted(org.services.values(), key=lambda x: x.name):
        if x.active and x.id != current:
            by_team.setdefault(x.team_id, []).append(HandoffTarget(str(x.id), x.name))
    for team_id in sorted(by_team, key=lambda t: org.teams[t].name):
        groups.append((org.teams[team_id].name, by_team[team_id]))
    return groups


@router.get("/requests/{request_id}")
def request_page(request_id: Id, page: ReadPage) -> Response:
    return _request_page(page, request_id)


def _act(
    page: Page,
    request_id: int,
    form: str,
    action: Callable[[], object],
    flash: str | Callable[[], str],
    rename: dict[str, str] | None = None,
    *,
    out_of_sight: str = "/",
) -> Response:
    """Run the change; on an error show the request page again with the message beside the
    field, else go on with the confirmation (`flash`, or a function working it out after the
    change) to `next`, the request page, or — when the change took the request out of the
    person's sight — `out_of_sight`, never to a page that would answer "not found"."""
    errors = page.attempt(form, action, rename)
    if errors:
        return _request_page(page, request_id, errors)
    message = flash if isinstance(flash, str) else flash()
    try:
        get_readable_request(page.session, page.actor, request_id)
    except NotFound:
        return page.redirect(out_of_sight, message)
    return page.redirect(safe_next(page.form.get("next"), f"/requests/{request_id}"), message)


def _version(page: Page) -> int | None:
    """The version the form was drawn at; an impossible one is refused, never ignored."""
    raw = page.form.get("version")
    version = _int_or_none(raw)
    if version is None and raw.strip():
        raise InvalidInput("the page is out of date; reload it", field="version")
    return version


@router.post("/requests/{request_id}/offers")
def hand_off(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        target = form_text(page.form.get("target"), "target")
        kind, *typed = target.split(":")
        ids = [n for n in map(form_id, typed) if n is not None]
        if kind == "team" and len(typed) == len(ids) == 1:
            team_id, person_id = ids[0], None
        elif kind == "person" and len(typed) == len(ids) == 2:
            team_id, person_id = ids[0], ids[1]
        else:
            raise InvalidInput("choose a team or a person to offer it to", field="target")
        body = s.OfferIn(to_team_id=team_id, to_person_id=person_id, note=page.form.get("note"))
        service.offer_request(
            page.session,
            page.actor,
            request_id,
            body.to_team_id,
            body.to_person_id,
            body.note,
            page.now,
            _version(page),
        )

    return _act(
        page,
        request_id,
        "handoff",
        act,
        "Offered. You stay accountable until they accept.",
        {"to_team_id": "target", "to_person_id": "target"},
    )


@router.post("/requests/{request_id}/offers/{offer_id}/accept")
def accept(request_id: Id, offer_id: Id, page: ChangePage) -> Response:
    return _act(
        page,
        request_id,
        "offer",
        lambda: service.accept_offer(
            page.session, page.actor, request_id, offer_id, page.now, _version(page)
        ),
        "Accepted. You are now the owner.",
    )


def declined_message(session: Session, request: RequestRow) -> str:
    """Where a request went after an offer of it was declined, in the decliner's words."""
    names = person_names(session, [request.owner_id])
    owner = names.get(request.owner_id, "its owner")
    if request.owner_id == request.requester_id:
        where = f"it went back to {owner}, who raised it, with your reason"
    else:
        team = team_names(session, [request.team_id]).get(request.team_id, "their team")
        where = f"it is with {owner} ({team}), who has your reason"
    return f"You declined #{request.id} {request.title}; {where}."


@router.post("/requests/{request_id}/offers/{offer_id}/decline")
def decline(request_id: Id, offer_id: Id, page: ChangePage) -> Response:
    declined: list[RequestRow] = []

    def act() -> None:
        body = model_from_form(s.DeclineIn, page.form)
        declined.append(
            service.decline_offer(
                page.session, page.actor, request_id, offer_id, body.reason, page.now, body.version
            )
        )

    # Declining may take it out of the decliner's sight (it was theirs to read only while
    # offered): then their queue, where the other offers wait, with the confirmation.
    return _act(
        page,
        request_id,
        "decline",
        act,
        lambda: declined_message(page.session, declined[0]),
        out_of_sight="/team",
    )


@router.post("/requests/{request_id}/offers/{offer_id}/withdraw")
def withdraw(request_id: Id, offer_id: Id, page: ChangePage) -> Response:
    return _act(
        page,
        request_id,
        "offer",
        lambda: service.withdraw_offer(
            page.session, page.actor, request_id, offer_id, page.now, _version(page)
        ),
        "Offer withdrawn.",
    )


@router.post("/requests/{request_id}/updates")
def post_update(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(s.UpdateIn, page.form)
        service.post_update(page.session, page.actor, request_id, body.body, page.now, body.version)

    return _act(page, request_id, "update", act, "Update posted.")


@router.post("/requests/{request_id}/promises")
def make_promise(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(
            PromiseIn,
            page.form.replaced({"due_at": page.typed_time("due_at", "By when")}),
        )
        promises.make_promise(
            page.session, page.actor, request_id, body.what, body.due_at, page.now
        )

    return _act(
        page,
        request_id,
        "promise",
        act,
        "Promise made. It is kept only if you mark it done in time.",
    )


@router.post("/requests/{request_id}/promises/{promise_id}/keep")
def keep_promise(request_id: Id, promise_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(KeepIn, page.form)
        promises.keep_promise(page.session, page.actor, request_id, promise_id, body.note, page.now)

    return _act(page, request_id, f"keep-{promise_id}", act, "Promise marked done.")


@router.post("/requests/{request_id}/clarification")
def ask(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(s.QuestionIn, page.form)
        service.ask_clarification(
            page.session, page.actor, request_id, body.question, page.now, body.version
        )

    return _act(
        page, request_id, "ask", act, "Question sent. The clock is paused until they answer."
    )


@router.post("/requests/{request_id}/clarification/answer")
def answer(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(s.AnswerIn, page.form)
        service.answer_clarification(
            page.session, page.actor, request_id, body.answer, page.now, body.version
        )

    return _act(page, request_id, "answer", act, "Answer sent. The clock runs again.")


@router.post("/requests/{request_id}/wait")
def pause(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(s.WaitIn, page.form)
        service.start_waiting(
            page.session,
            page.actor,
            request_id,
            body.reason,
            body.note,
            page.now,
            body.child_request_id,
            body.version,
        )

    return _act(page, request_id, "pause", act, "Paused. The target moves on by the time it waits.")


@router.post("/requests/{request_id}/resume")
def resume(request_id: Id, page: ChangePage) -> Response:
    return _act(
        page,
        request_id,
        "resume",
        lambda: service.resume(page.session, page.actor, request_id, page.now, _version(page)),
        "Resumed.",
    )


@router.post("/requests/{request_id}/resolve")
def resolve(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(s.ResolveIn, page.form)
        service.resolve_request(
            page.session, page.actor, request_id, body.resolution, page.now, body.version
        )

    return _act(page, request_id, "resolve", act, "Resolved. The requester is asked to confirm.")


@router.post("/requests/{request_id}/confirm")
def confirm(request_id: Id, page: ChangePage) -> Response:
    return _act(
        page,
        request_id,
        "confirm",
        lambda: service.confirm_resolution(
            page.session, page.actor, request_id, page.now, _version(page)
        ),
        "Confirmed and closed. Thank you — please rate how it went.",
    )


@router.post("/requests/{request_id}/reopen")
def reopen(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(s.ReopenIn, page.form)
        service.reopen_request(
            page.session, page.actor, request_id, body.reason, page.now, body.version
        )

    return _act(page, request_id, "reopen", act, "Reopened. The owner has been told why.")


@router.post("/requests/{request_id}/withdraw")
def withdraw_request(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(s.WithdrawIn, page.form)
        service.withdraw_request(
            page.session, page.actor, request_id, body.reason, page.now, body.version
        )

    return _act(
        page,
        request_id,
        "withdraw-request",
        act,
        "Withdrawn. The owner has been told why; nothing more is owed on it.",
    )


def request_number(value: str, field: str) -> int:
    """A request's number as people write it: "123" or "#123"."""
    number = form_id(form_text(value, field).strip().removeprefix("#").strip())
    if number is None:
        raise InvalidInput("enter the number of the request, like 123 or #123", field=field)
    return number


@router.post("/requests/{request_id}/service")
def change_service(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        service_id = form_id(form_text(page.form.get("service_id"), "service_id"))
        if service_id is None:
            raise InvalidInput("choose the service it belongs under", field="service_id")
        body = model_from_form(s.ServiceChangeIn, page.form)
        service.change_service(
            page.session,
            page.actor,
            request_id,
            body.service_id,
            body.reason,
            page.now,
            body.version,
        )

    return _act(
        page,
        request_id,
        "service",
        act,
        "Filed under the new service. Its targets follow that service; "
        "a service of another team has been offered to that team.",
    )


@router.post("/requests/{request_id}/merge")
def merge_request(request_id: Id, page: ChangePage) -> Response:
    into: list[int] = []

    def act() -> None:
        into.append(request_number(page.form.get("into"), "into"))
        body = model_from_form(s.MergeIn, page.form.replaced({"into_id": str(into[0])}))
        service.merge_requests(
            page.session, page.actor, request_id, body.into_id, body.note, page.now, body.version
        )

    errors = page.attempt("merge", act, {"into_id": "into"})
    if errors:
        return _request_page(page, request_id, errors)
    return page.redirect(
        f"/requests/{into[0]}",
        f"Merged #{request_id} into this request. Its requester and cases are here now, "
        "and both requesters have been told.",
    )


@router.post("/requests/{request_id}/rating")
def rate(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(RatingIn, page.form)
        feedback.rate_request(
            page.session,
            page.actor,
            request_id,
            body.model_dump(exclude={"comment"}),
            body.comment,
            page.now,
        )

    return _act(
        page, request_id, "rating", act, "Thank you for rating. The team sees it on their board."
    )


@router.post("/requests/{request_id}/cases")
def link_case(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        ids = _linked_cases(page, page.form.get("cases"), page.form.get("customer"))
        if not ids:
            raise InvalidInput("enter a case reference", field="cases")
        for case_id in ids:
            service.link_case(page.session, page.actor, request_id, case_id, page.now)

    return _act(page, request_id, "cases", act, "Case linked.", {"case_id": "cases"})


# ---- live updates -------------------------------------------------------------------------------


def _new_event_ids(
    database: Database, viewer: Viewer, request_id: int, after_id: int
) -> list[int] | None:
    """Ids of events after `after_id` the viewer may see; None once the request is not readable."""
    with database.unit_of_work(readonly=True) as session:
        try:
            return [
                e.id for e in queries.request_events(session, viewer.actor, request_id, after_id)
            ]
        except NotFound:
            return None


@router.get("/requests/{request_id}/live")
def live(request_id: Id, request: Request, page: ReadPage, after: Offset = 0) -> StreamingResponse:
    """Server-sent events: 'change' with the newest event id whenever the request changes."""
    get_readable_request(page.session, page.actor, request_id)
    database: Database = request.app.state.database
    viewer = page.viewer
    header = request.headers.get("last-event-id", "")
    start = form_id(header) or after

    async def stream() -> AsyncIterator[str]:
        last = start
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LIVE_MAX_SECONDS
        yield "retry: 2000\n\n"
        while loop.time() < deadline:
            if await request.is_disconnected():
                return
            try:
                # Through the same admission as every route: a stream never takes a worker
                # that the desk's changes are waiting for.
                ids = await admission(request).run(
                    partial(_new_event_ids, database, viewer, request_id, last), write=False
                )
            except ServiceBusy:
                await asyncio.sleep(LIVE_POLL_SECONDS)
                continue
            if ids is None:
                yield "event: gone\ndata: \n\n"
                return
            if ids:
                last = ids[-1]
                yield f"id: {last}\nevent: change\ndata: {last}\n\n"
            await asyncio.sleep(LIVE_POLL_SECONDS)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
