"""Reading the notification choices a person typed (page form or API body) into a Preference,
refusing anything else with the field named. Shared by the page and the API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time

from followthrough.errors import InvalidInput
from followthrough.mail.preferences import KIND_LABELS, Delivery, Preference, QuietHours

_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d)?$")


def clock_time(text: str, *, field: str, label: str) -> time:
    """ "07:30" (a time input's value) as a time; anything else is refused naming the field."""
    match = _CLOCK_TIME.match(text.strip())
    if match is None:
        raise InvalidInput(
            f"{label}: give a time of day such as 07:30, not {text[:20]!r}", field=field
        )
    return time(int(match[1]), int(match[2]))


def preference_from(
    kinds: Mapping[str, str],
    quiet_start: str | None,
    quiet_end: str | None,
    digest_at: str,
) -> Preference:
    """The choices as typed: a value per kind (a kind left out is sent at once), quiet hours
    (both times, or neither) and the daily summary's time."""
    by_kind = {}
    for kind, value in kinds.items():
        if kind not in KIND_LABELS:
            raise InvalidInput(f"there is no notification kind {kind[:40]!r}", field="kinds")
        try:
            by_kind[kind] = Delivery(value)
        except ValueError:
            choices = ", ".join(d.value for d in Delivery)
            raise InvalidInput(
                f"{KIND_LABELS[kind]}: choose one of {choices}", field=f"kind:{kind}"
            ) from None
    quiet = None
    if quiet_start or quiet_end:
        if not (quiet_start and quiet_end):
            missing = "quiet_end" if quiet_start else "quiet_start"
            raise InvalidInput(
                "Quiet hours need both a start and an end (or neither)", field=missing
            )
        quiet = QuietHours(
            clock_time(quiet_start, field="quiet_start", label="Quiet from"),
            clock_time(quiet_end, field="quiet_end", label="Quiet until"),
        )
    digest = clock_time(digest_at, field="digest_at", label="Daily summary at")
    return Preference(by_kind=by_kind, quiet=quiet, digest_at=digest)
