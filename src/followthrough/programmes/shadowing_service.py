"""Job shadowing: offer a slot, book it, cancel it, reflect afterwards. Services only flush; the
request or job boundary commits, so a booking, its two notifications and their mail (with the
calendar invitation) are written together or not at all.

Each booking's mail to the host and to the guest carries the same calendar invitation (the same
UID); cancelling sends the cancellation under that UID with the next SEQUENCE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from followthrough.db import row_to_change
from followthrough.errors import Conflict, NotAllowed, NotFound
from followthrough.insight.sql import home_teams
from followthrough.notify.service import notify
from followthrough.org.models import Department, Membership, Person, Team
from followthrough.org.service import team_calendar
from followthrough.programmes import shadowing_rules as rules
from followthrough.programmes.shadowing_invitation import Method, Visit, invitation
from followthrough.programmes.shadowing_invitation import Person as Invitee
from followthrough.programmes.shadowing_models import (
    ShadowingBooking,
    ShadowingReflection,
    ShadowingSlot,
)

NOTIFICATION_KIND = "shadowing"


@dataclass(frozen=True)
class MailPlaces:
    """Where the invitation points: the mail domain (its UID) and the desk's public address."""

    mail_domain: str
    public_url: str

    @property
    def page_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/shadowing"


def teams_of(session: Session, person_id: int) -> list[int]:
    """The teams a person belongs to or leads."""
    return sorted(
        set(
            session.scalars(
                union(
                    select(Membership.team_id).where(Membership.person_id == person_id),
                    select(Team.id).where(Team.lead_id == person_id),
                )
            )
        )
    )


def _departments_of(session: Session, team_ids: list[int]) -> set[int]:
    if not team_ids:
        return set()
    return set(session.scalars(select(Team.department_id).where(Team.id.in_(team_ids))))


def _home_team(session: Session, person_id: int) -> int | None:
    home = home_teams()
    team_id = session.scalar(select(home.c.team_id).where(home.c.person_id == person_id))
    return None if team_id is None else int(team_id)


