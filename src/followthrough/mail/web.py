"""The pages of mail out: a person's notification choices (from their profile) and the page
behind every message's unsubscribe link.

The unsubscribe link works without signing in: its signed token names one person and one kind
and can do nothing but turn that kind off, so the form needs no other anti-forgery token. Mail
clients that support one-click unsubscribe (RFC 8058) POST to the same address.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from followthrough.config import Settings
from followthrough.mail.compose import DIGEST, read_unsubscribe_token
from followthrough.mail.preferences import DELIVERY_LABELS, KIND_LABELS, Delivery, Preference
from followthrough.mail.preferences_form import preference_from
from followthrough.mail.preferences_service import preference_of, save_preference, turn_off
from followthrough.web.deps import UnitOfWorkRoute, run_in_unit_of_work
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage, templates

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

CHOICES_PATH = "/profile/notifications"


@dataclass(frozen=True)
class KindRow:
    kind: str
    label: str
    chosen: str


def _choices_page(
    page: Page,
    preference: Preference,
    errors: FormErrors | None = None,
    *,
    typed: dict[str, str] | None = None,
) -> Response:
    typed = typed or {}
    quiet = preference.quiet
    return page.render(
        "mail/choices.html",
        rows=[
            KindRow(kind, label, typed.get(f"kind:{kind}", preference.for_kind(kind).value))
            for kind, label in KIND_LABELS.items()
        ],
        deliveries=list(DELIVERY_LABELS.items()),
        quiet_on=typed.get("quiet", "on" if quiet else "") == "on",
        quiet_start=typed.get("quiet_start", quiet.start.strftime("%H:%M") if quiet else "22:00"),
        quiet_end=typed.get("quiet_end", quiet.end.strftime("%H:%M") if quiet else "07:00"),
        digest_at=typed.get("digest_at", preference.digest_at.strftime("%H:%M")),
        errors=errors,
        status=errors.status if errors else 200,
    )


@router.get(CHOICES_PATH)
def choices_page(page: ReadPage) -> Response:
    return _choices_page(page, preference_of(page.session, page.viewer.person_id))


@router.post(CHOICES_PATH)
def save_choices(page: ChangePage) -> Response:
    form = page.form
    quiet = form.get("quiet") == "on"
    kinds = {kind: form.get(f"kind:{kind}", Delivery.AT_ONCE.value) for kind in KIND_LABELS}
    person_id = page.viewer.person_id

    def save() -> None:
        chosen = preference_from(
            kinds,
            form.get("quiet_start") if quiet else None,
            form.get("quiet_end") if quiet else None,
            form.get("digest_at"),
        )
        save_preference(page.session, person_id, chosen)

    errors = page.attempt("choices", save)
    if errors:
        typed = {name: form.get(name) for name in ("quiet_start", "quiet_end", "digest_at")}
        typed["quiet"] = "on" if quiet else ""
        typed.update({f"kind:{kind}": value for kind, value in kinds.items()})
        return _choices_page(page, preference_of(page.session, person_id), errors, typed=typed)
    return page.redirect(CHOICES_PATH, "Saved. Mail now follows these choices.")


# ---- unsubscribe ----------------------------------------------------------------------------

UNSUBSCRIBE_PATH = "/mail/unsubscribe/{token}"


def _unsubscribe_page(
    request: Request, token: str, *, what: str | None, done: bool, status: int = 200
) -> Response:
    response = templates.TemplateResponse(
        request,
        "mail/unsubscribe.html",
        {"viewer": None, "nav": None, "flash": "", "token": token, "what": what, "done": done},
        status_code=status,
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _what(kind: str) -> str:
    return "your daily summaries" if kind == DIGEST else f"“{KIND_LABELS[kind]}”"


@router.get(UNSUBSCRIBE_PATH)
def unsubscribe_form(request: Request, token: str) -> Response:
    settings: Settings = request.app.state.settings
    found = read_unsubscribe_token(settings, token[:200])
    if found is None:
        return _unsubscribe_page(request, token, what=None, done=False, status=404)
    return _unsubscribe_page(request, token, what=_what(found[1]), done=False)


@router.post(UNSUBSCRIBE_PATH)
async def unsubscribe(request: Request, token: str) -> Response:
    """Turn the kind off (also the RFC 8058 one-click POST, body List-Unsubscribe=One-Click)."""
    settings: Settings = request.app.state.settings
    found = read_unsubscribe_token(settings, token[:200])
    if found is None:
        return _unsubscribe_page(request, token, what=None, done=False, status=404)
    person_id, kind = found
    await run_in_unit_of_work(
        request, lambda session, _now: turn_off(session, person_id, kind), write=True
    )
    return _unsubscribe_page(request, token, what=_what(kind), done=True)
