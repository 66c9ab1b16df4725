"""Lunch and learn's page: the sessions, topics suggested from the silo map, proposing one,
taking a place, and afterwards attendance, feedback and the notes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.config import Settings
from followthrough.errors import InvalidInput
from followthrough.fields import Id, form_id, form_whole
from followthrough.programmes import lunch
from followthrough.web.deps import UnitOfWorkRoute, settings
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

HOME = "/lunch-and-learn"


def _home(page: Page, errors: FormErrors | None = None) -> Response:
    viewer = page.viewer
    minimum = settings(page.request).insight_minimum_group_size
    return page.render(
        "programmes/lunch.html",
        lunches=lunch.sessions(page.session, viewer.person_id, viewer.is_admin, minimum),
        minimum_ratings=minimum,
        topics=lunch.topics(page.session, page.now),
        teams=lunch.teams(page.session),
        errors=errors,
        status=errors.status if errors else 200,
    )


@router.get(HOME)
def lunch_page(page: ReadPage) -> Response:
    return _home(page)


def _number(page: Page, name: str, words: str) -> int:
    number = form_whole(page.form.get(name))
    if number is None:
        raise InvalidInput(f"give {words} as a whole number", field=name)
    return number


@router.post(HOME)
def propose(page: ChangePage) -> Response:
    def save() -> None:
        team = form_id(page.form.get("team"))
        if team is None:
            raise InvalidInput("choose the team that presents", field="team")
        lunch.propose(
            page.session,
            page.viewer.person_id,
            title=page.form.get("title"),
            team_id=team,
            starts_at=page.typed_instant("starts_at", "Start"),
            minutes=_number(page, "minutes", "the length in minutes"),
            place=page.form.get("place"),
            capacity=_number(page, "capacity", "the number of places"),
            now=page.now,
        )

    errors = page.attempt("propose", save)
    if errors:
        return _home(page, errors)
    return page.redirect(HOME, "Your session is on the list: people can take a place now.")


@router.post(f"{HOME}/{{lunch_id}}/sign-up")
def sign_up(lunch_id: Id, page: ChangePage) -> Response:
    settings: Settings = page.request.app.state.settings
    errors = page.attempt(
        "sign-up",
        lambda: lunch.sign_up(
            page.session,
            lunch_id,
            page.viewer.person_id,
            mail_domain=settings.mail_domain,
            now=page.now,
        ),
    )
    if errors:
        return _home(page, errors)
    return page.redirect(HOME, "You have a place: the calendar invitation is on its way.")


@router.post(f"{HOME}/{{lunch_id}}/attendance")
def attendance(lunch_id: Id, page: ChangePage) -> Response:
    def save() -> None:
        came = {n for n in map(form_id, page.form.getlist("came")) if n is not None}
        lunch.record_attendance(page.session, lunch_id, page.viewer.person_id, came, page.now)

    errors = page.attempt("attendance", save)
    if errors:
        return _home(page, errors)
    return page.redirect(HOME, "Attendance is recorded.")


@router.post(f"{HOME}/{{lunch_id}}/feedback")
def feedback(lunch_id: Id, page: ChangePage) -> Response:
    def save() -> None:
        rating = form_whole(page.form.get("rating"))
        if rating is None:
            raise InvalidInput("rate it from 1 to 5", field="rating")
        lunch.give_feedback(
            page.session,
            lunch_id,
            page.viewer.person_id,
            rating,
            page.form.get("feedback"),
            page.now,
        )

    errors = page.attempt("feedback", save)
    if errors:
        return _home(page, errors)
    return page.redirect(HOME, "Thank you for your feedback.")


@router.post(f"{HOME}/{{lunch_id}}/notes")
def notes(lunch_id: Id, page: ChangePage) -> Response:
    errors = page.attempt(
        "notes",
        lambda: lunch.link_notes(
            page.session, lunch_id, page.viewer.person_id, page.form.get("notes_link")
        ),
    )
    if errors:
        return _home(page, errors)
    return page.redirect(HOME, "The notes are linked.")
