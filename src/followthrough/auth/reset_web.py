"""The page behind a new-password link an admin made (org.admin.issue_password_reset).

Anyone holding the link may use it once, before it expires; nobody needs to be signed in. The
link's secret is the form's only credential, so the form needs no other anti-forgery token: a
page that could forge the post would already know the secret.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from followthrough.auth import service
from followthrough.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    password_checks,
)
from followthrough.errors import NotFound, ServiceBusy
from followthrough.org import admin
from followthrough.web.deps import UnitOfWorkRoute, run_in_unit_of_work
from followthrough.web.pages import FormErrors, PageForm, templates

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

PATH = "/password-reset"
EXPIRED = (
    "This link has expired or was already used. Ask your admin for a new one; "
    "your old password still works until then."
)


def _page(
    request: Request,
    token: str,
    *,
    valid: bool,
    errors: FormErrors | None = None,
    done: bool = False,
    status: int = 200,
) -> Response:
    response = templates.TemplateResponse(
        request,
        "password_reset.html",
        {
            "viewer": None,
            "nav": None,
            "flash": "",
            "token": token,
            "valid": valid,
            "errors": errors,
            "done": done,
            "expired": EXPIRED,
            "min_length": MIN_PASSWORD_LENGTH,
        },
        status_code=status,
    )
    # The link's secret is in the address: no other site hears of it, not even as a referrer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(PATH)
async def reset_form(request: Request, token: str = "") -> Response:
    valid = await run_in_unit_of_work(
        request,
        lambda session, now: service.password_reset_for(session, token, now) is not None,
        write=False,
    )
    return _page(request, token, valid=valid, status=200 if valid else 404)


@router.post(PATH)
async def reset(request: Request, form: PageForm) -> Response:
    """Three steps, so no transaction is open while the password is hashed: check the link,
    hash on the password lane, then set the password (the link is checked again there)."""
    token = form.get("token")
    password = form.get("password")
    fields = {}
    if len(password) < MIN_PASSWORD_LENGTH:
        fields["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    elif len(password) > MAX_PASSWORD_LENGTH:
        fields["password"] = f"Use at most {MAX_PASSWORD_LENGTH} characters."
    elif form.get("repeat") != password:
        fields["repeat"] = "The two passwords are not the same."
    valid = await run_in_unit_of_work(
        request,
        lambda session, now: service.password_reset_for(session, token, now) is not None,
        write=False,
    )
    if not valid:
        return _page(request, token, valid=False, status=404)
    if fields:
        errors = FormErrors("reset", fields=fields)
        return _page(request, token, valid=True, errors=errors, status=errors.status)
    try:
        password_hash = await password_checks(request).hashed(password)
    except ServiceBusy:
        busy = FormErrors(
            "reset", message="Many people are signing in right now. Please try again.", status=503
        )
        return _page(request, token, valid=True, errors=busy, status=503)

    def finish(session: Session, now: datetime) -> None:
        admin.finish_password_reset(session, token, password_hash, now)

    try:
        await run_in_unit_of_work(request, finish, write=True)
    except NotFound:
        return _page(request, token, valid=False, status=404)
    return _page(request, "", valid=False, done=True)
