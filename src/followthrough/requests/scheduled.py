"""The requests' due work, fired by the sweeper: offer escalations, update reminders and
escalations, auto-closes. And the claiming every due step shares.

Every due item belongs to a request, and every change to a request first locks the request row.
A batch claims its due items by locking their requests with SKIP LOCKED on PostgreSQL, so
sweepers in several processes split the work without waiting on each other; after taking the
lock each item is read again and fired only if it is still due (the lifecycle's `*_due_at`),
and its own state moves in the same transaction, so a committed item is never due again. The
SQL conditions below select the same items the lifecycle's due times name.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from followthrough.org.snapshot import org_snapshot
from followthrough.promises.models import Promise
from followthrough.requests import lifecycle, rules
from followthrough.requests.models import Offer, Request
from followthrough.requests.service import apply_change, auto_close, facts_of, offer_facts
from followthrough.requests.vocabulary import OfferState, RequestState

BATCH = 200


@dataclass(frozen=True)
class Batch:
    """What one batch did: items it claimed (locked), how many it fired, and the claimed ones
    it found no longer due on a closer look (left out of the rest of the pass)."""

    claimed: int
    fired: int
    passed_over: frozenset[int] = frozenset()


# A kind of due item: claims at most `limit` items not in `exclude`, fires those still due.
DueStep = Callable[[Session, datetime, int, frozenset[int]], Batch]


def _on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def claim(session: Session, query: Select[Any], limit: int) -> list[Any]:
    """Due rows, locked; rows locked elsewhere are skipped (their holder deals with them)."""
    query = query.limit(limit)
    if _on_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _claim_by_request(
    session: Session, query: Select[int, int], limit: int
) -> list[tuple[int, int]]:
    """(item id, request id) of due items whose request this transaction now holds locked.

    Only the request row is locked (every change locks it first), so the item itself must be
    read again afterwards: the claim saw it as of the statement's start.
    """
    query = query.join(Request).limit(limit)
    if _on_postgres(session):
        query = query.with_for_update(of=Request, skip_locked=True)
    return [(item_id, request_id) for item_id, request_id in session.execute(query)]


def _read_again(session: Session, model: type[Any], ids: Collection[int]) -> dict[int, Any]:
    """The rows as now committed (the lock is held), replacing any copy the session has."""
    rows = session.scalars(
        select(model).where(model.id.in_(ids)).execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


def claim_items(
    session: Session,
    item: type[Offer] | type[Promise],
    due: ColumnElement[bool],
    limit: int,
    exclude: frozenset[int],
) -> tuple[list[tuple[int, int]], dict[int, Request], dict[int, Any]]:
    """Due offers or promises, soonest first, their requests locked: (item id, request id)
    pairs, the requests and the items as now committed."""
    claimed = _claim_by_request(
        session,
        select(item.id, item.request_id)
        .where(due, item.id.not_in(exclude))
        .order_by(item.due_at, item.id),
        limit,
    )
    requests = _read_again(session, Request, {r for _, r in claimed})
    items = _read_again(session, item, [i for i, _ in claimed])
    return claimed, requests, items


def _escalates_to(session: Session, team_id: int) -> int:
    team = org_snapshot(session).team(team_id)
    return lifecycle.escalates_to(team.lead_id, team.duty_owner)


def escalate_offers(
    session: Session, now: datetime, limit: int = BATCH, exclude: frozenset[int] = frozenset()
) -> Batch:
    """Offers not answered within the acceptance target go to the receiving team's lead."""
    due = (Offer.state == OfferState.OPEN) & Offer.escalated_at.is_(None) & (Offer.due_at <= now)
    claimed, requests, offers = claim_items(session, Offer, due, limit, exclude)
    passed_over = set()
    for offer_id, request_id in claimed:
        request, offer = requests[request_id], offers[offer_id]
        facts = offer_facts(offer)
        due_at = lifecycle.offer_escalation_due_at(facts)
        if offer.state != OfferState.OPEN or due_at is None or due_at > now:
            passed_over.add(offer_id)
            continue
        change = lifecycle.escalate_offer(
            facts_of(request), facts, lead_id=_escalates_to(session, offer.to_team_id), now=now
        )
        apply_change(session, request, change, {offer.id: offer})
    session.flush()
    return Batch(len(claimed), len(claimed) - len(passed_over), frozenset(passed_over))


def remind_updates(
    session: Session, now: datetime, limit: int = BATCH, exclude: frozenset[int] = frozenset()
) -> Batch:
    """The owner hears that an update is due (once per rung of the update ladder); its
    escalation then waits at least half a cadence from now (`lifecycle.remind_update`), so a
    late sweep never reminds and escalates in the same pass."""
    requests: list[Request] = claim(
        session,
        select(Request)
        .where(
            Request.state.in_(rules.OPEN_STATES),
            Request.next_update_due_at <= now,
            Request.update_reminded_at.is_(None),
            Request.id.not_in(exclude),
        )
        .order_by(Request.next_update_due_at, Request.id),
        limit,
    )
    org = org_snapshot(session)
    for request in requests:
        service = None if request.service_id is None else org.services.get(request.service_id)
        change = lifecycle.remind_update(
            facts_of(request),
            calendar=org.team(request.team_id).calendar,
            targets=lifecycle.targets_of(service),
            now=now,
        )
        apply_change(session, request, change)
    session.flush()
    return Batch(len(requests), len(requests))


def escalate_updates(
    session: Session, now: datetime, limit: int = BATCH, exclude: frozenset[int] = frozenset()
) -> Batch:
    """An update still missing after the reminder goes to the team's lead — never to the
    owner: when the lead owns it, it is recorded that there is nobody above
    (`lifecycle.escalate_update`)."""
    requests: list[Request] = claim(
        session,
        select(Request)
        .where(
            Request.state.in_(rules.OPEN_STATES),
            Request.update_reminded_at.is_not(None),
            Request.update_escalate_at <= now,
            Request.id.not_in(exclude),
        )
        .order_by(Request.update_escalate_at, Request.id),
        limit,
    )
    for request in requests:
        change = lifecycle.escalate_update(
            facts_of(request), lead_id=_escalates_to(session, request.team_id), now=now
        )
        apply_change(session, request, change)
    session.flush()
    return Batch(len(requests), len(requests))


def auto_close_resolved(
    session: Session, now: datetime, limit: int, exclude: frozenset[int]
) -> Batch:
    """Resolved requests the requester neither confirmed nor reopened in time are closed."""
    requests: list[Request] = claim(
        session,
        select(Request)
        .where(
            Request.state == RequestState.RESOLVED,
            Request.auto_close_at <= now,
            Request.id.not_in(exclude),
        )
        .order_by(Request.auto_close_at, Request.id),
        limit,
    )
    for request in requests:
        auto_close(session, request, now)
    return Batch(len(requests), len(requests))
