"""The page shell shared by every server-rendered page: who is signed in, CSRF, rendering,
form errors and POST-redirect-GET.

Pages sign in with the same web session as the API (cookie `ft_session`) and check the same
CSRF token, sent as a hidden form field (or the X-CSRF-Token header for scripted requests).
Authorisation is not here: routes call the same service and query functions as the API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from followthrough.auth.service import web_session_for
from followthrough.errors import DomainError, InvalidInput, NotAllowed, VersionConflict
from followthrough.fields import form_instant, same_secret
from followthrough.notify.service import unread_count
from followthrough.org.actors import Actor
from followthrough.org.local_time import (
    DEFAULT_CLOCK,
    Clock,
    TypedTime,
    clock_for,
    end_of_today,
    input_value,
    local_date,
    localise_text,
    offset_text,
    read_typed_time,
    show_day,
    show_instant,
    zone_abbreviation,
    zone_place,
)
from followthrough.org.models import Person
from followthrough.org.service import actor_for
from followthrough.requests.board import nav_counts
from followthrough.web.deps import CSRF_HEADER, SESSION_COOKIE, DbSession, Now, in_work
from followthrough.web.problems import what_is_wrong
from followthrough.web.security import BODY_LIMIT

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
FLASH_COOKIE = "ft_flash"
CSRF_FIELD = "csrf_token"

Model = TypeVar("Model", bound=BaseModel)
R = TypeVar("R", bound=Response)


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in person; answered with a redirect to sign in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, their authorisation facts and their session's CSRF token."""

    person_id: int
    name: str
    handle: str
    actor: Actor
    csrf_token: str
    # The person's own zone and locale: every time on their pages is shown and read in it.
    clock: Clock = DEFAULT_CLOCK

    @property
    def is_admin(self) -> bool:
        return self.actor.is_admin

    @property
    def leads(self) -> bool:
        return bool(self.actor.lead_of) or self.actor.is_admin


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go to after a form, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def _viewer_from_cookie(request: Request, session: Session, at: datetime) -> Viewer | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    row = web_session_for(session, cookie, at)
    if row is None:
        return None
    person = session.get(Person, row.person_id)
    if person is None or not person.active:
        return None
    viewer = Viewer(
        person_id=person.id,
        name=person.name,
        handle=person.handle,
        actor=actor_for(session, person),
        csrf_token=row.csrf_token,
        clock=clock_for(person),
    )
    # Kept for the error page, which is drawn after the unit of work ended: a page that answers
    # "not found" or "not allowed" still shows the navigation to go on from.
    request.state.viewer = viewer
    return viewer


def optional_viewer(request: Request, session: DbSession, at: Now) -> Viewer | None:
    return _viewer_from_cookie(request, session, at)


def _back_after_sign_in(request: Request) -> str:
    """Where signing in leads back to: the page asked for; for a part of a page (htmx: a search
    as one types, a filter) the page it is part of; for a form sent once the session had ended,
    the page of this site it was sent from (the form's own address answers only its POST);
    else Home."""
    part_of_page = request.headers.get("hx-request") and not request.headers.get("hx-boosted")
    if request.method in ("GET", "HEAD") and not part_of_page:
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    page = request.headers.get("hx-current-url" if part_of_page else "referer", "")
    sent_from = urlsplit(page)
    if sent_from.netloc != request.url.netloc:
        return "/"
    return safe_next(sent_from.path + (f"?{sent_from.query}" if sent_from.query else ""))


def page_viewer(request: Request, session: DbSession, at: Now) -> Viewer:
    viewer = _viewer_from_cookie(request, session, at)
    if viewer is None:
        raise SignInRequired(_back_after_sign_in(request))
    return viewer


