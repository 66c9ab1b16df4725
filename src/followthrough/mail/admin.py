"""An admin's mail settings, audited: how mail reaches each service, and addresses that bounced
marked fixed. Each change and its event are one transaction (the caller's); the changes
themselves are mail in's (mail.inbound), this module checks who may and writes the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followthrough.errors import InvalidInput, NotAllowed
from followthrough.history.payloads import MailAddressFixed, ServiceMailAddressSet
from followthrough.history.service import record_event
from followthrough.mail import inbound
from followthrough.mail.inbound_models import ServiceMailAddress
from followthrough.mail.safety import normalised_address
from followthrough.mail.threading import service_address
from followthrough.org.actors import Actor
from followthrough.org.models import Person, Service
from followthrough.org.service import get_service


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowed("only admins can change how mail reaches the desk")


@dataclass(frozen=True)
class ServiceMail:
    """How mail reaches one service: the tag (None until set), the tagged address on the desk's
    own address, and the service's own whole address if it has one."""

    service_id: int
    service_name: str
    team_id: int
    slug: str | None
    tagged: str | None
    address: str | None


def service_mail(session: Session, inbound_address: str) -> list[ServiceMail]:
    """Every active service and how mail reaches it, by name."""
    rows = session.execute(
        select(Service, ServiceMailAddress)
        .outerjoin(ServiceMailAddress, ServiceMailAddress.service_id == Service.id)
        .where(Service.active.is_(True))
        .order_by(Service.name, Service.id)
    ).all()
    return [
        ServiceMail(
            service_id=service.id,
            service_name=service.name,
            team_id=service.team_id,
            slug=None if mail is None else mail.slug,
            tagged=None if mail is None else service_address(inbound_address, mail.slug),
            address=None if mail is None else mail.address,
        )
        for service, mail in rows
    ]


def _in_words(slug: str | None, address: str | None) -> str:
    if slug is None:
        return "no mail address"
    return f"tag {slug}" + (f" and {address}" if address else "")


def set_service_address(
    session: Session,
    admin: Actor,
    service_id: int,
    slug: str,
    address: str | None,
    now: datetime,
) -> ServiceMailAddress:
    """Set the service's tag (desk+s-{slug}@...) and, optionally, its own address; audited with
    what it was before. Setting what is already there records nothing."""
    _require_admin(admin)
    service = get_service(session, service_id)
    before = session.get(ServiceMailAddress, service_id)
    was = (None, None) if before is None else (before.slug, before.address)
    row = inbound.set_service_address(session, service_id, slug, address or None)
    if (row.slug, row.address) != was:
        record_event(
            session,
            ServiceMailAddressSet(
                service_id=service_id,
                slug=row.slug,
                address=row.address,
                before=_in_words(*was),
            ),
            now,
            actor_id=admin.person_id,
            team_id=service.team_id,
        )
    return row


def mark_address_fixed(session: Session, admin: Actor, address: str, now: datetime) -> None:
    """Mail to the address starts again; audited. NotFound-like InvalidInput when the address
    is not marked as bouncing (nothing to fix)."""
    _require_admin(admin)
    bare = normalised_address(address)
    if not inbound.fix_bouncing_address(session, bare, admin.person_id, now):
        raise InvalidInput(f"{bare} is not marked as bouncing", field="address")
    whose = session.scalar(select(Person.id).where(func.lower(Person.email) == bare))
    record_event(
        session,
        MailAddressFixed(address=bare),
        now,
        actor_id=admin.person_id,
        person_id=whose,
    )
