"""Leaders' messages: the archive for everyone; composing and sending for leads and admins."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.errors import NotAllowed
from followthrough.programmes import messages
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

HOME = "/messages"


def _leaders_only(page: Page) -> None:
    if not page.viewer.leads:
        raise NotAllowed("only team leads and admins send company-wide messages")


@router.get(HOME)
def archive_page(page: ReadPage) -> Response:
    return page.render(
        "programmes/messages.html", archive=messages.archive(page.session), leads=page.viewer.leads
    )


def _compose(page: Page, subject: str, body: str, errors: FormErrors | None = None) -> Response:
    return page.render(
        "programmes/messages_new.html",
        subject=subject,
        body=body,
        errors=errors,
        status=errors.status if errors else 200,
    )


@router.get(f"{HOME}/new")
def compose_page(page: ReadPage) -> Response:
    _leaders_only(page)
    subject, body = messages.draft(page.session, page.now)
    return _compose(page, subject, body)


@router.post(HOME)
def send(page: ChangePage) -> Response:
    _leaders_only(page)
    subject, body = page.form.get("subject"), page.form.get("body")
    errors = page.attempt(
        "message",
        lambda: messages.send(page.session, page.viewer.person_id, subject, body, page.now),
    )
    if errors:
        return _compose(page, subject, body, errors)
    return page.redirect(HOME, "Sent to everyone, by mail or chat as each person chose.")