class FormFields:
    """The submitted form: single values trimmed of nothing, lists for repeated names."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.items:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.items if key == name]

    def replaced(self, values: Mapping[str, str]) -> FormFields:
        """The same form with some values set (e.g. a date read as UTC)."""
        kept = [(key, value) for key, value in self.items if key not in values]
        return FormFields(kept + list(values.items()))

    def as_dict(self) -> dict[str, str]:
        return dict(self.items)


async def read_form(request: Request) -> FormFields:
    if request.method in ("GET", "HEAD"):
        return FormFields(list(request.query_params.multi_items()))
    # No page form takes a file (an attachment is read by attachments.upload, within its limit):
    # a file part is refused as it starts (400), before any of it is read, where Starlette would
    # spool it to disk whatever its size, even for a sign-in by nobody.
    # A field as long as the body may be (BODY_LIMIT) is read whole and judged by the field's
    # own rule, which names it; Starlette's own limit (1 MB a part) answered a 400 naming none.
    try:
        form = await request.form(max_files=0, max_part_size=BODY_LIMIT)
    except StarletteHTTPException as exc:
        # Too many fields, a file part, a part without a name: the body as a whole is wrong.
        raise DomainError(f"the form could not be read: {exc.detail}", field="body") from None
    items = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    await form.close()
    for key, value in items:
        # PostgreSQL cannot store it, and no person types it: refused for every form at once,
        # naming the field (the page that says so is not the form's own).
        if "\x00" in value:
            raise InvalidInput(
                f"{named(page_label('', key[:60]))} must not contain a NUL (\\x00) character",
                field=key,
            )
    return FormFields(items)


PageForm = Annotated[FormFields, Depends(read_form)]


def checked_viewer(
    request: Request, form: PageForm, viewer: Annotated[Viewer, Depends(page_viewer)]
) -> Viewer:
    """The viewer, after checking the form carries their session's CSRF token."""
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
    if not sent or not same_secret(sent, viewer.csrf_token):
        raise NotAllowed(
            "this form has expired or did not come from Followthrough; reload the page and try again",
            field=CSRF_FIELD,
        )
    return viewer


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one field. `about_field`: the text is said after the field's label
    ("must not be empty"); otherwise it is a whole sentence of its own ("Choose a team or a
    person to offer it to.")."""

    text: str
    about_field: bool = True


@dataclass
class FormErrors:
    """What went wrong with one form: messages per field and one for the whole form.

    `fields` holds each message with the field's label from PAGE_LABELS; a template that draws
    the label itself asks `get(name, label)` and the message names the field with exactly the
    words beside it."""

    form: str
    fields: dict[str, str] = field(default_factory=dict)
    message: str = ""
    status: int = 422
    problems: dict[str, FieldProblem] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, problem in self.problems.items():
            self.fields.setdefault(name, self._said(name, problem, ""))

    def __bool__(self) -> bool:
        return bool(self.fields or self.message)

    def _said(self, name: str, problem: FieldProblem, label: str) -> str:
        if not problem.about_field:
            return sentence(problem.text)
        return sentence(f"{named(label or page_label(self.form, name))} {problem.text}")

    def get(self, name: str, label: str = "") -> str:
        problem = self.problems.get(name)
        if problem is None or not label:
            return self.fields.get(name, "")
        return self._said(name, problem, label)


# What each form field is called on its page, for the templates that draw a field without the
# `field` macro (which passes its own label). Keyed by the form field's name, or "form:name"
# where one form calls it something else.
PAGE_LABELS = {
    "service_id": "Service",
    "priority": "Priority",
    "target": "Offer it to",
    "reason": "Reason",
    "pause:reason": "Waiting on",
    "file": "File",
    "timezone": "Time zone",
    "locale": "Dates in",
    "working_days": "Working days",
    "lead_id": "Lead",
    "duty_owner_id": "Duty owner",
    "person_id": "Person",
    "department_id": "Department",
    "team_id": "Team",
    "scenario": "Scenario",
    "teams": "Teams",
    "understand": "Understand",
    "own": "Own",
    "serve": "Serve",
    "communicate": "Communicate",
    "budget": "Budget",
    "version": "The page",
    "period:start": "From",
    "period:end": "Until",
}
# Fields no person sees: their problem is the whole form's.
_HIDDEN_FIELDS = frozenset({"state", "request_id", "version", CSRF_FIELD})


def page_label(form: str, name: str) -> str:
    """The field's label on its page (PAGE_LABELS), or its name in words."""
    known = PAGE_LABELS.get(f"{form}:{name}") or PAGE_LABELS.get(name)
    if known:
        return known
    words = name.rsplit(".", 1)[-1].removesuffix("_id").replace("_", " ")
    return words[:1].upper() + words[1:]


def named(label: str) -> str:
    """A label as a message names it: quoted, without its hint in brackets or a colon
    ("By when? (India time)" -> "“By when?”")."""
    bare = label.split(" (", 1)[0].strip().rstrip(":").strip()
    return f"\u201c{bare or label}\u201d"


def sentence(text: str) -> str:
    """Capitalised and ending with a full stop (or the question or exclamation mark it has)."""
    text = text.strip()
    if not text:
        return text
    if text[0].isalpha():
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!", "\u201d.")) else f"{text}."


CHECK_FIELDS = "Please check the highlighted fields."


def errors_from_validation(
    form: str, exc: ValidationError, rename: Mapping[str, str]
) -> FormErrors:
    """The form's fields named as the page labels them, each with what is wrong with it in the
    same words the API uses (web.problems.what_is_wrong)."""
    problems: dict[str, FieldProblem] = {}
    hidden: list[str] = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error.get("loc", ()))
        name = rename.get(loc, loc)
        if name in _HIDDEN_FIELDS:
            hidden.append("The page is out of date; reload it and try again.")
            continue
        problems.setdefault(name, FieldProblem(what_is_wrong(error, choices_shown=True)))
    message = hidden[0] if hidden and not problems else CHECK_FIELDS if problems else ""
    return FormErrors(form=form, message=message, problems=problems)


