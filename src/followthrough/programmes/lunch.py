"""Lunch and learn: anyone proposes a session (a team explains its work, or tells the story of a
fix across teams), people take a place while there is room and are sent a calendar invitation,
the proposer records who came, those who came say how it was, and the notes or recording are
linked. Topics are suggested from the silo map. Services only flush; the request commits."""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from followthrough.errors import Conflict, InvalidInput, NotAllowed, NotFound
from followthrough.insight.silo import silo_map
from followthrough.notify.service import notify
from followthrough.org.models import Person, Team
from followthrough.programmes import lunch_rules as rules
from followthrough.programmes.lunch_models import LunchSession, LunchSignup

NOTIFICATION_KIND = "lunch"
# The silo map's window for topic suggestions.
TOPIC_WINDOW = timedelta(days=90)
PRODUCT = "-//Followthrough//Lunch and learn//EN"


def _invalid(wrong: dict[str, str]) -> None:
    if wrong:
        field, message = next(iter(wrong.items()))
        raise InvalidInput(message, field=field)


def propose(
    session: Session,
    person_id: int,
    *,
    title: str,
    team_id: int,
    starts_at: datetime,
    minutes: int,
    place: str,
    capacity: int,
    now: datetime,
) -> LunchSession:
    """A new session; anyone may propose one, given by any team."""
    if session.get(Team, team_id) is None:
        raise InvalidInput("choose the team that presents", field="team")
    _invalid(rules.check_proposal(title, minutes, place, capacity, starts_at, now))
    row = LunchSession(
        title=title.strip(),
        team_id=team_id,
        starts_at=starts_at,
        minutes=minutes,
        place=place.strip(),
        capacity=capacity,
        proposed_by=person_id,
        proposed_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _session(session: Session, lunch_id: int) -> LunchSession:
    row = session.get(LunchSession, lunch_id)
    if row is None:
        raise NotFound("no such lunch-and-learn session")
    return row


def _may_run(session: Session, row: LunchSession, person_id: int) -> None:
    """The proposer, the presenting team's lead, or an admin records attendance and notes."""
    team = session.get(Team, row.team_id)
    person = session.get(Person, person_id)
    if person_id == row.proposed_by or (team is not None and team.lead_id == person_id):
        return
    if person is not None and person.is_admin:
        return
    raise NotAllowed("only whoever proposed the session, or the presenting team's lead, may")


def invitation(row: LunchSession, team: str, person: Person, domain: str, stamp: datetime) -> str:
    """The calendar invitation for a person's place (iCalendar, one event per sign-up)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", f"lunch-{row.id}-{person.id}@{domain}")
    event.add("sequence", 0)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", row.starts_at.astimezone(UTC))
    event.add("dtend", (row.starts_at + timedelta(minutes=row.minutes)).astimezone(UTC))
    event.add("summary", f"Lunch and learn: {row.title}")
    event.add("location", row.place)
    event.add("description", f"{team} explains its work over lunch.")
    event.add("status", "CONFIRMED")
    organizer = vCalAddress(f"mailto:lunch@{domain}")
    organizer.params["CN"] = vText("Lunch and learn")
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{person.email}")
    attendee.params["CN"] = vText(person.name)
    attendee.params["ROLE"] = "REQ-PARTICIPANT"
    event.add("attendee", attendee)
    calendar.add_component(event)
    text: bytes = calendar.to_ical()
    return text.decode()


def sign_up(
    session: Session, lunch_id: int, person_id: int, *, mail_domain: str, now: datetime
) -> LunchSignup:
    """Take a place while there is room; the person is sent the invitation (by mail and chat as
    they chose). Taking a place twice keeps the first."""
    row = session.get(LunchSession, lunch_id, with_for_update=True)
    if row is None:
        raise NotFound("no such lunch-and-learn session")
    mine = session.get(LunchSignup, (lunch_id, person_id))
    if mine is not None:
        return mine
    taken = session.scalar(
        select(func.count()).select_from(LunchSignup).where(LunchSignup.session_id == lunch_id)
    )
    refused = rules.may_sign_up(int(taken or 0), row.capacity, row.starts_at, now)
    if refused:
        raise Conflict(refused)
    mine = LunchSignup(session_id=lunch_id, person_id=person_id, signed_up_at=now)
    session.add(mine)
    session.flush()
    person = session.get(Person, person_id)
    team = session.get(Team, row.team_id)
    if person is not None:
        notify(
            session,
            person_id,
            NOTIFICATION_KIND,
            f"You have a place at the lunch and learn “{row.title}”: {row.place}.",
            now,
            calendar=invitation(row, team.name if team else "A team", person, mail_domain, now),
        )
    return mine


def record_attendance(
    session: Session, lunch_id: int, by: int, came: set[int], now: datetime
) -> None:
    """Who of those signed up came (everyone else did not)."""
    row = _session(session, lunch_id)
    _may_run(session, row, by)
    if row.starts_at > now:
        raise Conflict("attendance is recorded once the session has started")
    for signup in session.scalars(select(LunchSignup).where(LunchSignup.session_id == lunch_id)):
        signup.attended = signup.person_id in came
    session.flush()


def give_feedback(
    session: Session, lunch_id: int, person_id: int, rating: int, text: str, now: datetime
) -> None:
    """A short feedback form for those who came: a rating (1 to 5) and a few words."""
    row = _session(session, lunch_id)
    mine = session.get(LunchSignup, (lunch_id, person_id))
    if mine is None or row.starts_at > now or mine.attended is False:
        raise NotAllowed("feedback is for those who came, after the session")
    if not rules.RATINGS[0] <= rating <= rules.RATINGS[1]:
        raise InvalidInput("rate it from 1 to 5", field="rating")
    if len(text) > rules.FEEDBACK_LIMIT:
        raise InvalidInput(f"keep it under {rules.FEEDBACK_LIMIT} characters", field="feedback")
    mine.rating = rating
    mine.feedback = text.strip() or None
    mine.feedback_at = now
    session.flush()


def link_notes(session: Session, lunch_id: int, by: int, link: str) -> None:
    row = _session(session, lunch_id)
    _may_run(session, row, by)
    if not rules.is_link(link.strip()):
        raise InvalidInput("give the notes or recording as a web address", field="notes_link")
    row.notes_link = link.strip()
    session.flush()


@dataclass(frozen=True)
class SessionLine:
    id: int
    title: str
    team: str
    starts_at: datetime
    minutes: int
    place: str
    capacity: int
    taken: int
    notes_link: str | None
    mine: bool  # the viewer has a place
    runs: bool  # the viewer records attendance and notes
    came: int
    ratings: int
    mean_rating: float | None
    signed_up: list[tuple[int, str, bool | None]]  # for whoever runs it


def sessions(
    session: Session, viewer: int, is_admin: bool, minimum_ratings: int, limit: int = 50
) -> list[SessionLine]:
    """The newest sessions first, with places taken and what the viewer may do. The mean rating
    is shown once at least `minimum_ratings` people rated it (Insight's smallest group): with
    fewer, beside the list of who came, it would tell one person's rating."""
    rows = session.execute(
        select(LunchSession, Team.name, Team.lead_id)
        .join(Team, Team.id == LunchSession.team_id)
        .order_by(LunchSession.starts_at.desc(), LunchSession.id.desc())
        .limit(limit)
    ).all()
    ids = [r[0].id for r in rows]
    people: dict[int, list[tuple[int, str, bool | None, int | None]]] = {i: [] for i in ids}
    for signup, name in session.execute(
        select(LunchSignup, Person.name)
        .join(Person, Person.id == LunchSignup.person_id)
        .where(LunchSignup.session_id.in_(ids))
        .order_by(Person.name)
    ):
        people[signup.session_id].append((signup.person_id, name, signup.attended, signup.rating))
    lines = []
    for row, team, lead in rows:
        signed = people[row.id]
        rated = [r for *_, r in signed if r is not None]
        lines.append(
            SessionLine(
                row.id,
                row.title,
                team,
                row.starts_at,
                row.minutes,
                row.place,
                row.capacity,
                len(signed),
                row.notes_link,
                any(p == viewer for p, *_ in signed),
                is_admin or viewer in (row.proposed_by, lead),
                sum(1 for _, _, came, _ in signed if came),
                len(rated),
                sum(rated) / len(rated) if rated and len(rated) >= minimum_ratings else None,
                [(p, n, came) for p, n, came, _ in signed],
            )
        )
    return lines


# The topics come from 90 days of the silo map (a second or two of the database on the demo's
# history) and move slowly, but the page shows them on every visit and every refused form, which
# on SQLite is drawn while the refused change holds the one write turn: a rush for the last places
# kept every other writer of the desk waiting and answered the rest 503. A process keeps what it
# worked out for a few minutes, for the same day.
TOPICS_KEEP_SECONDS = 300.0
_kept_topics: weakref.WeakKeyDictionary[Engine, tuple[float, date, list[rules.TopicSuggestion]]] = (
    weakref.WeakKeyDictionary()
)
_kept_topics_lock = threading.Lock()


def topics(session: Session, now: datetime) -> list[rules.TopicSuggestion]:
    """Topics for the next sessions, from the last 90 days of the silo map (this process's copy
    when it was worked out for the same day less than five minutes ago)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    day = now.astimezone(UTC).date()
    with _kept_topics_lock:
        kept = _kept_topics.get(engine)
    if kept is not None and kept[1] == day and time.monotonic() - kept[0] < TOPICS_KEEP_SECONDS:
        return list(kept[2])
    found = rules.suggest_topics(silo_map(session, now - TOPIC_WINDOW, now).pairs)
    with _kept_topics_lock:
        _kept_topics[engine] = (time.monotonic(), day, list(found))
    return found


def teams(session: Session) -> list[tuple[int, str]]:
    return [(t.id, t.name) for t in session.execute(select(Team.id, Team.name).order_by(Team.name))]
