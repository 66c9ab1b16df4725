"""Leaders' company-wide messages: a draft prefilled from the week (confirmed recognitions, the
silo map's pair that bounces most, the programmes' news), sent to everyone through their
notification choices (mail, chat or the daily summary), and kept for the archive page.
Services only flush; the request commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followthrough.errors import InvalidInput
from followthrough.insight.recognition import digest, week_of
from followthrough.insight.silo import silo_map
from followthrough.notify.service import notify
from followthrough.org.models import Person
from followthrough.programmes import messages_rules as rules
from followthrough.programmes.lunch_models import LunchSession
from followthrough.programmes.messages_models import LeaderMessage
from followthrough.programmes.service import round_summaries

NOTIFICATION_KIND = "leader_message"
HIGHLIGHT_WINDOW = timedelta(days=30)


def draft(session: Session, now: datetime) -> tuple[str, str]:
    """This week's message, prefilled for the leader to edit."""
    week = week_of(now)
    recognised = [(r.person, r.detail) for r in digest(session, week).recognitions]
    pairs = [
        p
        for p in silo_map(session, now - HIGHLIGHT_WINDOW, now).pairs
        if p.source != p.target and p.bounces > 0
    ]
    top = min(pairs, key=lambda p: (-p.bounces, p.source_name, p.target_name), default=None)
    highlight = (
        None if top is None else rules.Highlight(top.source_name, top.target_name, top.bounces)
    )
    latest = round_summaries(session, limit=1)
    ahead = session.scalar(
        select(func.count()).select_from(LunchSession).where(LunchSession.starts_at > now)
    )
    news = rules.ProgrammeNews(
        latest[0].groups if latest else 0, latest[0].met if latest else 0, int(ahead or 0)
    )
    return rules.draft(f"{week:%-d %B %Y}", recognised, highlight, news)


def send(session: Session, author_id: int, subject: str, body: str, now: datetime) -> LeaderMessage:
    """Send the message to every active person and keep it for the archive."""
    wrong = rules.check(subject, body)
    if wrong:
        field, message = next(iter(wrong.items()))
        raise InvalidInput(message, field=field)
    people = list(session.scalars(select(Person.id).where(Person.active.is_(True))))
    row = LeaderMessage(
        author_id=author_id,
        subject=subject.strip(),
        body=body.strip(),
        sent_at=now,
        recipients=len(people),
    )
    session.add(row)
    session.flush()
    for person_id in people:
        notify(session, person_id, NOTIFICATION_KIND, f"{row.subject}\n\n{row.body}", now)
    return row


@dataclass(frozen=True)
class ArchivedMessage:
    id: int
    author: str
    subject: str
    body: str
    sent_at: datetime
    recipients: int


def archive(session: Session, limit: int = 50) -> list[ArchivedMessage]:
    rows = session.execute(
        select(LeaderMessage, Person.name)
        .join(Person, Person.id == LeaderMessage.author_id)
        .order_by(LeaderMessage.sent_at.desc(), LeaderMessage.id.desc())
        .limit(limit)
    )
    return [
        ArchivedMessage(m.id, name, m.subject, m.body, m.sent_at, m.recipients) for m, name in rows
    ]
