"""Each person's own clock: the time zone and locale times are shown in, and typed times read in.

Instants are stored in UTC everywhere; this module only turns them into text for one person and
turns a wall-clock time a person typed (a date or datetime-local input, which carries no zone)
back into an instant. Pure: no database, no clock. Business hours are not here — they are each
team's (org.rules calendars), whatever zone the person looking at them is in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel.dates import (
    DateTimePattern,
    get_timezone_location,
    match_skeleton,
    parse_pattern,
)

from followthrough.errors import InvalidInput
from followthrough.fields import EARLIEST, LATEST

DEFAULT_ZONE = "UTC"
# Day before month and a 24-hour clock: how the desk showed every time before people chose.
DEFAULT_LOCALE = "en_GB"

# The locales offered on the profile page, each shown in its own language. Any other locale
# Babel knows is kept too (a browser may send one); these are the ones worth a menu entry.
OFFERED_LOCALES = (
    "en_GB",
    "en_US",
    "en_IN",
    "en_AU",
    "en_CA",
    "en_IE",
    "en_ZA",
    "de_DE",
    "de_CH",
    "fr_FR",
    "fr_CA",
    "es_ES",
    "es_MX",
    "it_IT",
    "nl_NL",
    "pt_PT",
    "pt_BR",
    "sv_SE",
    "da_DK",
    "nb_NO",
    "fi_FI",
    "pl_PL",
    "hi_IN",
    "ja_JP",
    "zh_CN",
)

_NUMERIC_ABBREVIATION = re.compile(r"^[+-]\d{2}(\d{2})?$")
_DATE_ONLY = re.compile(r"^(\d{4}-\d{2}-\d{2})$")
_LOCAL_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(:\d{2})?)$")


class HasClock(Protocol):
    """Anything that carries a person's stored zone and locale names (a Person row)."""

    @property
    def timezone(self) -> str | None: ...

    @property
    def locale(self) -> str | None: ...


@dataclass(frozen=True)
class Clock:
    """How one person reads time: their zone and their locale (both valid, defaults applied)."""

    zone: ZoneInfo
    locale: Locale

    @property
    def zone_name(self) -> str:
        return self.zone.key

    @property
    def locale_name(self) -> str:
        return str(self.locale)


