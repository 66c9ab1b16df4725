"""Posting queued chat posts: claim, post outside any transaction, record (as webhooks do).

A person's post first asks their notification preferences (`mail.preferences.delivery_for`,
the same rule mail follows): a kind they turned off is not posted, nor one they get in the
daily summary (the summary is mail's); in their quiet hours the post waits until the hours end.
A team's channel is shared, so its posts carry no action link (a link acts as one person); a
person's post carries the link for their one action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from followthrough.chat.formats import PostContent, message_for
from followthrough.chat.models import ChatPost, ChatRoute
from followthrough.chat.rules import RETRY_WINDOW, Platform
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind
from followthrough.links.rules import LinkAction
from followthrough.links.service import action_for_notification, action_link
from followthrough.mail.preferences import Action, delivery_for
from followthrough.mail.preferences_service import preference_of
from followthrough.notify.models import Notification
from followthrough.org.local_time import clock_of, local
from followthrough.org.models import Person
from followthrough.requests.models import Request
from followthrough.webhooks.rules import is_delivered, next_attempt_at

BATCH = 50
LEASE = timedelta(minutes=10)

# What a team's channel is told, per kind of change; `{actor}` is who did it.
TEAM_WORDS: dict[str, str] = {
    EventKind.OPENED: "New request, raised by {actor}.",
    EventKind.OFFERED: "Offered by {actor}.",
    EventKind.ACCEPTED: "Accepted by {actor}, who now owns it.",
    EventKind.DECLINED: "Declined by {actor}.",
    EventKind.ESCALATED: "Escalated: nobody accepted it in time.",
    EventKind.UPDATE_ESCALATED: "Escalated: the requester's update is overdue.",
    EventKind.PROMISE_BROKEN: "A promise to the requester was broken.",
    EventKind.CLARIFICATION_ASKED: "{actor} asked the requester a question.",
    EventKind.RESOLVED: "Resolved by {actor}.",
    EventKind.REOPENED: "Reopened by {actor}.",
    EventKind.REQUEST_WITHDRAWN: "Withdrawn by {actor}.",
    EventKind.RETURNED_TO_REQUESTER: "Returned to the requester: no team took it.",
    EventKind.OWNER_REASSIGNED: "Handed to a new owner.",
}
ACTION_LABELS = {
    LinkAction.ACCEPT_OFFER: "Accept",
    LinkAction.DECLINE_OFFER: "Decline",
    LinkAction.KEEP_PROMISE: "Mark my promise kept",
    LinkAction.CONFIRM_RESOLUTION: "Confirm it is resolved",
}


@dataclass(frozen=True)
class Outgoing:
    post_id: int
    url: str
    message: dict[str, Any]


def _request_facts(
    session: Session, request: Request, settings: Settings
) -> tuple[str, tuple[tuple[str, str], ...]]:
    owner = session.get(Person, request.owner_id)
    facts = [("State", request.state.replace("_", " ")), ("Owner", owner.name if owner else "")]
    return f"{settings.public_url.rstrip('/')}/requests/{request.id}", tuple(facts)


def _team_content(session: Session, settings: Settings, event: Event) -> PostContent | None:
    request = session.get(Request, event.request_id) if event.request_id else None
    if request is None:
        return None
    actor = session.get(Person, event.actor_id) if event.actor_id else None
    words = TEAM_WORDS.get(event.kind, "Changed.").format(actor=actor.name if actor else "the desk")
    url, facts = _request_facts(session, request, settings)
    return PostContent(
        headline=words, request_title=f"#{request.id} {request.title}", request_url=url, facts=facts
    )


def _person_content(
    session: Session, settings: Settings, notification: Notification, now: datetime
) -> PostContent:
    request = session.get(Request, notification.request_id) if notification.request_id else None
    if request is None:
        return PostContent(
            headline=notification.message,
            request_title="",
            request_url=f"{settings.public_url.rstrip('/')}/notifications",
        )
    url, facts = _request_facts(session, request, settings)
    chosen = action_for_notification(
        session, notification.person_id, notification.kind, notification.request_id
    )
    actions: list[tuple[str, str]] = []
    if chosen is not None:
        action, target = chosen
        offered = [action]
        if action is LinkAction.ACCEPT_OFFER:
            offered.append(LinkAction.DECLINE_OFFER)  # its page asks the reason
        for each in offered:
            link = action_link(settings, notification.person_id, each, target, now)
            if link is not None:
                actions.append((ACTION_LABELS[each], link))
    return PostContent(
        headline=notification.message,
        request_title=f"#{request.id} {request.title}",
        request_url=url,
        facts=facts,
        actions=tuple(actions),
    )


def _hold_or_skip(
    session: Session, post: ChatPost, notification: Notification, now: datetime
) -> bool:
    """Apply the person's preferences: True when the post goes now; otherwise it is skipped
    or held until their quiet hours end (and released)."""
    person = session.get(Person, notification.person_id)
    assert person is not None, "a notification's person exists (foreign key)"
    clock = clock_of(person.timezone, person.locale)
    decision = delivery_for(preference_of(session, person.id), notification.kind, local(now, clock))
    if decision.action is Action.SEND:
        return True
    if decision.action is Action.HOLD and decision.at is not None:
        post.next_attempt_at = decision.at
    else:
        post.state = "skipped"
    post.claimed_until = None
    return False


def claim(
    session: Session, settings: Settings, now: datetime, limit: int
) -> tuple[list[Outgoing], int]:
    """Claim up to `limit` posts due at `now`; the messages to post, and how many were looked at."""
    due = (
        select(ChatPost, ChatRoute)
        .join(ChatRoute, ChatRoute.id == ChatPost.route_id)
        .where(
            ChatPost.state == "pending",
            ChatPost.next_attempt_at <= now,
            or_(ChatPost.claimed_until.is_(None), ChatPost.claimed_until < now),
            ChatRoute.enabled.is_(True),
        )
        .order_by(ChatPost.next_attempt_at, ChatPost.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=ChatPost, skip_locked=True)
    rows = session.execute(due).all()
    if not rows:
        return [], 0
    session.execute(
        update(ChatPost)
        .where(ChatPost.id.in_([p.id for p, _ in rows]))
        .values(claimed_until=now + LEASE)
    )
    outgoing = []
    for post, route in rows:
        if post.created_at < now - RETRY_WINDOW:
            post.state = "skipped"  # news of yesterday: not worth posting now
            continue
        content: PostContent | None
        if post.notification_id is not None:
            notification = session.get(Notification, post.notification_id)
            assert notification is not None, "a post's notification exists (foreign key)"
            if not _hold_or_skip(session, post, notification, now):
                continue
            content = _person_content(session, settings, notification, now)
        else:
            event = session.get(Event, post.event_id)
            content = _team_content(session, settings, event) if event else None
        if content is None:
            post.state = "skipped"
            continue
        outgoing.append(
            Outgoing(post.id, route.url, message_for(Platform(route.platform), content))
        )
    session.flush()
    return outgoing, len(rows)


def _post(client: httpx.Client, message: Outgoing) -> tuple[int | None, str | None]:
    try:
        response = client.post(message.url, json=message.message)
    except httpx.HTTPError as failure:
        return None, f"{type(failure).__name__}: {failure}"[:500]
    if is_delivered(response.status_code):
        return response.status_code, None
    return response.status_code, f"{response.status_code}: {response.text[:300]}"


def record(
    session: Session, post_id: int, status: int | None, error: str | None, now: datetime
) -> None:
    post = session.get(ChatPost, post_id)
    if post is None or post.state != "pending":
        return
    route = session.get(ChatRoute, post.route_id)
    assert route is not None, "a post's route exists (foreign key)"
    post.claimed_until = None
    post.attempts += 1
    if is_delivered(status):
        post.state = "posted"
        post.posted_at = now
        route.last_error = None
    else:
        post.last_error = error
        route.last_error = error
        later = next_attempt_at(post.created_at, now, post.attempts, RETRY_WINDOW)
        if later is None:
            post.state = "failed"
        else:
            post.next_attempt_at = later
    session.flush()


def post_due(
    database: Database,
    settings: Settings,
    now: datetime,
    *,
    client: httpx.Client | None = None,
    limit: int = BATCH,
) -> int:
    """Post everything due at `now` that nobody else holds; how many posts were tried."""
    own = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False)
    tried = 0
    try:
        while True:
            with database.unit_of_work() as session:
                batch, looked_at = claim(session, settings, now, limit)
            answers = [(m.post_id, *_post(http, m)) for m in batch]
            with database.unit_of_work() as session:
                for post_id, status, error in answers:
                    record(session, post_id, status, error, now)
            tried += len(batch)
            if looked_at < limit:
                return tried
    finally:
        if own:
            http.close()
