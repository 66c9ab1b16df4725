"""Job shadowing's pages: offer slots, book one, see and cancel your bookings, write and read
reflections. They only translate the form to shadowing_service, which holds the rules."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.config import Settings
from followthrough.errors import InvalidInput
from followthrough.fields import Id, form_id
from followthrough.programmes.shadowing_service import (
    MailPlaces,
    book_slot,
    cancel_booking,
    host_teams,
    my_bookings,
    my_slots,
    offer_slot,
    open_slots,
    shared_reflections,
    withdraw_slot,
    write_reflection,
)
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

HOME = "/shadowing"


def _places(page: Page) -> MailPlaces:
    settings: Settings = page.request.app.state.settings
    return MailPlaces(settings.mail_domain, settings.public_url)


def _home(page: Page, errors: FormErrors | None = None) -> Response:
    person = page.viewer.person_id
    return page.render(
        "programmes/shadowing.html",
        open_slots=open_slots(page.session, person, page.now),
        teams=host_teams(page.session, person),
        slots=my_slots(page.session, person, page.now),
        bookings=my_bookings(page.session, person),
        errors=errors,
        status=errors.status if errors else 200,
    )


@router.get(HOME)
def shadowing_page(page: ReadPage) -> Response:
    return _home(page)


@router.post(f"{HOME}/slots")
def offer(page: ChangePage) -> Response:
    def save() -> None:
        team = form_id(page.form.get("team"))
        if team is None:
            raise InvalidInput("choose your team", field="team")
        starts_at = page.typed_instant("starts_at", "Start")
        ends_at = page.typed_instant("ends_at", "End")
        offer_slot(page.session, page.viewer.person_id, team, starts_at, ends_at, page.now)

    errors = page.attempt("offer", save)
    if errors:
        return _home(page, errors)
    return page.redirect(HOME, "Your slot is offered to people from other departments.")


# The slot or booking is the button pressed, not a field: a refusal naming it tops its form.
_NOT_A_FIELD = {"slot": "", "booking": ""}


@router.post(f"{HOME}/slots/{{slot_id}}/book")
def book(slot_id: Id, page: ChangePage) -> Response:
    errors = page.attempt(
        "book",
        lambda: book_slot(page.session, page.viewer.person_id, slot_id, _places(page), page.now),
        _NOT_A_FIELD,
    )
    if errors:
        return _home(page, errors)
    return page.redirect(HOME, "Booked: you and your host are sent a calendar invitation by mail.")


@router.post(f"{HOME}/slots/{{slot_id}}/withdraw")
def withdraw(slot_id: Id, page: ChangePage) -> Response:
    errors = page.attempt(
        "withdraw",
        lambda: withdraw_slot(page.session, page.viewer.person_id, slot_id, page.now),
        _NOT_A_FIELD,
    )
    if errors:
        return _home(page, errors)
    return page.redirect(HOME, "Your slot is withdrawn.")


@router.post(f"{HOME}/bookings/{{booking_id}}/cancel")
def cancel(booking_id: Id, page: ChangePage) -> Response:
    errors = page.attempt(
        "cancel",
        lambda: cancel_booking(
            page.session, page.viewer.person_id, booking_id, _places(page), page.now
        ),
        _NOT_A_FIELD,
    )
    if errors:
        return _home(page, errors)
    return page.redirect(HOME, "Cancelled: both of you are sent the cancellation by mail.")


@router.post(f"{HOME}/bookings/{{booking_id}}/reflection")
def reflect(booking_id: Id, page: ChangePage) -> Response:
    errors = page.attempt(
        "reflection",
        lambda: write_reflection(
            page.session,
            page.viewer.person_id,
            booking_id,
            page.form.get("reflection"),
            page.now,
        ),
    )
    if errors:
        return _home(page, errors)
    return page.redirect(f"{HOME}/reflections", "Thank you: both teams can read what you wrote.")


@router.get(f"{HOME}/reflections")
def reflections_page(page: ReadPage) -> Response:
    return page.render(
        "programmes/shadowing_reflections.html",
        reflections=shared_reflections(page.session, page.viewer.person_id),
    )