def zone_named(name: str | None) -> ZoneInfo | None:
    """The IANA zone of that name, under its current name ("Asia/Calcutta", which Chromium
    still reports, is Asia/Kolkata), or None when the name is empty or no zone has it."""
    name = (name or "").strip()
    if not name or len(name) > 64 or name not in _zone_names():
        return None
    try:
        return ZoneInfo(current_zone_name(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def current_zone_name(name: str) -> str:
    """The name the time zone database lists a zone under today. An old name kept only as a
    link (Asia/Calcutta, US/Eastern, Europe/Kiev) becomes the zone it links to; a name still
    listed for its country (Europe/Oslo, though it links to Europe/Berlin) stays."""
    if name == "UTC" or name in _listed_zone_names():
        return name
    current = _zone_links().get(name, name)
    # UTC is listed under its short name, as people write it (Etc/UTC, Zulu and UCT are it too).
    return "UTC" if current == "Etc/UTC" else current


@lru_cache(maxsize=1)
def _listed_zone_names() -> frozenset[str]:
    """The zones zone.tab lists, one or more per country: the names a person recognises."""
    listed = (_tzdata_text("zone.tab") or "").splitlines()
    names = (line.split("\t")[2] for line in listed if line and not line.startswith("#"))
    return frozenset(name for name in names if name in _zone_names())


@lru_cache(maxsize=1)
def _zone_links() -> dict[str, str]:
    """Old name -> current name, from the time zone database's link lines ("L Asia/Kolkata
    Asia/Calcutta")."""
    links = {}
    for line in (_tzdata_text("tzdata.zi") or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    return links


def _tzdata_text(name: str) -> str | None:
    # The tzdata package (a dependency) ships the database's text files beside its zones.
    try:
        return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def locale_named(name: str | None) -> Locale | None:
    """The CLDR locale of that name ("en-GB" and "en_GB" alike), or None when Babel has none."""
    name = (name or "").strip().replace("-", "_")
    if not name or len(name) > 35:
        return None
    return _locale(name)


@lru_cache(maxsize=256)
def _locale(name: str) -> Locale | None:
    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError, TypeError):
        return None


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_choices() -> list[str]:
    """The zones a person may choose from, in name order (the profile page's list): one or more
    per country, as the time zone database lists them, and UTC."""
    listed = _listed_zone_names() or frozenset(n for n in _zone_names() if "/" in n)
    return sorted(listed | {"UTC"})


def clock_of(timezone: str | None, locale: str | None) -> Clock:
    """The clock for stored names; a missing or no longer known name falls back to the default,
    so a zone withdrawn from the time zone database never breaks a page."""
    return Clock(
        zone=zone_named(timezone) or ZoneInfo(DEFAULT_ZONE),
        locale=locale_named(locale) or _default_locale(),
    )


def clock_for(person: HasClock) -> Clock:
    return clock_of(person.timezone, person.locale)


def _default_locale() -> Locale:
    found = _locale(DEFAULT_LOCALE)
    assert found is not None  # Babel ships en_GB.
    return found


DEFAULT_CLOCK = clock_of(None, None)


# ---- showing an instant ---------------------------------------------------------------------


def _aware(instant: datetime) -> datetime:
    # Stored instants are UTC; a naive one read back from SQLite is UTC too.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def local(instant: datetime, clock: Clock) -> datetime:
    """The instant on the person's wall clock (an aware datetime in their zone)."""
    return _aware(instant).astimezone(clock.zone)


def zone_abbreviation(instant: datetime, clock: Clock) -> str:
    """The zone's short name at that instant: "IST", "EDT", "GMT"; where the time zone database
    has no letters for it (Australia/Lord_Howe's "+1030"), the offset as "UTC+10:30"."""
    name = local(instant, clock).tzname() or ""
    if name and not _NUMERIC_ABBREVIATION.match(name):
        return name
    return offset_text(instant, clock)


def offset_text(instant: datetime, clock: Clock) -> str:
    """The offset from UTC at that instant: "UTC", "UTC+5:30", "UTC-4"."""
    offset = local(instant, clock).utcoffset() or timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    whole, part = divmod(abs(minutes), 60)
    return f"UTC{sign}{whole}" + (f":{part:02d}" if part else "")


@dataclass(frozen=True)
class _Patterns:
    """A locale's CLDR patterns for the texts below, worked out once (matching a skeleton to a
    locale's patterns costs more than applying one)."""

    date: DateTimePattern
    day: DateTimePattern
    time: DateTimePattern
    date_and_time: DateTimePattern


@lru_cache(maxsize=64)
def _patterns(locale_name: str) -> _Patterns:
    locale = Locale.parse(locale_name)
    skeletons = locale.datetime_skeletons

    def skeleton(wanted: str) -> str:
        return str(skeletons[match_skeleton(wanted, skeletons) or wanted])

    date, time_of_day = skeleton("MMMEd"), locale.time_formats["short"].pattern
    # The locale's own way of joining a date and a time ("{1}, {0}"), quoted literals and all.
    joined = str(locale.datetime_formats["medium"]).replace("{1}", date).replace("{0}", time_of_day)
    return _Patterns(
        date=parse_pattern(date),
        day=parse_pattern(skeleton("MMMd")),
        time=parse_pattern(time_of_day),
        date_and_time=parse_pattern(joined),
    )


def show_date(instant: datetime, clock: Clock) -> str:
    """The day on the person's calendar, in their locale: "Tue 1 Dec", "Tue, Dec 1"."""
    return _patterns(clock.locale_name).date.apply(local(instant, clock), clock.locale)


def show_day(instant: datetime, clock: Clock) -> str:
    """The day without the weekday: "1 Dec", "Dec 1"."""
    return _patterns(clock.locale_name).day.apply(local(instant, clock), clock.locale)


def show_clock_time(instant: datetime, clock: Clock) -> str:
    """The time of day in the locale's style: "14:30", "2:30 PM"."""
    return _patterns(clock.locale_name).time.apply(local(instant, clock), clock.locale)


def show_instant(instant: datetime, clock: Clock) -> str:
    """Day and time on the person's clock, saying which zone: "Tue 1 Dec, 14:30 IST"."""
    text = _patterns(clock.locale_name).date_and_time.apply(local(instant, clock), clock.locale)
    return f"{text} {zone_abbreviation(instant, clock)}"


def format_for(person: HasClock, instant: datetime) -> str:
    """How an instant reads to that person, in their zone and locale, naming the zone (for mail
    and anything else written to one person): "Tue 1 Dec, 14:30 IST"."""
    return show_instant(instant, clock_for(person))


def zone_place(clock: Clock) -> str:
    """The zone as a person names it: "Kolkata", "New York", "UTC"."""
    if clock.zone_name == "UTC":
        return "UTC"
    try:
        return str(get_timezone_location(clock.zone, locale=clock.locale, return_city=True))
    except (LookupError, ValueError):
        return clock.zone_name


def local_date(instant: datetime, clock: Clock) -> date:
    """The day the instant falls on, on the person's calendar."""
    return local(instant, clock).date()


def start_of_day(day: date, clock: Clock) -> datetime:
    """The first instant of that day on the person's clock, in UTC (midnight, or the first time
    after it where the clocks skip midnight itself)."""
    wall = datetime.combine(day, time(0, 0))
    while not _exists(wall, clock):
        wall += timedelta(minutes=15)
    return wall.replace(tzinfo=clock.zone, fold=0).astimezone(UTC)


def end_of_today(instant: datetime, clock: Clock) -> datetime:
    """The start of the next day on the person's clock: what is due "today" is due before it."""
    return start_of_day(local_date(instant, clock) + timedelta(days=1), clock)


def start_of_week(instant: datetime, clock: Clock) -> datetime:
    """The first instant of the Monday-to-Sunday week the instant falls in, on that clock."""
    day = local_date(instant, clock)
    return start_of_day(day - timedelta(days=day.weekday()), clock)


# Notification texts written before each person had a zone name times in UTC, with the day
# ("accept by 2026-11-23 15:00 UTC") or without it ("Due at 15:00 UTC: …").
_UTC_IN_TEXT = re.compile(r"(?:\b(\d{4}-\d{2}-\d{2}) )?\b([01]\d|2[0-3]):([0-5]\d) UTC\b")


def localise_text(text: str, clock: Clock, written_at: datetime | None = None) -> str:
    """A stored text with its UTC times shown on the person's clock. A time written without its
    day is taken as the first such time at or after `written_at` (a reminder is written before
    what it reminds of); without `written_at` it is left as written, which names its zone."""

    def shown(match: re.Match[str]) -> str:
        hour, minute = int(match[2]), int(match[3])
        if match[1]:
            try:
                day = date.fromisoformat(match[1])
            except ValueError:
                return match[0]
            instant = datetime.combine(day, time(hour, minute), tzinfo=UTC)
        elif written_at is not None:
            written = _aware(written_at).astimezone(UTC)
            instant = written.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if instant < written.replace(second=0, microsecond=0):
                instant += timedelta(days=1)
        else:
            return match[0]
        try:
            return show_instant(instant, clock)
        except OverflowError:
            # A time at the calendar's edge, typed into a title ("9999-12-31 23:59 UTC"), has
            # no local time east (or west) of UTC: it is left as written, in UTC.
            return match[0]

    return _UTC_IN_TEXT.sub(shown, text)


# ---- reading a typed time -------------------------------------------------------------------


@dataclass(frozen=True)
class TypedTime:
    """A wall-clock time a person typed, read as an instant; `note` says how an ambiguous time
    (one that happened twice when the clocks went back) was read, else it is empty."""

    instant: datetime
    note: str = ""


def input_value(instant: datetime | None, clock: Clock, *, whole_hour: bool = False) -> str:
    """The instant as a datetime-local input's value on the person's clock ("2026-12-01T14:30"),
    or the start of its hour on that clock where that time exists (a suggested time)."""
    if instant is None:
        return ""
    shown = local(instant, clock)
    if whole_hour:
        start = shown.replace(minute=0, second=0, microsecond=0, tzinfo=None)
        if _exists(start, clock):
            shown = start
    return shown.strftime("%Y-%m-%dT%H:%M")


def _exists(wall: datetime, clock: Clock) -> bool:
    """Whether a naive wall-clock time happens in the zone (not skipped by the clocks going on)."""
    aware = wall.replace(tzinfo=clock.zone, fold=0)
    # zoneinfo gives a skipped time an offset anyway; going round through UTC shows it moved.
    return aware.astimezone(UTC).astimezone(clock.zone).replace(tzinfo=None) == wall


def instant_at(wall: datetime, clock: Clock, *, field: str, label: str) -> TypedTime:
    """The instant a naive wall-clock time names in the person's zone.

    A time skipped when the clocks go forward is refused, naming the field; a time that happens
    twice when they go back is read as the first (the earlier instant), with a note saying so.
    """
    if not EARLIEST.year <= wall.year < LATEST.year:
        # Read in a zone behind UTC, 9999-12-31 23:00 is past the last instant Python holds.
        raise InvalidInput(
            f"{label}: give a date between {EARLIEST.year} and {LATEST.year - 1}", field=field
        )
    first = wall.replace(tzinfo=clock.zone, fold=0)
    second = wall.replace(tzinfo=clock.zone, fold=1)
    if not _exists(wall, clock):
        raise InvalidInput(
            f"{label}: {show_clock_time(first, clock)} does not exist on "
            f"{show_date(first, clock)} in {zone_place(clock)} time, because the clocks "
            "go forward then; choose another time",
            field=field,
        )
    if first.utcoffset() != second.utcoffset():
        note = (
            f"{label}: {show_clock_time(first, clock)} on {show_date(first, clock)} happens twice "
            f"in {zone_place(clock)} time (the clocks go back); the first was taken, "
            f"{show_instant(first, clock)}."
        )
        return TypedTime(first.astimezone(UTC), note)
    return TypedTime(first.astimezone(UTC))


def read_typed_time(
    text: str, clock: Clock, *, field: str, label: str, time_of_day: time = time(17, 0)
) -> TypedTime | str:
    """A date or datetime-local input's text read on the person's clock. A date alone means
    `time_of_day` that day. Text in another shape (one with its own offset, or not a time at
    all) comes back unchanged, for the input model to accept or refuse beside the field."""
    text = text.strip()
    try:
        if _DATE_ONLY.match(text):
            wall = datetime.combine(date.fromisoformat(text), time_of_day)
        elif match := _LOCAL_DATETIME.match(text):
            wall = datetime.fromisoformat(f"{match[1]}T{match[2]}")
        else:
            return text
    except ValueError:
        return text
    return instant_at(wall, clock, field=field, label=label)
