"""Sign-in and sign-out pages, and the personal API tokens page."""

from __future__ import annotations

import secrets
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from followthrough.auth import service
from followthrough.auth.api import TokenIn
from followthrough.auth.passwords import MAX_PASSWORD_LENGTH, password_checks
from followthrough.auth.rules import wait_in_words
from followthrough.errors import NotSignedIn, ServiceBusy, TooManyAttempts
from followthrough.fields import Id, same_secret
from followthrough.org.models import Person
from followthrough.org.profile import remember_guessed_clock
from followthrough.org.service import get_person
from followthrough.web.deps import (
    SESSION_COOKIE,
    UnitOfWorkRoute,
    run_in_unit_of_work,
    settings,
)
from followthrough.web.pages import (
    ChangePage,
    FormErrors,
    OptionalViewer,
    Page,
    PageForm,
    ReadPage,
    model_from_form,
    safe_next,
    templates,
)
from followthrough.web.security import client_address, cookies_secure

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _no_match() -> FormErrors:
    """The same answer for an unknown name and a wrong password, so neither can be told apart."""
    return FormErrors(
        "signin", fields={"password": "That sign-in name and password do not match."}, status=401
    )


# Before sign-in there is no session, so the sign-in form uses a double-submit token instead.
SIGNIN_COOKIE = "ft_signin"


def _sign_in_page(
    request: Request,
    next_path: str,
    handle: str = "",
    errors: FormErrors | None = None,
    retry_after: int | None = None,
) -> Response:
    token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "sign_in.html",
        {
            "viewer": None,
            "nav": None,
            "flash": "",
            "errors": errors,
            "next": next_path,
            "handle": handle,
            "signin_token": token,
        },
        status_code=200 if errors is None else errors.status,
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=cookies_secure(request),
        max_age=3600,
    )
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, viewer: OptionalViewer, next: str = "/") -> Response:
    if viewer is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _sign_in_page(request, safe_next(next))


@router.post("/sign-in")
async def sign_in(request: Request, form: PageForm) -> Response:
    """The API's three steps (auth.api.sign_in), answered with the form and a message."""
    next_path = safe_next(form.get("next"))
    handle = form.get("handle").strip()
    password = form.get("password")
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    sent = form.get("signin_token")
    if not expected or not same_secret(sent, expected):
        return _sign_in_page(
            request,
            next_path,
            handle,
            FormErrors("signin", message="The sign-in form expired. Please try again.", status=403),
        )
    fields = {}
    if not handle:
        fields["handle"] = "Enter your sign-in name."
    if not password:
        fields["password"] = "Enter your password."
    elif len(password) > MAX_PASSWORD_LENGTH:
        # No password that long can be set, so none is checked (nor counted as a wrong guess).
        fields["password"] = f"A password is at most {MAX_PASSWORD_LENGTH} characters."
    if fields:
        return _sign_in_page(request, next_path, handle, FormErrors("signin", fields=fields))
    address = client_address(request)
    try:
        attempt = await run_in_unit_of_work(
            request,
            lambda session, now: service.begin_sign_in(session, handle, address, now),
            write=False,
        )
        matches = await password_checks(request).matches(attempt.password_hash, password)
    except TooManyAttempts as refused:
        wait = wait_in_words(refused.retry_after)
        return _sign_in_page(
            request,
            next_path,
            handle,
            FormErrors(
                "signin",
                message=f"Too many wrong passwords. For your account's safety, wait {wait} "
                "before trying again.",
                status=429,
            ),
            retry_after=refused.retry_after,
        )
    except ServiceBusy as busy:
        return _sign_in_page(
            request,
            next_path,
            handle,
            FormErrors(
                "signin",
                message="Many people are signing in right now. Please try again in a few seconds.",
                status=503,
            ),
            retry_after=busy.retry_after,
        )
    if not matches:
        await run_in_unit_of_work(
            request,
            lambda session, now: service.record_failed_sign_in(session, attempt, now),
            write=True,
        )
        return _sign_in_page(request, next_path, handle, _no_match())
    days = settings(request).session_days
    # The browser's zone and language (static/clock-guess.js), kept if the person has none yet.
    guessed_zone, guessed_locale = form.get("timezone"), form.get("locale")

    def finish(session: Session, now: datetime) -> str:
        person, token, _row = service.finish_sign_in(session, attempt, now, days)
        remember_guessed_clock(session, person, guessed_zone, guessed_locale)
        return token

    try:
        token = await run_in_unit_of_work(request, finish, write=True)
    except NotSignedIn:
        # The account changed (deactivated, new password) while the password was checked.
        return _sign_in_page(request, next_path, handle, _no_match())
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=cookies_secure(request),
        max_age=days * 86400,
    )
    response.delete_cookie(SIGNIN_COOKIE)
    return response


@router.post("/sign-out")
def sign_out(request: Request, page: ChangePage) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        service.end_web_session(page.session, cookie)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _person(page: Page) -> Person:
    return get_person(page.session, page.viewer.person_id)


@router.get("/account/tokens")
def tokens_page(page: ReadPage) -> Response:
    tokens = service.tokens_of(page.session, _person(page))
    return page.render("tokens.html", tokens=tokens, errors=None, secret=None)


@router.post("/account/tokens")
def create_token(page: ChangePage) -> Response:
    person = _person(page)
    created: list[str] = []

    def create() -> None:
        # The API's own bounds (a name the column holds), refused beside the field.
        body = model_from_form(TokenIn, page.form)
        secret, _token = service.create_api_token(page.session, person, body.name, page.now)
        created.append(secret)

    errors = page.attempt("token", create)
    tokens = service.tokens_of(page.session, person)
    if errors:
        return page.render(
            "tokens.html", tokens=tokens, errors=errors, secret=None, status=errors.status
        )
    # The secret is shown once, so this answer is rendered directly rather than redirected.
    return page.render("tokens.html", tokens=tokens, errors=None, secret=created[0])


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(token_id: Id, page: ChangePage) -> Response:
    person = _person(page)
    errors = page.attempt(
        "revoke", lambda: service.revoke_api_token(page.session, person, token_id, page.now)
    )
    if errors:
        tokens = service.tokens_of(page.session, person)
        return page.render(
            "tokens.html", tokens=tokens, errors=errors, secret=None, status=errors.status
        )
    return page.redirect("/account/tokens", "Token revoked. Scripts using it stop working now.")
