"""Job shadowing: pure rules, no database, no clock.

A host offers a slot of their team's working day; someone from another department books it
(one guest per slot) when it lies in their own working hours too and has not started; host or
guest may cancel it before it starts; afterwards either of them writes a short reflection, which
both teams read.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from followthrough.errors import Conflict, InvalidInput, NotAllowed
from followthrough.org.rules import WorkingCalendar, business_seconds_between

# Shorter than this is a visit, not shadowing; longer than a working day does not fit one.
SHORTEST = timedelta(minutes=30)
LONGEST = timedelta(hours=8)
REFLECTION_LIMIT = 2000


def within_working_hours(calendar: WorkingCalendar, start: datetime, end: datetime) -> bool:
    """Whether every minute of [start, end) is working time on the calendar (its zone, days,
    hours and holidays)."""
    return end > start and business_seconds_between(calendar, start, end) == (
        (end - start).total_seconds()
    )


def check_offer(
    start: datetime, end: datetime, host_calendar: WorkingCalendar, now: datetime
) -> None:
    """A slot may be offered when it is in the future, 30 minutes to 8 hours long, and wholly in
    the host team's working hours."""
    if end <= start:
        raise InvalidInput("the end must come after the start", field="ends_at")
    if start <= now:
        raise InvalidInput("the slot must start in the future", field="starts_at")
    if not SHORTEST <= end - start <= LONGEST:
        raise InvalidInput("a slot lasts from 30 minutes to 8 hours", field="ends_at")
    if not within_working_hours(host_calendar, start, end):
        raise InvalidInput("the slot must lie within your team's working hours", field="starts_at")


@dataclass(frozen=True)
class SlotFacts:
    """What booking needs to know about a slot."""

    host_id: int
    department_id: int
    starts_at: datetime
    ends_at: datetime
    withdrawn: bool
    booked: bool


def check_booking(
    slot: SlotFacts,
    guest_id: int,
    guest_departments: Collection[int],
    guest_calendar: WorkingCalendar | None,
    now: datetime,
) -> None:
    """A guest may book a slot that is open, has not started, belongs to a department that is not
    theirs, and lies within their own working hours (their home team's calendar)."""
    if slot.withdrawn:
        raise Conflict("this slot was withdrawn", field="slot")
    if slot.starts_at <= now:
        raise Conflict("this slot has already started", field="slot")
    if slot.booked:
        raise Conflict("someone has already booked this slot", field="slot")
    if guest_id == slot.host_id or slot.department_id in guest_departments:
        raise NotAllowed(
            "shadowing is for people from other departments: this slot is in your own",
            field="slot",
        )
    if guest_calendar is None:
        raise NotAllowed("only people in a team can book shadowing", field="slot")
    if not within_working_hours(guest_calendar, slot.starts_at, slot.ends_at):
        raise InvalidInput("this slot is outside your working hours", field="slot")


def check_cancel(
    host_id: int, guest_id: int, starts_at: datetime, cancelled: bool, person_id: int, now: datetime
) -> None:
    """Host or guest may cancel a booking that is not cancelled already and has not started."""
    if person_id not in (host_id, guest_id):
        raise NotAllowed("only the host or the guest may cancel this booking", field="booking")
    if cancelled:
        raise Conflict("this booking is already cancelled", field="booking")
    if starts_at <= now:
        raise Conflict("a booking cannot be cancelled once it has started", field="booking")


def check_reflection(
    host_id: int,
    guest_id: int,
    ends_at: datetime,
    cancelled: bool,
    person_id: int,
    text: str,
    now: datetime,
) -> str:
    """The reflection as kept (trimmed): written by host or guest after a slot that took place,
    not empty and at most REFLECTION_LIMIT characters."""
    if person_id not in (host_id, guest_id):
        raise NotAllowed("only the host or the guest may reflect on this visit", field="booking")
    if cancelled:
        raise Conflict("this booking was cancelled", field="booking")
    if now < ends_at:
        raise Conflict("a reflection is written after the visit ends", field="booking")
    kept = text.strip()
    if not kept:
        raise InvalidInput("write what surprised you about their work", field="reflection")
    if len(kept) > REFLECTION_LIMIT:
        raise InvalidInput(f"keep it under {REFLECTION_LIMIT} characters", field="reflection")
    return kept


def may_read_reflection(
    viewer_id: int,
    viewer_teams: Collection[int],
    host_id: int,
    guest_id: int,
    teams: Collection[int],
) -> bool:
    """A reflection is shared with both teams: the host's and the guest's (and the two people)."""
    return viewer_id in (host_id, guest_id) or any(team in teams for team in viewer_teams)
