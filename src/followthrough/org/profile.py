"""A person's own settings: the time zone and locale their times are shown and read in.

These are the person's preferences, not work on the desk, so no history event is written (as
for a new API token); the unit of work commits them like any other change.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from followthrough.errors import InvalidInput
from followthrough.org.local_time import locale_named, zone_named
from followthrough.org.models import Person


def choose_clock(session: Session, person: Person, timezone: str, locale: str) -> Person:
    """Store the zone and locale a person chose; an unknown name is refused, naming the field."""
    zone = zone_named(timezone)
    if zone is None:
        raise InvalidInput("choose a time zone from the list", field="timezone")
    chosen_locale = locale_named(locale)
    if chosen_locale is None:
        raise InvalidInput("choose a language and region from the list", field="locale")
    person.timezone = zone.key
    person.locale = str(chosen_locale)
    session.flush()
    return person


def remember_guessed_clock(session: Session, person: Person, timezone: str, locale: str) -> Person:
    """Keep the browser's guess of a person's zone and locale where they have none yet. A guess
    the desk cannot use is dropped rather than refused: the person did not type it."""
    zone = zone_named(timezone)
    guessed_locale = locale_named(locale)
    if person.timezone is None and zone is not None:
        person.timezone = zone.key
    if person.locale is None and guessed_locale is not None:
        person.locale = str(guessed_locale)
    session.flush()
    return person
