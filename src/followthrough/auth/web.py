"""Sign-in and sign-out pages, and the personal API tokens page."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from followthrough.auth import service
from followthrough.errors import DomainError
from followthrough.org.models import Person
from followthrough.org.service import get_person
from followthrough.web.deps import SESSION_COOKIE, DbSession, Now, UnitOfWorkRoute, settings
from followthrough.web.pages import (
    ChangePage,
    FormErrors,
    OptionalViewer,
    Page,
    PageForm,
    ReadPage,
    safe_next,
    templates,
)

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

# Before sign-in there is no session, so the sign-in form uses a double-submit token instead.
SIGNIN_COOKIE = "ft_signin"


def _sign_in_page(
    request: Request, next_path: str, handle: str = "", errors: FormErrors | None = None
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
    response.set_cookie(SIGNIN_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, viewer: OptionalViewer, next: str = "/") -> Response:
    if viewer is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _sign_in_page(request, safe_next(next))


@router.post("/sign-in")
def sign_in(request: Request, form: PageForm, session: DbSession, now: Now) -> Response:
    next_path = safe_next(form.get("next"))
    handle = form.get("handle").strip()
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    sent = form.get("signin_token")
    if not expected or not secrets.compare_digest(expected, sent):
        return _sign_in_page(
            request,
            next_path,
            handle,
            FormErrors("signin", message="The sign-in form expired. Please try again.", status=403),
        )
    fields = {}
    if not handle:
        fields["handle"] = "Enter your sign-in name."
    if not form.get("password"):
        fields["password"] = "Enter your password."
    if fields:
        return _sign_in_page(request, next_path, handle, FormErrors("signin", fields=fields))
    try:
        person = service.authenticate(session, handle, form.get("password"))
    except DomainError:
        return _sign_in_page(
            request,
            next_path,
            handle,
            FormErrors(
                "signin",
                fields={"password": "That sign-in name and password do not match."},
                status=401,
            ),
        )
    config = settings(request)
    token, _row = service.start_web_session(session, person, now, config.session_days)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=config.secure_cookies,
        max_age=config.session_days * 86400,
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
        secret, _token = service.create_api_token(
            page.session, person, page.form.get("name"), page.now
        )
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
def revoke_token(token_id: int, page: ChangePage) -> Response:
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
