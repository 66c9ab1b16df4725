"""The page behind an action link: it shows what the link will do, and acts only when the
person confirms.

GET never changes anything: mail scanners and link previews fetch links before people do, and
must not accept an offer on someone's behalf. The POST acts, as the person the link was made
for, without a sign-in and without starting one (no cookie is set): the link is the credential
for its one action and for nothing else, so the form needs no other anti-forgery token.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from followthrough.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from followthrough.links import service
from followthrough.links.rules import (
    ASKS_FOR_WORDS,
    LinkAction,
    LinkClaims,
    LinkExpired,
    LinkProblem,
    LinkUsed,
)
from followthrough.web.deps import UnitOfWorkRoute, run_in_unit_of_work, settings
from followthrough.web.pages import FormErrors, PageForm, errors_from_domain, templates

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

# What each action is called on its page: the heading, the button, what happened.
HEADINGS = {
    LinkAction.ACCEPT_OFFER: ("Accept this request", "Accept it", "You accepted the request."),
    LinkAction.DECLINE_OFFER: (
        "Decline this request",
        "Decline it",
        "You declined the request; the sender has been told why.",
    ),
    LinkAction.KEEP_PROMISE: (
        "Mark your promise kept",
        "Mark it kept",
        "Your promise is marked done.",
    ),
    LinkAction.CONFIRM_RESOLUTION: (
        "Confirm the request is resolved",
        "Yes, it is resolved",
        "Thank you: the request is closed as resolved.",
    ),
}
# The services' names for the words a page asks for: a decline's reason, a kept promise's note.
WORDS_FIELDS = {"reason": "words", "note": "words"}
# The words a page asks for before acting, with their hint.
ASKED = {
    LinkAction.DECLINE_OFFER: ("Why are you declining?", "The sender reads this."),
    LinkAction.KEEP_PROMISE: ("What did you do?", "The requester reads this."),
}


def _status_of(problem: Exception) -> int:
    if isinstance(problem, LinkExpired | LinkUsed):
        return 410
    if isinstance(problem, NotAllowed):
        return 403
    if isinstance(problem, Conflict):
        return 409
    if isinstance(problem, DomainError):
        return problem.status
    return 404


def _words_of(problem: Exception) -> str:
    if isinstance(problem, LinkProblem):
        return problem.words
    if isinstance(problem, NotAllowed | NotFound):
        return f"This can't be done from this link: {problem}."
    if isinstance(problem, Conflict | DomainError):
        return f"This can no longer be done: {problem}. Open the request in the desk to see where it stands."
    return "This link does not work."


def _page(request: Request, status: int = 200, /, **context: object) -> Response:
    values: dict[str, object] = {
        "viewer": None,
        "nav": None,
        "flash": "",
        "token": "",
        "preview": None,
        "problem": "",
        "done": "",
        "request_id": None,
        "errors": None,
        "words": "",
    }
    values.update(context)
    response = templates.TemplateResponse(request, "action_link.html", values, status_code=status)
    # The link's secret is in the address: no other site hears of it, and nothing keeps a copy.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _problem_page(request: Request, problem: Exception) -> Response:
    return _page(request, _status_of(problem), problem=_words_of(problem))


def _labels(action: LinkAction) -> dict[str, object]:
    heading, button, _ = HEADINGS[action]
    asked = ASKED.get(action)
    return {
        "heading": heading,
        "button": button,
        "asks": asked[0] if asked else "",
        "asks_hint": asked[1] if asked else "",
    }


@router.get(service.PATH + "/{token}")
async def show_action(request: Request, token: str) -> Response:
    """What the link will do, and a button to do it. Changes nothing."""
    try:
        claims = service.claims_of(settings(request), token, request.app.state.clock())
        shown = await run_in_unit_of_work(
            request, lambda session, now: service.preview(session, claims), write=False
        )
    except (LinkProblem, DomainError) as problem:
        return _problem_page(request, problem)
    return _page(request, token=token, preview=shown, **_labels(claims.action))


@router.post(service.PATH + "/{token}")
async def do_action(request: Request, token: str, form: PageForm) -> Response:
    """Do the link's action as its person, once."""
    words = form.get("words").strip()
    try:
        claims: LinkClaims = service.claims_of(settings(request), token, request.app.state.clock())
        if claims.action in ASKS_FOR_WORDS and not words:
            label = ASKED[claims.action][0].rstrip("?")
            errors = FormErrors("act", fields={"words": f"Say {label[0].lower()}{label[1:]}."})
            return await _asked_again(request, token, claims, errors)

        def work(session: Session, now: datetime) -> int:
            return service.act(session, claims, words, now)

        request_id = await run_in_unit_of_work(request, work, write=True)
    except InvalidInput as refused:
        if refused.field not in WORDS_FIELDS or claims.action not in ASKS_FOR_WORDS:
            return _problem_page(request, refused)
        # The words were refused (too long): the form again, with the message beside them and
        # the words kept. The unit of work rolled back, so the link is still unused.
        errors = errors_from_domain("act", refused, WORDS_FIELDS)
        return await _asked_again(request, token, claims, errors, words)
    except (LinkProblem, DomainError) as problem:
        return _problem_page(request, problem)
    return _page(request, done=HEADINGS[claims.action][2], request_id=request_id)


async def _asked_again(
    request: Request, token: str, claims: LinkClaims, errors: FormErrors, words: str = ""
) -> Response:
    """The link's form again, what was wrong beside the words (the link still unused)."""
    try:
        shown = await run_in_unit_of_work(
            request, lambda session, now: service.preview(session, claims), write=False
        )
    except (LinkProblem, DomainError) as problem:
        return _problem_page(request, problem)
    return _page(
        request,
        errors.status,
        token=token,
        preview=shown,
        errors=errors,
        words=words,
        **_labels(claims.action),
    )