def errors_from_domain(form: str, exc: DomainError, rename: Mapping[str, str]) -> FormErrors:
    """The domain's refusal beside the field it names, the field's API name ("due_at must be in
    the future") replaced by its label; a refusal about no shown field tops the form."""
    if isinstance(exc, VersionConflict):
        return FormErrors(
            form=form,
            message="Someone changed this request while you were looking at it. "
            "This is the latest; please check and try again.",
            status=409,
        )
    api_name = exc.field or ""
    name = rename.get(api_name, api_name)
    detail = exc.detail.strip()
    about = next(
        (
            detail[len(said) + 1 :]
            for said in (api_name, name)
            if said and detail.startswith(f"{said} ")
        ),
        None,
    )
    if name and name not in _HIDDEN_FIELDS:
        problem = FieldProblem(about) if about else FieldProblem(detail, about_field=False)
        return FormErrors(form=form, problems={name: problem}, status=exc.status)
    if about:
        detail = f"{named(page_label(form, name))} {about}"
    return FormErrors(form=form, message=sentence(detail), status=exc.status)


def model_from_form(
    model: type[Model], form: FormFields, names: Mapping[str, str] | None = None
) -> Model:
    """Build an API input model from form fields; blank optional fields take their default."""
    names = names or {}
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        raw = form.get(names.get(name, name))
        if raw.strip() == "":
            if info.is_required():
                values[name] = raw
            continue
        values[name] = raw
    return model.model_validate(values)


class Page:
    """Everything a page route needs: the request, its unit of work, the viewer and the time."""

    def __init__(
        self, request: Request, session: Session, viewer: Viewer, now: datetime, form: FormFields
    ) -> None:
        self.request = request
        self.session = session
        self.viewer = viewer
        self.now = now
        self.form = form
        self.typed_notes: list[str] = []

    @property
    def actor(self) -> Actor:
        return self.viewer.actor

    @property
    def today_ends(self) -> datetime:
        """The end of the viewer's today on their own clock: what is due today is due before."""
        return end_of_today(self.now, self.viewer.clock)

    def typed_time(self, name: str, label: str, *, end_of_day: bool = False) -> str:
        """A date or datetime-local field read on the viewer's clock, as ISO 8601 text with an
        offset for the input model; text already carrying an offset, or no time at all, is
        left for the model. A time skipped by the clocks going forward raises InvalidInput
        naming the field (so call this inside `attempt`); how a time that happened twice was
        read is kept in `typed_notes`, for the confirmation."""
        typed = read_typed_time(
            self.form.get(name),
            self.viewer.clock,
            field=name,
            label=label,
            time_of_day=END_OF_DAY if end_of_day else START_OF_DAY,
        )
        if not isinstance(typed, TypedTime):
            return typed
        if typed.note:
            self.typed_notes.append(typed.note)
        return typed.instant.isoformat()

    def typed_instant(self, name: str, label: str) -> datetime:
        """A date-time field as an instant: typed on the viewer's clock (`typed_time`) or with
        its own offset, within the years the desk plans in (`fields.form_instant`); otherwise
        InvalidInput naming the field ("give the start as a date and time")."""
        words = f"the {label.lower()}"
        try:
            value = datetime.fromisoformat(self.typed_time(name, label))
        except ValueError:
            raise InvalidInput(f"give {words} as a date and time", field=name) from None
        return form_instant(value, name, words)

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        flash = unquote(self.request.cookies.get(FLASH_COOKIE, ""))
        response = templates.TemplateResponse(
            self.request,
            template,
            {
                "viewer": self.viewer,
                "csrf_token": self.viewer.csrf_token,
                "now": self.now,
                "nav": nav_counts(self.session, self.actor, self.now, self.today_ends),
                # The header's Notifications badge: every unread notification, the same count
                # as the history's "Unread" tab.
                "inbox_unread": unread_count(self.session, self.viewer.person_id),
                "flash": flash[:300],
                "form": self.form,
                **context,
            },
            status_code=status,
        )
        if flash:
            response.delete_cookie(FLASH_COOKIE)
        return response

    def redirect(self, url: str, flash: str = "") -> RedirectResponse:
        """POST-redirect-GET, with a one-time message for the next page."""
        return self._flashed(RedirectResponse(url, status_code=303), flash)

    def load_page(self, url: str, flash: str = "") -> Response:
        """The answer to a polled fragment that asks the browser (htmx) to load `url` as a
        whole page, with a one-time message for it."""
        return self._flashed(Response(status_code=200, headers={"HX-Redirect": url}), flash)

    def _flashed(self, response: R, flash: str) -> R:
        # How an ambiguous typed time was read belongs with the confirmation (typed_time).
        flash = " ".join([flash, *self.typed_notes]).strip()
        if flash:
            response.set_cookie(
                FLASH_COOKIE, quote(flash[:300]), max_age=60, httponly=True, samesite="lax"
            )
        return response

    def attempt(
        self, form: str, action: Callable[[], object], rename: Mapping[str, str] | None = None
    ) -> FormErrors | None:
        """Run a change; on a domain or validation error roll it back and say what went wrong."""
        rename = rename or {}
        try:
            action()
            self.session.flush()
        except ValidationError as exc:
            self.session.rollback()
            return errors_from_validation(form, exc, rename)
        except DomainError as exc:
            self.session.rollback()
            return errors_from_domain(form, exc, rename)
        except StaleDataError:
            self.session.rollback()
            return errors_from_domain(form, VersionConflict("changed", field="version"), rename)
        return None


