"""The profile page: the signed-in person's own time zone and locale."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.org.local_time import (
    OFFERED_LOCALES,
    clock_for,
    locale_named,
    show_instant,
    zone_choices,
    zone_place,
)
from followthrough.org.profile import choose_clock
from followthrough.org.service import get_person
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@dataclass(frozen=True)
class Choice:
    value: str
    text: str


def zone_groups(current: str) -> list[tuple[str, list[Choice]]]:
    """The zones to choose from, and the person's own if it is not one of them, grouped by
    region ("Asia", "America") as the list's headings."""
    groups: dict[str, list[Choice]] = defaultdict(list)
    for name in sorted({*zone_choices(), current}):
        region, _, place = name.partition("/")
        groups[region if place else "Other"].append(
            Choice(name, place.replace("_", " ").replace("/", " / ") or name)
        )
    return sorted(groups.items())


def locale_choices(current: str) -> list[Choice]:
    """The offered locales, each named in its own language, and the person's own if not offered."""
    names = list(OFFERED_LOCALES)
    if current not in names:
        names.insert(0, current)
    choices = []
    for name in names:
        locale = locale_named(name)
        if locale is not None:
            choices.append(Choice(name, f"{locale.get_display_name(locale)} ({name})"))
    return choices


def _profile(page: Page, errors: FormErrors | None = None) -> Response:
    person = get_person(page.session, page.viewer.person_id)
    clock = clock_for(person)
    failed = errors is not None and errors.form == "profile"
    return page.render(
        "profile.html",
        person=person,
        chosen_zone=page.form.get("timezone") if failed else clock.zone_name,
        chosen_locale=page.form.get("locale") if failed else clock.locale_name,
        zone_groups=zone_groups(clock.zone_name),
        locales=locale_choices(clock.locale_name),
        guessed=person.timezone is None,
        errors=errors,
        status=errors.status if errors else 200,
    )


@router.get("/profile")
def profile_page(page: ReadPage) -> Response:
    return _profile(page)


@router.post("/profile")
def save_profile(page: ChangePage) -> Response:
    person = get_person(page.session, page.viewer.person_id)
    errors = page.attempt(
        "profile",
        lambda: choose_clock(
            page.session, person, page.form.get("timezone"), page.form.get("locale")
        ),
    )
    if errors:
        return _profile(page, errors)
    clock = clock_for(person)
    return page.redirect(
        "/profile",
        f"Saved. Times are now shown in {zone_place(clock)} time: "
        f"{show_instant(page.now, clock)} now.",
    )
