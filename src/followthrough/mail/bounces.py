"""Addresses that bounce, as people see them: on a request's page (whose mail is paused) and in
the admin's list (to mark one fixed).

Which addresses bounce, and stopping mail to them, is mail in's (mail.inbound); this module only
reads those marks and names the people behind them. Whoever calls it has already passed the
access rule for the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from followthrough.mail.inbound_models import BouncingAddress
from followthrough.org.models import Person
from followthrough.requests.models import Request, RequestParticipant


@dataclass(frozen=True)
class Bounce:
    """One address mail to which is paused: whose it is (None when it is nobody's on the desk),
    since when and how often mail to it failed."""

    address: str
    person_name: str | None
    first_bounced_at: datetime
    last_bounced_at: datetime
    bounces: int
    request_id: int | None


def _names_by_address(session: Session, addresses: list[str]) -> dict[str, str]:
    if not addresses:
        return {}
    rows = session.execute(
        select(func.lower(Person.email), Person.name).where(func.lower(Person.email).in_(addresses))
    ).all()
    return {str(address): str(name) for address, name in rows}


def _shown(session: Session, marks: list[BouncingAddress]) -> list[Bounce]:
    names = _names_by_address(session, [m.address for m in marks])
    return [
        Bounce(
            address=m.address,
            person_name=names.get(m.address),
            first_bounced_at=m.first_bounced_at,
            last_bounced_at=m.last_bounced_at,
            bounces=m.bounces,
            request_id=m.request_id,
        )
        for m in marks
    ]


def bounces_on_request(session: Session, request_id: int) -> list[Bounce]:
    """The addresses of the request's people (requester, owner, participants) and any address
    whose bounce report named this request, that still bounce: mail to them is paused."""
    request = session.get(Request, request_id)
    if request is None:
        return []
    people = {request.requester_id, request.owner_id} | set(
        session.scalars(
            select(RequestParticipant.person_id).where(RequestParticipant.request_id == request_id)
        )
    )
    addresses = select(func.lower(Person.email)).where(Person.id.in_(people))
    marks = list(
        session.scalars(
            select(BouncingAddress)
            .where(
                BouncingAddress.fixed_at.is_(None),
                or_(
                    BouncingAddress.request_id == request_id,
                    BouncingAddress.address.in_(addresses),
                ),
            )
            .order_by(BouncingAddress.last_bounced_at.desc(), BouncingAddress.address)
        )
    )
    return _shown(session, marks)


def bouncing_now(session: Session) -> list[Bounce]:
    """Every address mail to which is paused, the latest bounce first (the admin's list)."""
    marks = list(
        session.scalars(
            select(BouncingAddress)
            .where(BouncingAddress.fixed_at.is_(None))
            .order_by(BouncingAddress.last_bounced_at.desc(), BouncingAddress.address)
        )
    )
    return _shown(session, marks)