def page(
    request: Request,
    session: DbSession,
    at: Now,
    form: PageForm,
    viewer: Annotated[Viewer, Depends(page_viewer)],
) -> Page:
    return Page(request, session, viewer, at, form)


def change_page(
    request: Request,
    session: DbSession,
    at: Now,
    form: PageForm,
    viewer: Annotated[Viewer, Depends(checked_viewer)],
) -> Page:
    return Page(request, session, viewer, at, form)


# Computed inside the endpoint's unit of work (web.deps.UnitOfWorkRoute), on its worker thread;
# the form body is read first, on the event loop.
in_work(page_viewer, lambda work: page_viewer(work.request, work.session, work.now))
in_work(optional_viewer, lambda work: optional_viewer(work.request, work.session, work.now))
in_work(
    checked_viewer,
    lambda work: checked_viewer(work.request, work.prepared[checked_viewer], work.get(page_viewer)),
    prepare=read_form,
)
in_work(
    page,
    lambda work: Page(
        work.request, work.session, work.get(page_viewer), work.now, work.prepared[page]
    ),
    prepare=read_form,
)
in_work(
    change_page,
    lambda work: Page(
        work.request,
        work.session,
        work.get(checked_viewer),
        work.now,
        work.prepared[change_page],
    ),
    prepare=read_form,
)


def change_page_in(request: Request, session: Session, at: datetime, form: FormFields) -> Page:
    """The ChangePage of one step of an async page route (each step its own unit of work,
    `web.deps.run_in_unit_of_work`): signed in, CSRF checked."""
    viewer = checked_viewer(request, form, page_viewer(request, session, at))
    return Page(request, session, viewer, at, form)


ReadPage = Annotated[Page, Depends(page)]
ChangePage = Annotated[Page, Depends(change_page)]
OptionalViewer = Annotated[Viewer | None, Depends(optional_viewer)]


# ---- template filters -------------------------------------------------------------------------
# Times are shown on the viewer's clock (their zone and locale, Viewer.clock), read from the
# template's context; a page with nobody signed in shows UTC. A macro that shows a time must be
# imported `with context` to see the viewer.

# What a typed date alone means: a wanted-by date is the end of that working day, on the
# viewer's clock (as it was in UTC before each person had a zone).
END_OF_DAY = time(17, 0)
START_OF_DAY = time(0, 0)


def _as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def clock_in(context: Context) -> Clock:
    """The clock of the page's viewer, or UTC for a page without one."""
    viewer = context.get("viewer")
    return viewer.clock if isinstance(viewer, Viewer) else DEFAULT_CLOCK


@pass_context
def _input_time(context: Context, value: datetime | None, *, whole_hour: bool = False) -> str:
    """A datetime-local input's value on the viewer's clock."""
    return input_value(value, clock_in(context), whole_hour=whole_hour)


@pass_context
def _input_date(context: Context, value: datetime) -> str:
    """A date input's value: the day the instant falls on, on the viewer's clock."""
    return local_date(value, clock_in(context)).isoformat()


@pass_context
def _zone_place(context: Context) -> str:
    """The viewer's zone as a person names it ("Kolkata"), for labels: "By when? (Kolkata time)"."""
    return zone_place(clock_in(context))


