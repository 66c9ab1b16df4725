"""The admin's mail page and API: how mail reaches each service (its tag on the desk's address,
its own address) and the addresses that bounce, each marked fixed when it works again. The page
calls the API's own functions, so it can do exactly what the API allows, audited the same way
(mail.admin)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from followthrough.config import Settings
from followthrough.fields import Id
from followthrough.mail import admin as audited
from followthrough.mail.bounces import bouncing_now
from followthrough.mail.outbound import outbox_counts
from followthrough.org.actors import Actor
from followthrough.web.deps import AdminActor, DbSession, Now, UnitOfWorkRoute, admin_actor
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage, model_from_form
from followthrough.web.schemas import Input

pages = APIRouter(route_class=UnitOfWorkRoute, prefix="/admin/mail", include_in_schema=False)
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/admin/mail", tags=["mail"])

PAGE = "/admin/mail"


class ServiceMailIn(Input):
    """How mail reaches a service: its tag (desk+s-{slug}@...) and, optionally, its own address."""

    slug: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    address: str | None = Field(default=None, max_length=254)


class ServiceMailOut(BaseModel):
    service_id: int
    service_name: str
    team_id: int
    slug: str | None
    tagged: str | None = Field(description="the desk's address with the service's tag")
    address: str | None = Field(description="the service's own address, if it has one")


class FixedIn(Input):
    address: str = Field(min_length=3, max_length=254)


class BouncingOut(BaseModel):
    address: str
    person_name: str | None
    first_bounced_at: datetime
    last_bounced_at: datetime
    bounces: int
    request_id: int | None


class FailedMailOut(BaseModel):
    outbox_id: int
    person_name: str
    kind: str
    request_id: int | None
    created_at: datetime
    attempts: int
    last_error: str | None = Field(description="what the mail server or the sender said")


class OutboxOut(BaseModel):
    counts: dict[str, int] = Field(description="mail messages in each state")
    failed: list[FailedMailOut] = Field(description="the newest 50 that failed, newest first")


class SentAgainOut(BaseModel):
    messages: int = Field(description="how many failed messages were put back to be sent")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def list_service_mail(session: Session, settings: Settings) -> list[ServiceMailOut]:
    return [
        ServiceMailOut(**vars(row))
        for row in audited.service_mail(session, settings.mail_inbound_address)
    ]


def list_bouncing(session: Session) -> list[BouncingOut]:
    return [BouncingOut(**vars(row)) for row in bouncing_now(session)]


def set_service_mail(
    service_id: int, body: ServiceMailIn, session: Session, admin: Actor, now: datetime
) -> None:
    audited.set_service_address(session, admin, service_id, body.slug, body.address, now)


def mark_fixed(body: FixedIn, session: Session, admin: Actor, now: datetime) -> None:
    audited.mark_address_fixed(session, admin, body.address, now)


def outbox(session: Session) -> OutboxOut:
    return OutboxOut(
        counts=outbox_counts(session),
        failed=[FailedMailOut(**vars(row)) for row in audited.failed_mail(session)],
    )


# -- API --------------------------------------------------------------------------------------


@api.get("/outbox", response_model=OutboxOut)
def get_outbox(session: DbSession, admin: AdminActor) -> OutboxOut:
    """How many mail messages are waiting, sent and failed, and the failed ones with why."""
    return outbox(session)


@api.post("/outbox/send-again", response_model=SentAgainOut)
def post_send_again(session: DbSession, admin: AdminActor, now: Now) -> SentAgainOut:
    """Put every failed message back to be sent (same Message-ID, fresh tries). Audited."""
    return SentAgainOut(messages=audited.send_failed_again(session, admin, now))


@api.get("/services", response_model=list[ServiceMailOut])
def services_mail(request: Request, session: DbSession, admin: AdminActor) -> list[ServiceMailOut]:
    """Every service and how mail reaches it (admins)."""
    return list_service_mail(session, _settings(request))


@api.put("/services/{service_id}", response_model=ServiceMailOut)
def put_service_mail(
    service_id: Id,
    body: ServiceMailIn,
    request: Request,
    session: DbSession,
    admin: AdminActor,
    now: Now,
) -> ServiceMailOut:
    """Set a service's tag and own address. Audited."""
    set_service_mail(service_id, body, session, admin, now)
    return next(
        s for s in list_service_mail(session, _settings(request)) if s.service_id == service_id
    )


@api.get("/bouncing", response_model=list[BouncingOut])
def bouncing(session: DbSession, admin: AdminActor) -> list[BouncingOut]:
    """Addresses mail to which is paused, the latest bounce first (admins)."""
    return list_bouncing(session)


@api.post("/bouncing/fixed", status_code=204)
def post_fixed(body: FixedIn, session: DbSession, admin: AdminActor, now: Now) -> Response:
    """Mail to the address works again: sending to it starts again. Audited."""
    mark_fixed(body, session, admin, now)
    return Response(status_code=204)


# -- page -------------------------------------------------------------------------------------


def _page(page: Page, errors: FormErrors | None = None) -> Response:
    admin_actor(page.actor)
    settings = _settings(page.request)
    return page.render(
        "mail/admin.html",
        status=200 if errors is None else errors.status,
        services=list_service_mail(page.session, settings),
        inbound_address=settings.mail_inbound_address,
        bouncing=list_bouncing(page.session),
        outbox=outbox(page.session),
        errors=errors,
    )


@pages.get("")
def mail_page(page: ReadPage) -> Response:
    return _page(page)


def _change(page: Page, form: str, action: Callable[[], object], flash: str) -> Response:
    admin_actor(page.actor)
    errors = page.attempt(form, action)
    if errors:
        return _page(page, errors)
    return page.redirect(PAGE, flash)


@pages.post("/services/{service_id}")
def set_service_page(service_id: Id, page: ChangePage) -> Response:
    return _change(
        page,
        f"service-{service_id}",
        lambda: set_service_mail(
            service_id,
            model_from_form(ServiceMailIn, page.form),
            page.session,
            page.actor,
            page.now,
        ),
        "Mail address saved.",
    )


@pages.post("/bouncing")
def fixed_page(page: ChangePage) -> Response:
    return _change(
        page,
        "bouncing",
        lambda: mark_fixed(model_from_form(FixedIn, page.form), page.session, page.actor, page.now),
        "Marked fixed: mail to that address starts again.",
    )


@pages.post("/outbox")
def send_again_page(page: ChangePage) -> Response:
    admin_actor(page.actor)
    count = audited.send_failed_again(page.session, page.actor, page.now)
    words = "1 message" if count == 1 else f"{count} messages"
    return page.redirect(PAGE, f"{words} put back to be sent.")
