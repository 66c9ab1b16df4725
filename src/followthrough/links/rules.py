"""Signing and reading action links: pure functions over bytes and times (no database, no clock).

A link's token is `<claims>.<signature>`, both base64url without padding. The claims say who the
link is for, what it does, to which row, until when, and a nonce that makes the link single-use
(the service records the nonce with the action). The signature is HMAC-SHA256 under a key
derived from the secret key, so the same secret signing other things (unsubscribe links) can
never make a valid action link. Reading accepts the current and the previous secret, so links
already sent keep working while the secret is changed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

_PURPOSE = b"followthrough action link v1"


class LinkAction(StrEnum):
    """The one thing a message's reader can do from it."""

    ACCEPT_OFFER = "accept_offer"
    DECLINE_OFFER = "decline_offer"
    KEEP_PROMISE = "keep_promise"
    CONFIRM_RESOLUTION = "confirm_resolution"


# Actions whose page asks for words before it acts (a decline's reason, what was done).
ASKS_FOR_WORDS: frozenset[LinkAction] = frozenset(
    {LinkAction.DECLINE_OFFER, LinkAction.KEEP_PROMISE}
)


@dataclass(frozen=True)
class LinkClaims:
    """What a link says: `person_id` may do `action` to row `target_id` until `expires_at`."""

    person_id: int
    action: LinkAction
    target_id: int
    expires_at: datetime
    nonce: str


class LinkProblem(Exception):
    """A link that cannot be used; `words` say why, for the person who followed it."""

    words = "This link does not work."


class LinkTampered(LinkProblem):
    words = (
        "This link is not one we made, or part of it is missing. "
        "Copy the whole link from the message, or open the request in the desk."
    )


class LinkExpired(LinkProblem):
    words = "This link has expired. Open the request in the desk to do this there."


class LinkUsed(LinkProblem):
    words = "This link was already used; it works once. Open the request in the desk to see where it stands."


def signing_key(secret: str) -> bytes:
    """The key that signs action links, derived from the product's secret key."""
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: LinkClaims, key: bytes) -> str:
    """The link's token for these claims."""
    expires = int(claims.expires_at.timestamp())
    body = f"{claims.person_id}.{claims.action.value}.{claims.target_id}.{expires}.{claims.nonce}"
    raw = body.encode()
    return f"{_b64(raw)}.{_b64(hmac.new(key, raw, hashlib.sha256).digest())}"


def read(token: str, keys: Sequence[bytes], now: datetime) -> LinkClaims:
    """The claims of a token signed with one of `keys` and not expired at `now`.

    Raises LinkTampered when the token is malformed or no key signed it, LinkExpired when it
    was signed but its time is up. The signature is checked before anything in it is believed.
    """
    try:
        body_text, signature_text = token.split(".")
        raw, signature = _unb64(body_text), _unb64(signature_text)
    except (ValueError, binascii.Error):
        raise LinkTampered from None
    if not any(
        hmac.compare_digest(hmac.new(k, raw, hashlib.sha256).digest(), signature) for k in keys
    ):
        raise LinkTampered
    try:
        person, action, target, expires, nonce = raw.decode().split(".")
        claims = LinkClaims(
            person_id=int(person),
            action=LinkAction(action),
            target_id=int(target),
            expires_at=datetime.fromtimestamp(int(expires), UTC),
            nonce=nonce,
        )
    except ValueError:
        # Signed by us but not in a form this version reads: treat as not ours.
        raise LinkTampered from None
    if now >= claims.expires_at:
        raise LinkExpired
    return claims
