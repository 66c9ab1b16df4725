"""Passwords (argon2), web sessions and personal API tokens. Only hashes of secrets are stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from followthrough.auth.models import ApiToken, WebSession

__all__ = ["ApiToken", "WebSession"]
from followthrough.errors import InvalidInput, NotFound, NotSignedIn
from followthrough.org.models import Person
from followthrough.org.snapshot import REVISION_COLUMN, note_revision, org_snapshot

_hasher = PasswordHasher()
TOKEN_PREFIX = "ft_"
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return _hasher.hash(password)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def authenticate(session: Session, handle: str, password: str) -> Person:
    """The person with this handle and password, or NotSignedIn (same message either way)."""
    person = session.scalar(select(Person).where(Person.handle == handle.strip().lower()))
    failure = NotSignedIn("unknown handle or wrong password", field="password")
    if person is None or not person.active or person.password_hash is None:
        # Spend the same time as a real check so handles cannot be probed by timing.
        _hasher.hash(password or "x")
        raise failure
    try:
        _hasher.verify(person.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    return person


def start_web_session(
    session: Session, person: Person, now: datetime, days: int
) -> tuple[str, WebSession]:
    """A new session; returns the cookie value (shown once) and the stored row."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_digest(token),
        csrf_token=secrets.token_urlsafe(24),
        person_id=person.id,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return token, row


def web_session_for(session: Session, token: str, now: datetime) -> WebSession | None:
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _digest(token)))
    if row is None or row.expires_at <= now:
        return None
    return row


def end_web_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


def create_api_token(
    session: Session, person: Person, name: str, now: datetime
) -> tuple[str, ApiToken]:
    """A personal API token; the secret is returned once and only its hash is kept."""
    name = name.strip()
    if not name:
        raise InvalidInput("name must not be empty", field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        person_id=person.id,
        name=name,
        token_hash=_digest(secret),
        prefix=secret[:10],
        created_at=now,
    )
    session.add(token)
    session.flush()
    return secret, token


# Built once: every API call runs it. Plain columns, not entities: the organisation snapshot
# already knows the person, so the call loads no ORM objects to learn who is calling.
_TOKENS = cast(Table, ApiToken.__table__)
_TOKEN_LOOKUP = select(
    _TOKENS.c.id,
    _TOKENS.c.person_id,
    _TOKENS.c.revoked_at,
    _TOKENS.c.last_used_at,
    REVISION_COLUMN,
).where(_TOKENS.c.token_hash == bindparam("token_hash"))
_TOKEN_USED = (
    update(_TOKENS)
    .where(_TOKENS.c.id == bindparam("token_id"))
    .values(last_used_at=bindparam("used_at", type_=_TOKENS.c.last_used_at.type))
)


def person_id_for_token(
    session: Session, secret: str, now: datetime, *, record_use: bool = True
) -> int | None:
    """The id of the active person behind an unrevoked token (one query), or None."""
    connection = session.connection()
    row = connection.execute(_TOKEN_LOOKUP, {"token_hash": _digest(secret)}).first()
    if row is None:
        return None
    token_id, person_id, revoked_at, last_used_at, revision = row
    # The organisation's revision rides on this statement, so the caller's teams need none.
    note_revision(session, revision)
    person = org_snapshot(session).people.get(person_id)
    if revoked_at is not None or person is None or not person.active:
        return None
    # Recording use on every call would make every read a write; once a minute is enough.
    if record_use and (last_used_at is None or now - last_used_at > timedelta(minutes=1)):
        connection.execute(_TOKEN_USED, {"token_id": token_id, "used_at": now})
    return int(person_id)


def revoke_api_token(session: Session, person: Person, token_id: int, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.person_id != person.id:
        raise NotFound(f"token {token_id} does not exist", field="token_id")
    token.revoked_at = token.revoked_at or now
    return token


def tokens_of(session: Session, person: Person) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.person_id == person.id).order_by(ApiToken.id)
        )
    )
