"""Each person's say over the notifications they are sent: per kind at once, in a daily digest,
or off; and quiet hours on their own clock, when nothing is sent at once.

Pure: no database, no clock. Mail and chat ask `delivery_for` and do as it says, so a person's
choice holds on every channel that reaches them (webhooks go to other systems, not people).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum


class Delivery(StrEnum):
    """How a person wants one kind of notification."""

    AT_ONCE = "at_once"
    DAILY_DIGEST = "daily_digest"
    OFF = "off"


DELIVERY_LABELS = {
    Delivery.AT_ONCE: "At once",
    Delivery.DAILY_DIGEST: "Once a day, in a summary",
    Delivery.OFF: "Never",
}

# What each notification kind is about, in the words the profile page and the mail use.
KIND_LABELS = {
    "offer": "Requests offered to me",
    "offer_declined": "My handoffs declined",
    "offer_accepted": "My handoffs accepted",
    "escalation": "Escalations",
    "promise_due": "Promises coming due",
    "promise_broken": "Broken promises",
    "update_due": "Updates due",
    "update_posted": "Updates posted",
    "clarification": "Questions and answers",
    "resolved": "Requests resolved",
    "reopened": "Requests reopened",
    "feedback": "Feedback",
    "withdrawn": "Requests withdrawn",
    "merged": "Requests merged",
    "returned": "Requests returned",
    "reassigned": "Requests reassigned",
    "attachment": "Attachments added",
    "note": "Internal notes",
    "mail_bounced": "Mail that could not be delivered",
    "integration_disabled": "Webhooks and chat turned off after failures",
    "buddy": "Buddy programme: your buddy and whether you met",
    "shadowing": "Job shadowing: bookings, with their calendar invitations, and cancellations",
    "lunch": "Lunch and learn: sessions you signed up for, with their calendar invitations",
    "leader_message": "Company-wide messages from leaders",
}

DEFAULT_DIGEST_AT = time(8, 0)


@dataclass(frozen=True)
class QuietHours:
    """From `start` to `end` on the person's wall clock (it may run past midnight: 22:00-07:00).
    Equal times mean no quiet hours."""

    start: time
    end: time

    def covers(self, wall: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end


@dataclass(frozen=True)
class Preference:
    """One person's choices; a kind they never chose for is sent at once."""

    by_kind: Mapping[str, Delivery] = field(default_factory=dict)
    quiet: QuietHours | None = None
    digest_at: time = DEFAULT_DIGEST_AT

    def for_kind(self, kind: str) -> Delivery:
        return self.by_kind.get(kind, Delivery.AT_ONCE)


class Action(StrEnum):
    SEND = "send"  # now
    HOLD = "hold"  # at `at` (quiet hours end)
    DIGEST = "digest"  # in the daily summary sent at `at`
    DROP = "drop"  # never (the person turned it off)


@dataclass(frozen=True)
class Decision:
    action: Action
    at: datetime | None = None  # UTC; for HOLD and DIGEST


def delivery_for(preference: Preference, kind: str, local_time: datetime) -> Decision:
    """What to do now with a notification of `kind`, `local_time` being now on the person's own
    clock (an aware datetime in their zone)."""
    if local_time.tzinfo is None:
        raise ValueError("local_time must carry the person's time zone")
    chosen = preference.for_kind(kind)
    if chosen is Delivery.OFF:
        return Decision(Action.DROP)
    if chosen is Delivery.DAILY_DIGEST:
        return Decision(Action.DIGEST, next_digest_at(preference, local_time))
    quiet = preference.quiet
    if quiet is not None and quiet.covers(local_time.timetz().replace(tzinfo=None)):
        return Decision(Action.HOLD, next_wall_time(local_time, quiet.end))
    return Decision(Action.SEND)


def next_digest_at(preference: Preference, local_time: datetime) -> datetime:
    """When the person's next daily summary goes (UTC): the digest time on their clock, or the
    end of their quiet hours if the digest time falls inside them."""
    wanted = preference.digest_at
    if preference.quiet is not None and preference.quiet.covers(wanted):
        wanted = preference.quiet.end
    return next_wall_time(local_time, wanted)


def next_wall_time(local_time: datetime, wall: time) -> datetime:
    """The first instant after `local_time` when the person's clock reads `wall` (UTC). On a day
    the clocks skip that time, it moves on by the gap, as a clock does (01:30 reads 02:30)."""
    zone = local_time.tzinfo
    day: date = local_time.date()
    for _ in range(3):
        candidate = datetime.combine(day, wall, tzinfo=zone)
        # Through UTC and back: a skipped wall time moves forward by the gap, as a clock does.
        instant = candidate.astimezone(UTC)
        if instant > local_time.astimezone(UTC):
            return instant
        day += timedelta(days=1)
    raise AssertionError("a wall time recurs within two days")  # pragma: no cover
