"""Making action links, showing what one will do, and doing it as the person it was made for.

The action itself is the desk's own: accepting or declining an offer, keeping a promise and
confirming a resolution go through the requests' and promises' services, with the same rules
and events as on the desk's pages. A link adds one thing only: who is acting, without a
sign-in, for that one action, once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followthrough.config import Settings
from followthrough.errors import NotFound
from followthrough.links.models import UsedActionLink
from followthrough.links.rules import (
    LinkAction,
    LinkClaims,
    LinkUsed,
    read,
    sign,
    signing_key,
)
from followthrough.org.models import Person
from followthrough.org.service import actor_of
from followthrough.promises import service as promises
from followthrough.promises.models import Promise
from followthrough.requests import service as requests
from followthrough.requests.models import Offer, Request
from followthrough.requests.rules import may_answer_offer
from followthrough.requests.vocabulary import PromiseState, RequestState

PATH = "/act"


def link_keys(settings: Settings) -> list[bytes]:
    """The keys a link may be signed with: the current secret's, then the previous one's."""
    keys = []
    for secret in (settings.secret_key, settings.previous_secret_key):
        if secret is not None and secret.get_secret_value():
            keys.append(signing_key(secret.get_secret_value()))
    return keys


def action_link(
    settings: Settings, person_id: int, action: LinkAction | str, target_id: int, now: datetime
) -> str | None:
    """A signed, expiring, single-use link for `person_id` to do `action` to `target_id` (an
    offer's id to accept or decline it, a promise's to keep it, a request's to confirm its
    resolution). None when no secret key is set: without one no link can be trusted."""
    keys = link_keys(settings)
    if settings.secret_key is None or not keys:
        return None
    claims = LinkClaims(
        person_id=person_id,
        action=LinkAction(action),
        target_id=target_id,
        expires_at=now + timedelta(hours=settings.action_link_hours),
        nonce=secrets.token_hex(12),
    )
    return f"{settings.public_url.rstrip('/')}{PATH}/{sign(claims, keys[0])}"


def action_for_notification(
    session: Session, person_id: int, kind: str, request_id: int | None
) -> tuple[LinkAction, int] | None:
    """The one thing a notification's reader can do about it from the message, as (action,
    target), or None when there is nothing a link can do for them: an offer they may answer
    (accept; its page also offers nothing else), their own promise coming due, or the
    resolution of their own request to confirm. Who may is the desk's own rule, asked here so
    that no link is sent that its page would refuse."""
    if request_id is None:
        return None
    if kind == "offer":
        offer = requests.open_offer_of(session, request_id)
        if offer is None:
            return None
        if may_answer_offer(actor_of(session, person_id), offer.to_team_id, offer.to_person_id):
            return LinkAction.ACCEPT_OFFER, offer.id
        return None
    if kind == "promise_due":
        promise_id = session.scalar(
            select(Promise.id)
            .where(
                Promise.request_id == request_id,
                Promise.made_by_id == person_id,
                Promise.state == PromiseState.OPEN,
            )
            .order_by(Promise.due_at, Promise.id)
            .limit(1)
        )
        return (LinkAction.KEEP_PROMISE, promise_id) if promise_id is not None else None
    if kind == "resolved":
        request = session.get(Request, request_id)
        confirmable = (
            request is not None
            and request.requester_id == person_id
            and request.state == RequestState.RESOLVED
        )
        if confirmable:
            return LinkAction.CONFIRM_RESOLUTION, request_id
    return None


def link_for_notification(
    session: Session,
    settings: Settings,
    person_id: int,
    kind: str,
    request_id: int | None,
    now: datetime,
) -> str | None:
    """The signed link for a notification's one action (`action_for_notification`), or None."""
    chosen = action_for_notification(session, person_id, kind, request_id)
    if chosen is None:
        return None
    return action_link(settings, person_id, chosen[0], chosen[1], now)


def claims_of(settings: Settings, token: str, now: datetime) -> LinkClaims:
    """The token's claims if it is ours and not expired (LinkTampered, LinkExpired otherwise)."""
    return read(token, link_keys(settings), now)


@dataclass(frozen=True)
class Preview:
    """What the link's page shows before anything is done."""

    action: LinkAction
    person_name: str
    request_id: int
    request_title: str
    detail: str  # the offer's note, the promise's words, the resolution


def _request(session: Session, request_id: int) -> Request:
    request = session.get(Request, request_id)
    if request is None:
        raise NotFound("the request no longer exists")
    return request


def _target_request_id(session: Session, claims: LinkClaims) -> tuple[int, str]:
    """The request the link's row belongs to, and the words that describe the row."""
    if claims.action in (LinkAction.ACCEPT_OFFER, LinkAction.DECLINE_OFFER):
        offer = session.get(Offer, claims.target_id)
        if offer is None:
            raise NotFound("the offer no longer exists")
        return offer.request_id, offer.note
    if claims.action is LinkAction.KEEP_PROMISE:
        promise = session.get(Promise, claims.target_id)
        if promise is None:
            raise NotFound("the promise no longer exists")
        return promise.request_id, promise.what
    request = _request(session, claims.target_id)
    return request.id, request.resolution or ""


def preview(session: Session, claims: LinkClaims) -> Preview:
    """What the link would do, read only: nothing changes until the person confirms."""
    if session.get(UsedActionLink, claims.nonce) is not None:
        raise LinkUsed
    person = session.get(Person, claims.person_id)
    if person is None or not person.active:
        raise NotFound("the person this link was made for can no longer use the desk")
    request_id, detail = _target_request_id(session, claims)
    request = _request(session, request_id)
    return Preview(claims.action, person.name, request.id, request.title, detail)


def act(session: Session, claims: LinkClaims, words: str, now: datetime) -> int:
    """Do the link's action as its person, and use the link up, in one transaction; the
    request's id. The services raise the desk's own errors when the action is no longer
    possible (the offer answered, the promise already kept, the person no longer allowed); the
    caller's unit of work then rolls back, and the link stays unused."""
    if session.get(UsedActionLink, claims.nonce) is not None:
        raise LinkUsed
    person = session.get(Person, claims.person_id)
    if person is None or not person.active:
        raise NotFound("the person this link was made for can no longer use the desk")
    session.add(
        UsedActionLink(
            nonce=claims.nonce,
            person_id=claims.person_id,
            action=claims.action.value,
            target_id=claims.target_id,
            used_at=now,
            expires_at=claims.expires_at,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        # Used at the same moment by another request, which committed first.
        raise LinkUsed from None
    actor = actor_of(session, claims.person_id)
    request_id, _ = _target_request_id(session, claims)
    match claims.action:
        case LinkAction.ACCEPT_OFFER:
            requests.accept_offer(session, actor, request_id, claims.target_id, now)
        case LinkAction.DECLINE_OFFER:
            requests.decline_offer(session, actor, request_id, claims.target_id, words, now)
        case LinkAction.KEEP_PROMISE:
            promises.keep_promise(session, actor, request_id, claims.target_id, words, now)
        case LinkAction.CONFIRM_RESOLUTION:
            requests.confirm_resolution(session, actor, request_id, now)
    return request_id
