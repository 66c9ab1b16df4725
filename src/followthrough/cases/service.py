"""Customer case services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.cases.models import Case, RequestCase
from followthrough.errors import Conflict, NotFound
from followthrough.org.actors import Actor
from followthrough.requests import rules
from followthrough.requests.access import visibility_clause
from followthrough.requests.models import Request


def add_case(
    session: Session,
    actor: Actor,
    reference: str,
    customer: str,
    external_due_at: datetime | None,
    note: str,
    now: datetime,
) -> Case:
    reference = rules.require_text(reference, "reference", max_length=64)
    customer = rules.require_text(customer, "customer", max_length=200)
    if session.scalar(select(Case).where(Case.reference == reference)) is not None:
        raise Conflict(f"case {reference} already exists", field="reference")
    case = Case(
        reference=reference,
        customer=customer,
        external_due_at=external_due_at,
        note=note.strip(),
        created_at=now,
        created_by_id=actor.person_id,
    )
    session.add(case)
    session.flush()
    return case


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist", field="case_id")
    return case


def case_requests(session: Session, viewer: Actor, case_id: int) -> list[Request]:
    """The requests the case waits on that the viewer may see."""
    query = (
        select(Request)
        .join(RequestCase, RequestCase.request_id == Request.id)
        .where(RequestCase.case_id == case_id, visibility_clause(viewer))
        .order_by(Request.id)
    )
    return list(session.scalars(query))


def find_cases(session: Session, text: str, limit: int = 50) -> list[Case]:
    """Cases whose reference or customer contains `text`, newest first."""
    query = select(Case).order_by(Case.id.desc()).limit(limit)
    if text.strip():
        pattern = f"%{text.strip()}%"
        query = query.where(Case.reference.ilike(pattern) | Case.customer.ilike(pattern))
    return list(session.scalars(query))
