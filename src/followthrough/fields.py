"""The bounds of every value the desk takes in: ids, counts, hours, instants and text.

One place for the API's bodies and parameters, the pages' forms and the importers, so a value
the database or the domain cannot hold is refused at the edge with a message naming its field,
instead of failing deep inside a query (an integer PostgreSQL cannot store, a NUL byte it cannot
keep in text, a date-time without a zone compared with one that has it, a target of 1e308 hours
that no calendar can count out).
"""

from __future__ import annotations

import hmac
import math
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from followthrough.errors import InvalidInput

# PostgreSQL's `integer` (every id and count column); SQLite's is wider, so this is the bound.
MAX_ID = 2**31 - 1
# More customers than any one request can touch; far below the column's limit.
MAX_CUSTOMERS = 10_000_000
# A target (time to accept, update cadence, time to resolve) is at most a year of business
# hours: beyond it a target promises nothing, and counting it out on a calendar takes years.
MAX_TARGET_HOURS = 8760.0
# Auto-close after at most a year of business days.
MAX_AUTO_CLOSE_DAYS = 365
# Instants the desk plans with: wide enough for any real deadline or history, narrow enough that
# adding a year of business hours or moving between zones can never overflow `datetime`.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A row id, path/query/body alike."""

Version = Annotated[int, Field(ge=0, le=MAX_ID)]
"""The version of a row the caller saw."""

Offset = Annotated[int, Field(ge=0, le=MAX_ID)]
"""How many rows to skip in a list."""

Customers = Annotated[int, Field(ge=0, le=MAX_CUSTOMERS)]

Hours = Annotated[float, Field(gt=0, le=MAX_TARGET_HOURS, allow_inf_nan=False)]
"""Business hours of a service target or a report's threshold: finite, positive and at most a
year of business hours."""

AutoCloseDays = Annotated[int, Field(ge=1, le=MAX_AUTO_CLOSE_DAYS)]


def zoned(value: datetime) -> datetime:
    """The instant in UTC; refused without a zone (we cannot guess whose 15:00 it is) or
    outside the years the desk plans in."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "datetime_without_zone", "must include a time zone, e.g. 2026-11-23T15:00:00Z"
        )
    # Compared before converting: converting 9999-12-31T23:00-05:00 to UTC would overflow.
    if not EARLIEST <= value <= LATEST:
        raise PydanticCustomError(
            "datetime_out_of_range",
            "must be between {earliest} and {latest}",
            {"earliest": EARLIEST.date().isoformat(), "latest": LATEST.date().isoformat()},
        )
    return value.astimezone(UTC)


ZonedDateTime = Annotated[datetime, AfterValidator(zoned)]
"""An instant with its zone (ISO 8601, e.g. 2026-11-23T15:00:00Z), as UTC."""

T = TypeVar("T")


def without_nul(value: T) -> T:
    """The value unchanged, refused when any text in it holds a NUL character: PostgreSQL
    cannot store one in text, and no person types one."""
    if _holds_nul(value):
        raise PydanticCustomError("nul_character", "must not contain a NUL (\\x00) character")
    return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


Text = Annotated[str, AfterValidator(without_nul)]
"""Text from a query string or a header."""


def form_text(value: str, field: str) -> str:
    """A form field read outside an input model; refused, naming the field, if it holds a NUL."""
    if "\x00" in value:
        raise InvalidInput("must not contain a NUL (\\x00) character", field=field)
    return value


def same_secret(sent: str, kept: str) -> bool:
    """Whether a secret that came in (a form's CSRF token, a cookie, a link's signature) is the
    one kept, compared in constant time. Compared as UTF-8 bytes: `compare_digest` refuses text
    that is not ASCII with a TypeError, and whoever sends the secret chooses its characters."""
    return hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), kept.encode("utf-8", "surrogatepass")
    )


def form_whole(value: str) -> int | None:
    """A form field holding a whole number the desk could store (0 to MAX_ID, ASCII digits
    only): None when it is anything else. `str.isdigit` alone lets through "²" (which `int`
    refuses) and thousands of digits (which `int` refuses, or the database cannot hold)."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_ID)):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def form_number(value: str) -> float | None:
    """A form field holding a number: None when it is not a finite one ("nan", "inf" and
    1e400 read as floats too, and no simulation or column can use them)."""
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def form_id(value: str) -> int | None:
    """A form field holding an optional id: None when blank or not an id the desk could hold."""
    number = form_whole(value)
    return number if number is not None and number >= 1 else None


def form_instant(value: datetime, field: str, words: str) -> datetime:
    """A typed instant with its zone, refused naming the field when outside the years the desk
    plans in (compared before converting: 9999-12-31T23:00-05:00 would overflow in UTC)."""
    if value.tzinfo is None or value.utcoffset() is None or not EARLIEST <= value < LATEST:
        raise InvalidInput(
            f"give {words} as a date and time between {EARLIEST.year} and {LATEST.year - 1}",
            field=field,
        )
    return value.astimezone(UTC)


class RefusesNul(BaseModel):
    """Base of every input model (API bodies, form models, import rows): no text field, nor any
    text nested in a list or mapping, may hold a NUL character."""

    @field_validator("*", mode="after")
    @classmethod
    def _without_nul(cls, value: Any) -> Any:
        return without_nul(value)