def offer_slot(
    session: Session,
    host_id: int,
    team_id: int,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> ShadowingSlot:
    """A host offers a slot of their team's working day."""
    if team_id not in teams_of(session, host_id):
        raise NotAllowed("you can offer shadowing only in a team you belong to", field="team")
    rules.check_offer(starts_at, ends_at, team_calendar(session, team_id), now)
    slot = ShadowingSlot(
        team_id=team_id, host_id=host_id, starts_at=starts_at, ends_at=ends_at, offered_at=now
    )
    session.add(slot)
    session.flush()
    return slot


def _live_booking(session: Session, slot_id: int) -> ShadowingBooking | None:
    return session.scalar(
        select(ShadowingBooking).where(
            ShadowingBooking.slot_id == slot_id, ShadowingBooking.cancelled_at.is_(None)
        )
    )


def _locked_slot(session: Session, slot_id: int) -> ShadowingSlot | None:
    # Booking and withdrawing each read the other's mark (a live booking, the withdrawal) before
    # writing their own: holding the slot's row until the end makes the second wait for the
    # first and see it, so a slot is never both withdrawn and booked.
    return session.get(ShadowingSlot, slot_id, with_for_update=True, populate_existing=True)


def withdraw_slot(session: Session, host_id: int, slot_id: int, now: datetime) -> ShadowingSlot:
    """The host takes back a slot nobody has booked."""
    slot = _locked_slot(session, slot_id)
    if slot is None or slot.host_id != host_id:
        raise NotFound("you offered no such slot", field="slot")
    if slot.withdrawn_at is not None:
        raise Conflict("this slot is already withdrawn", field="slot")
    if _live_booking(session, slot_id) is not None:
        raise Conflict("this slot is booked: cancel the booking instead", field="slot")
    slot.withdrawn_at = now
    session.flush()
    return slot


def _visit(
    session: Session, booking: ShadowingBooking, slot: ShadowingSlot, page_url: str
) -> Visit:
    host = session.get(Person, slot.host_id)
    guest = session.get(Person, booking.guest_id)
    team = session.get(Team, slot.team_id)
    guest_team = session.get(Team, booking.guest_team_id)
    # Foreign keys: each is there.
    assert host is not None
    assert guest is not None
    assert team is not None
    assert guest_team is not None
    guest_department = session.get(Department, guest_team.department_id)
    return Visit(
        booking_id=booking.id,
        host=Invitee(host.name, host.email),
        guest=Invitee(guest.name, guest.email),
        host_team=team.name,
        guest_department=guest_department.name if guest_department else "",
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        page_url=page_url,
    )


def _tell_both(
    session: Session,
    booking: ShadowingBooking,
    slot: ShadowingSlot,
    method: Method,
    places: MailPlaces,
    now: datetime,
) -> None:
    visit = _visit(session, booking, slot, places.page_url)
    calendar = invitation(visit, method, booking.sequence, places.mail_domain, now)
    # Written in UTC as "2026-03-03 10:00 UTC": the inbox and the mail show it on each reader's
    # clock (org.local_time.localise_text).
    at = slot.starts_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if method is Method.REQUEST:
        to_host = (
            f"{visit.guest.name} ({visit.guest_department}) booked your job-shadowing slot at "
            f"{at}. The calendar invitation is in the mail."
        )
        to_guest = (
            f"You are booked to shadow {visit.host.name} of {visit.host_team} at {at}. The "
            f"calendar invitation is in the mail."
        )
    else:
        to_host = f"{visit.guest.name}'s job shadowing with you at {at} is cancelled."
        to_guest = f"Your job shadowing with {visit.host.name} at {at} is cancelled."
    notify(session, slot.host_id, NOTIFICATION_KIND, to_host, now, calendar=calendar)
    notify(session, booking.guest_id, NOTIFICATION_KIND, to_guest, now, calendar=calendar)


def book_slot(
    session: Session, guest_id: int, slot_id: int, places: MailPlaces, now: datetime
) -> ShadowingBooking:
    """Book a slot for the guest and send both people the calendar invitation."""
    slot = _locked_slot(session, slot_id)
    if slot is None:
        raise NotFound("no such slot", field="slot")
    team = session.get(Team, slot.team_id)
    assert team is not None  # foreign key
    home = _home_team(session, guest_id)
    rules.check_booking(
        rules.SlotFacts(
            host_id=slot.host_id,
            department_id=team.department_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            withdrawn=slot.withdrawn_at is not None,
            booked=_live_booking(session, slot_id) is not None,
        ),
        guest_id,
        _departments_of(session, teams_of(session, guest_id)),
        None if home is None else team_calendar(session, home),
        now,
    )
    assert home is not None  # check_booking refuses a guest without a team
    booking = ShadowingBooking(
        slot_id=slot_id, guest_id=guest_id, guest_team_id=home, booked_at=now, sequence=0
    )
    # Two people booking the same slot at once: the unique index lets one in.
    try:
        with session.begin_nested():
            session.add(booking)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("someone has just booked this slot", field="slot") from exc
    _tell_both(session, booking, slot, Method.REQUEST, places, now)
    session.flush()
    return booking


def _booking_and_slot(
    session: Session, booking_id: int, person_id: int
) -> tuple[ShadowingBooking, ShadowingSlot]:
    # Locked: of two cancellations at once the second sees the first and is refused.
    booking = session.get(
        ShadowingBooking, booking_id, with_for_update=True, populate_existing=True
    )
    slot = None if booking is None else session.get(ShadowingSlot, booking.slot_id)
    # Someone else's booking is as if it did not exist.
    if booking is None or slot is None or person_id not in (slot.host_id, booking.guest_id):
        raise NotFound("no such booking", field="booking")
    return booking, slot


def cancel_booking(
    session: Session, person_id: int, booking_id: int, places: MailPlaces, now: datetime
) -> ShadowingBooking:
    """Host or guest cancels; both get the calendar cancellation (same UID, next SEQUENCE) and
    the slot is open again."""
    booking, slot = _booking_and_slot(session, booking_id, person_id)
    rules.check_cancel(
        slot.host_id,
        booking.guest_id,
        slot.starts_at,
        booking.cancelled_at is not None,
        person_id,
        now,
    )
    booking.cancelled_at = now
    booking.cancelled_by = person_id
    booking.sequence += 1
    session.flush()
    _tell_both(session, booking, slot, Method.CANCEL, places, now)
    session.flush()
    return booking


def write_reflection(
    session: Session, person_id: int, booking_id: int, text: str, now: datetime
) -> ShadowingReflection:
    """Host or guest says what surprised them, after the visit; writing again replaces it."""
    booking, slot = _booking_and_slot(session, booking_id, person_id)
    kept = rules.check_reflection(
        slot.host_id,
        booking.guest_id,
        slot.ends_at,
        booking.cancelled_at is not None,
        person_id,
        text,
        now,
    )
    reflection = row_to_change(
        session,
        ShadowingReflection,
        {"booking_id": booking_id, "person_id": person_id},
        lambda: ShadowingReflection(
            booking_id=booking_id, person_id=person_id, text=kept, written_at=now
        ),
    )
    reflection.text = kept
    reflection.written_at = now
    session.flush()
    return reflection


@dataclass(frozen=True)
class OpenSlot:
    slot_id: int
    starts_at: datetime
    ends_at: datetime
    host: str
    team: str
    department: str
    in_your_hours: bool


def open_slots(session: Session, person_id: int, now: datetime, limit: int = 50) -> list[OpenSlot]:
    """Slots the person could book: not started, not withdrawn, not booked, in another
    department; each says whether it lies in the person's working hours."""
    own = _departments_of(session, teams_of(session, person_id))
    booked = exists().where(
        ShadowingBooking.slot_id == ShadowingSlot.id, ShadowingBooking.cancelled_at.is_(None)
    )
    rows = session.execute(
        select(ShadowingSlot, Person.name, Team.name, Department.name)
        .join(Team, Team.id == ShadowingSlot.team_id)
        .join(Department, Department.id == Team.department_id)
        .join(Person, Person.id == ShadowingSlot.host_id)
        .where(
            ShadowingSlot.starts_at > now,
            ShadowingSlot.withdrawn_at.is_(None),
            ~booked,
            Team.department_id.not_in(own) if own else ShadowingSlot.id.is_not(None),
        )
        .order_by(ShadowingSlot.starts_at, ShadowingSlot.id)
        .limit(limit)
    ).all()
    home = _home_team(session, person_id)
    calendar = None if home is None else team_calendar(session, home)
    return [
        OpenSlot(
            slot.id,
            slot.starts_at,
            slot.ends_at,
            host,
            team,
            department,
            calendar is not None
            and rules.within_working_hours(calendar, slot.starts_at, slot.ends_at),
        )
        for slot, host, team, department in rows
    ]


@dataclass(frozen=True)
class Visiting:
    """A booking as one of its two people sees it."""

    booking_id: int
    starts_at: datetime
    ends_at: datetime
    hosting: bool  # the viewer is the host
    other: str  # the other person's name
    team: str  # the host's team
    cancelled: bool
    my_reflection: str | None


@dataclass(frozen=True)
class MySlot:
    slot_id: int
    starts_at: datetime
    ends_at: datetime
    team: str
    booked: bool


def my_bookings(session: Session, person_id: int, limit: int = 50) -> list[Visiting]:
    """The person's bookings as guest or host, soonest last (newest first)."""
    host = aliased(Person)
    guest = aliased(Person)
    rows = session.execute(
        select(ShadowingBooking, ShadowingSlot, host.name, guest.name, Team.name)
        .join(ShadowingSlot, ShadowingSlot.id == ShadowingBooking.slot_id)
        .join(host, host.id == ShadowingSlot.host_id)
        .join(guest, guest.id == ShadowingBooking.guest_id)
        .join(Team, Team.id == ShadowingSlot.team_id)
        .where(or_(ShadowingBooking.guest_id == person_id, ShadowingSlot.host_id == person_id))
        .order_by(ShadowingSlot.starts_at.desc(), ShadowingBooking.id.desc())
        .limit(limit)
    ).all()
    mine = {
        r.booking_id: r.text
        for r in session.scalars(
            select(ShadowingReflection).where(
                ShadowingReflection.person_id == person_id,
                ShadowingReflection.booking_id.in_([row[0].id for row in rows]),
            )
        )
    }
    return [
        Visiting(
            booking.id,
            slot.starts_at,
            slot.ends_at,
            slot.host_id == person_id,
            guest_name if slot.host_id == person_id else host_name,
            team,
            booking.cancelled_at is not None,
            mine.get(booking.id),
        )
        for booking, slot, host_name, guest_name, team in rows
    ]


def my_slots(session: Session, person_id: int, now: datetime) -> list[MySlot]:
    """The slots the person offers that have not started and are not withdrawn."""
    booked = exists().where(
        ShadowingBooking.slot_id == ShadowingSlot.id, ShadowingBooking.cancelled_at.is_(None)
    )
    rows = session.execute(
        select(ShadowingSlot, Team.name, booked)
        .join(Team, Team.id == ShadowingSlot.team_id)
        .where(
            ShadowingSlot.host_id == person_id,
            ShadowingSlot.starts_at > now,
            ShadowingSlot.withdrawn_at.is_(None),
        )
        .order_by(ShadowingSlot.starts_at)
    ).all()
    return [MySlot(s.id, s.starts_at, s.ends_at, team, bool(b)) for s, team, b in rows]


@dataclass(frozen=True)
class SharedReflection:
    written_by: str
    hosting: bool  # written by the host (else by the guest)
    host_team: str
    guest_team: str
    starts_at: datetime
    text: str


def shared_reflections(session: Session, person_id: int, limit: int = 50) -> list[SharedReflection]:
    """Reflections shared with the person: those on visits to or from any of their teams, and
    their own visits' (rules.may_read_reflection says the same for one reflection)."""
    teams = teams_of(session, person_id)
    host_team = aliased(Team)
    guest_team = aliased(Team)
    rows = session.execute(
        select(
            ShadowingReflection,
            Person.name,
            ShadowingSlot.host_id,
            host_team.name,
            guest_team.name,
            ShadowingSlot.starts_at,
        )
        .join(ShadowingBooking, ShadowingBooking.id == ShadowingReflection.booking_id)
        .join(ShadowingSlot, ShadowingSlot.id == ShadowingBooking.slot_id)
        .join(Person, Person.id == ShadowingReflection.person_id)
        .join(host_team, host_team.id == ShadowingSlot.team_id)
        .join(guest_team, guest_team.id == ShadowingBooking.guest_team_id)
        .where(
            or_(
                ShadowingSlot.team_id.in_(teams),
                ShadowingBooking.guest_team_id.in_(teams),
                ShadowingSlot.host_id == person_id,
                ShadowingBooking.guest_id == person_id,
            )
        )
        .order_by(ShadowingReflection.written_at.desc())
        .limit(limit)
    ).all()
    return [
        SharedReflection(
            name, reflection.person_id == host_id, host_name, guest_name, starts_at, reflection.text
        )
        for reflection, name, host_id, host_name, guest_name, starts_at in rows
    ]


def host_teams(session: Session, person_id: int) -> list[tuple[int, str]]:
    """The teams a person may offer slots in (those they belong to or lead), by name."""
    ids = teams_of(session, person_id)
    if not ids:
        return []
    return [
        (int(team_id), name)
        for team_id, name in session.execute(
            select(Team.id, Team.name).where(Team.id.in_(ids)).order_by(Team.name)
        )
    ]


def ask_for_reflections(session: Session, places: MailPlaces, now: datetime) -> int:
    """Ask host and guest of every visit that has ended (and was not cancelled) what surprised
    them, once per booking; how many people were asked."""
    due = session.execute(
        select(ShadowingBooking, ShadowingSlot.host_id, Person.name)
        .join(ShadowingSlot, ShadowingSlot.id == ShadowingBooking.slot_id)
        .join(Person, Person.id == ShadowingSlot.host_id)
        .where(
            ShadowingBooking.cancelled_at.is_(None),
            ShadowingBooking.reflection_asked_at.is_(None),
            ShadowingSlot.ends_at <= now,
        )
        .order_by(ShadowingBooking.id)
    ).all()
    asked = 0
    for booking, host_id, host_name in due:
        guest = session.get(Person, booking.guest_id)
        guest_name = guest.name if guest is not None else "your guest"
        notify(
            session,
            booking.guest_id,
            NOTIFICATION_KIND,
            f"What surprised you about {host_name}'s work? Write a few lines on "
            f"{places.page_url}: both teams will read it.",
            now,
        )
        notify(
            session,
            host_id,
            NOTIFICATION_KIND,
            f"What surprised you while {guest_name} shadowed you? Write a few lines on "
            f"{places.page_url}: both teams will read it.",
            now,
        )
        booking.reflection_asked_at = now
        asked += 2
    session.flush()
    return asked
