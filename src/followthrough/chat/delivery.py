"""Posting queued chat posts through the shared claim-send-record loop
(`followthrough.delivery_loop`, as webhooks do); a channel that keeps failing is switched off
by the webhooks' rule (`webhooks.rules.disables_subscription`) and the admins are told.

A person's post first asks their notification preferences (`mail.preferences.delivery_for`,
the same rule mail follows): a kind they turned off is not posted, nor one they get in the
daily summary (the summary is mail's); in their quiet hours the post waits until the hours end.
A team's channel is shared, so its posts carry no action link (a link acts as one person); a
person's post carries the link for their one action.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough import delivery_loop
from followthrough.chat.formats import PostContent, message_for
from followthrough.chat.models import ChatPost, ChatRoute
from followthrough.chat.rules import Platform
from followthrough.chat.service import switch_off_for_failure
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
from followthrough.webhooks.rules import disables_subscription, persistent_failure

BATCH = 50
LEASE = timedelta(minutes=10)
USER_AGENT = "Followthrough-Chat/1"

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


@dataclass(frozen=True)
class Posted:
    post_id: int
    http: delivery_loop.HttpAnswer


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
) -> delivery_loop.Claimed[Outgoing]:
    """Claim up to `limit` posts due at `now` and build the messages of those that go now
    (news older than the retry window, a kind turned off or held for quiet hours do not)."""
    window = timedelta(hours=settings.chat_retry_hours)
    rows = delivery_loop.claim_due(
        session,
        select(ChatPost, ChatRoute)
        .join(ChatRoute, ChatRoute.id == ChatPost.route_id)
        .where(ChatRoute.enabled.is_(True)),
        ChatPost,
        now,
        LEASE,
        limit,
    )
    outgoing = []
    for post, route in rows:
        if post.created_at < now - window:
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
    return delivery_loop.Claimed(outgoing, len(rows))


def send(client: httpx.Client, message: Outgoing) -> Posted:
    """POST one post as JSON; never raises for the chat service's failures."""
    body = json.dumps(message.message, separators=(",", ":")).encode()
    headers = {"content-type": "application/json", "user-agent": USER_AGENT}
    return Posted(message.post_id, delivery_loop.http_post(client, message.url, body, headers))


def record(session: Session, settings: Settings, answer: Posted, now: datetime) -> None:
    """What follows from one answer, in the caller's (new) transaction: posted, a later try, or
    given up; a channel whose given-up post had no post get through since it was queued is
    switched off (the webhooks' rule) and the admins are told."""
    chat_post = session.get(ChatPost, answer.post_id)
    if chat_post is None or chat_post.state != "pending":
        return
    route = session.get(ChatRoute, chat_post.route_id)
    assert route is not None, "a post's route exists (foreign key)"
    outcome = delivery_loop.settle(
        chat_post, answer.http.delivered, now, timedelta(hours=settings.chat_retry_hours)
    )
    if outcome is delivery_loop.Outcome.SENT:
        chat_post.state = "posted"
        chat_post.posted_at = now
        route.last_error = None
        route.last_success_at = now
    else:
        chat_post.last_error = route.last_error = answer.http.in_words
    session.flush()
    if outcome is delivery_loop.Outcome.GIVEN_UP and disables_subscription(
        route.last_success_at, chat_post.created_at
    ):
        switch_off_for_failure(
            session,
            route,
            persistent_failure(settings.chat_retry_hours, answer.http.status_code),
            now,
        )


def post_due(
    database: Database,
    settings: Settings,
    now: datetime,
    *,
    client: httpx.Client | None = None,
    limit: int = BATCH,
) -> int:
    """Post everything due at `now` that nobody else holds; how many posts were tried."""
    with delivery_loop.http_client(client, settings.webhook_timeout_seconds) as http:
        return delivery_loop.send_due(
            database,
            now,
            claim=lambda session, at, most: claim(session, settings, at, most),
            send=lambda message: send(http, message),
            record=lambda session, answer, at: record(session, settings, answer, at),
            limit=limit,
        )