@pass_context
def _zone_hint(context: Context, at: datetime) -> str:
    """Which zone a typed time is read in, and where to change it."""
    clock = clock_in(context)
    return (
        f"Read in your time zone, {clock.zone_name} "
        f"(now {zone_abbreviation(at, clock)}{_offset_aside(at, clock)}). "
        "You can change it on your profile."
    )


def _offset_aside(at: datetime, clock: Clock) -> str:
    abbreviation, offset = zone_abbreviation(at, clock), offset_text(at, clock)
    return "" if abbreviation == offset else f", {offset}"


def when(value: datetime | None, clock: Clock = DEFAULT_CLOCK) -> str:
    """'Tue 1 Dec, 14:30 IST': day and time on the clock given, naming its zone."""
    if value is None:
        return "—"
    return show_instant(value, clock)


def day(value: datetime, clock: Clock = DEFAULT_CLOCK) -> str:
    """'1 Dec': the day on the clock given."""
    return show_day(value, clock)


@pass_context
def _when_filter(context: Context, value: datetime | None) -> str:
    return when(value, clock_in(context))


@pass_context
def _day_filter(context: Context, value: datetime) -> str:
    return day(value, clock_in(context))


@pass_context
def _local_times_filter(context: Context, text: str, written_at: datetime | None = None) -> str:
    """A stored text (a notification) with the UTC times in it on the viewer's clock."""
    return localise_text(text, clock_in(context), written_at)


def span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return "1 min" if seconds >= 30 else "now"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours = seconds / 3600
    if hours < 36:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} d"


def relative(value: datetime | None, now: datetime) -> str:
    """'in 3 h' or '2 d ago'."""
    if value is None:
        return ""
    delta = (_as_utc(value) - now).total_seconds()
    text = span(delta)
    if text == "now":
        return "now"
    return f"in {text}" if delta > 0 else f"{text} ago"


def time_tag(
    value: datetime | None,
    now: datetime,
    *,
    show_relative: bool = True,
    clock: Clock = DEFAULT_CLOCK,
) -> Markup:
    """A <time> whose datetime attribute is the UTC instant and whose text is on the clock."""
    if value is None:
        return Markup("<span class='muted'>—</span>")
    iso = _as_utc(value).isoformat()
    rel = relative(value, now)
    overdue = show_relative and _as_utc(value) <= now
    cls = " class='late'" if overdue else ""
    suffix = f" <span class='rel'>({rel})</span>" if show_relative and rel else ""
    return Markup("<time datetime='{}'{}>{}</time>{}").format(
        iso, Markup(cls), when(value, clock), Markup(suffix)
    )


@pass_context
def _time_tag_global(
    context: Context, value: datetime | None, now: datetime, *, show_relative: bool = True
) -> Markup:
    return time_tag(value, now, show_relative=show_relative, clock=clock_in(context))


def hours(value: float) -> str:
    if value == int(value):
        return f"{int(value)} h"
    return f"{value:.1f} h"


def label(value: str | None) -> str:
    return "" if value is None else value.replace("_", " ")


# What a paused request waits on, after "waiting on". A question to the requester is its own
# state ("needs clarification"), so its wait says nothing more.
_WAITING_ON = {
    "requester": "the requester",
    "sub_request": "a sub-request",
    "outside": "someone outside",
}


def state_words(state: str | None, waiting_on: str | None = None) -> str:
    """A request's state as its badge says it: "in progress", "waiting on the requester"."""
    words = label(state)
    if state == "waiting" and waiting_on in _WAITING_ON:
        return f"waiting on {_WAITING_ON[waiting_on]}"
    return words


def percent(part: int, whole: int) -> str:
    return "—" if whole == 0 else f"{round(100 * part / whole)}%"


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters.update(
    when=_when_filter,
    hours=hours,
    label=label,
    state_words=state_words,
    day=_day_filter,
    local_times=_local_times_filter,
)
templates.env.globals.update(
    relative=relative,
    time_tag=_time_tag_global,
    input_time=_input_time,
    input_date=_input_date,
    zone_place=_zone_place,
    zone_hint=_zone_hint,
    percent=percent,
    timedelta=timedelta,
    CSRF_FIELD=CSRF_FIELD,
)


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """A plain page for errors on pages (the API answers with problem documents instead), with
    the navigation when the person was known before the error (no counts: the unit of work
    has ended)."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "viewer": viewer,
            "csrf_token": "" if viewer is None else viewer.csrf_token,
            "nav": None,
            "flash": "",
            "status": status,
            "title": title,
            "detail": detail,
        },
        status_code=status,
    )
