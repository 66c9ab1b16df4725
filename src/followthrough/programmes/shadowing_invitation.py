"""The calendar invitation for a shadowing booking (iCalendar, RFC 5545/5546), pure.

One event per booking: the host organises it and the guest attends. Its UID never changes, so
the cancellation (METHOD:CANCEL, the next SEQUENCE) removes the very event the invitation put in
both calendars. Times are written in UTC; each calendar shows them in its owner's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from icalendar import Calendar, Event, vCalAddress, vText

PRODUCT = "-//Followthrough//Job shadowing//EN"


class Method(StrEnum):
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class Visit:
    """What the invitation says about one booking."""

    booking_id: int
    host: Person
    guest: Person
    host_team: str
    guest_department: str
    starts_at: datetime
    ends_at: datetime
    page_url: str


def event_uid(booking_id: int, mail_domain: str) -> str:
    """The booking's event, the same in the invitation and its cancellation."""
    return f"shadowing-{booking_id}@{mail_domain}"


def _address(person: Person, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = vText(person.name)
    for name, value in params.items():
        address.params[name.upper()] = value
    return address


def invitation(
    visit: Visit, method: Method, sequence: int, mail_domain: str, stamped_at: datetime
) -> str:
    """The iCalendar text of the booking's invitation (REQUEST) or its cancellation (CANCEL)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("method", method.value)
    event = Event()
    event.add("uid", event_uid(visit.booking_id, mail_domain))
    event.add("sequence", sequence)
    event.add("dtstamp", stamped_at.astimezone(UTC))
    event.add("dtstart", visit.starts_at.astimezone(UTC))
    event.add("dtend", visit.ends_at.astimezone(UTC))
    event.add("summary", f"Job shadowing: {visit.guest.name} with {visit.host_team}")
    event.add(
        "description",
        f"{visit.guest.name} ({visit.guest_department}) spends this time with "
        f"{visit.host.name} of {visit.host_team}, to see their work first-hand. "
        f"Afterwards, both of you can write what surprised you: {visit.page_url}",
    )
    event.add("status", "CANCELLED" if method is Method.CANCEL else "CONFIRMED")
    event.add("organizer", _address(visit.host))
    event.add(
        "attendee",
        _address(visit.guest, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp="TRUE"),
    )
    calendar.add_component(event)
    text: bytes = calendar.to_ical()
    return text.decode()
