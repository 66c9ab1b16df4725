"""An admin's mail settings, audited: how mail reaches each service, and addresses that bounced
marked fixed. Each change and its event are one transaction (the caller's); the changes
themselves are mail in's (mail.inbound), this module checks who may and writes the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from followthrough.errors import InvalidInput, NotAllowed
from followthrough.history.payloads import MailAddressFixed, MailSentAgain, ServiceMailAddressSet
from followthrough.history.service import record_event
from followthrough.mail import inbound
from followthrough.mail.inbound_models import ServiceMailAddress
from followthrough.mail.outbound import OutboxState
from followthrough.mail.safety import normalised_address
from followthrough.mail.threading import service_address
from followthrough.notify.models import Notification, OutboxMessage
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


# -- mail that failed -------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedMail:
    """A message given up after its last try (or refused for good by the mail server)."""

    outbox_id: int
    person_name: str
    kind: str
    request_id: int | None
    created_at: datetime
    attempts: int
    last_error: str | None


def failed_mail(session: Session, limit: int = 50) -> list[FailedMail]:
    """The newest messages that failed, with why."""
    rows = session.execute(
        select(OutboxMessage, Notification.kind, Notification.request_id, Person.name)
        .join(Notification, Notification.id == OutboxMessage.notification_id)
        .join(Person, Person.id == Notification.person_id)
        .where(OutboxMessage.channel == "email", OutboxMessage.state == OutboxState.FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    return [
        FailedMail(o.id, name, kind, request_id, o.created_at, o.attempts, o.last_error)
        for o, kind, request_id, name in rows
    ]


def send_failed_again(session: Session, admin: Actor | None, now: datetime) -> int:
    """Put every failed message back to be sent, with fresh tries (its Message-ID stays, so a
    reader's mail client treats a copy that did arrive after all as the same message);
    audited with how many. `admin` None: the server's command line."""
    if admin is not None:
        _require_admin(admin)
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.channel == "email", OutboxMessage.state == OutboxState.FAILED)
        .values(state=OutboxState.PENDING, attempts=0, not_before=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        actor_id = None if admin is None else admin.person_id
        record_event(session, MailSentAgain(messages=count), now, actor_id=actor_id)
    return count
