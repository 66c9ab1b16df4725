"""Passwords (argon2), web sessions, personal API tokens and failed attempts. Only hashes of
secrets are stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from followthrough.auth.models import ApiToken, FailedAttempt, PasswordReset, WebSession
from followthrough.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from followthrough.auth.rules import (
    LONGEST_MEMORY,
    RECENT_FAILURES_NEEDED,
    AttemptKind,
    join_code_wait,
    retry_after_seconds,
    sign_in_wait,
)
from followthrough.errors import InvalidInput, NotFound, NotSignedIn, TooManyAttempts
from followthrough.org.models import Person
from followthrough.org.snapshot import REVISION_COLUMN, note_revision, org_snapshot

__all__ = ["MIN_PASSWORD_LENGTH", "ApiToken", "WebSession", "hash_password"]

TOKEN_PREFIX = "ft_"
# The stored columns' widths: a longer handle or address is cut, never refused.
_ACCOUNT_LENGTH = 200
_ADDRESS_LENGTH = 64


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# ---- failed attempts --------------------------------------------------------------------------


def _recent_failures(
    session: Session, kind: AttemptKind, which: ColumnElement[bool], now: datetime
) -> list[datetime]:
    return list(
        session.scalars(
            select(FailedAttempt.at)
            .where(
                FailedAttempt.kind == kind.value,
                which,
                FailedAttempt.at > now - LONGEST_MEMORY,
            )
            .order_by(FailedAttempt.at.desc())
            .limit(RECENT_FAILURES_NEEDED)
        )
    )


def record_failed_attempt(
    session: Session, kind: AttemptKind, account: str, address: str, now: datetime
) -> None:
    """Count one wrong guess against the account (handle or code) and the client address."""
    session.add(
        FailedAttempt(
            kind=kind.value,
            account=account[:_ACCOUNT_LENGTH],
            address=address[:_ADDRESS_LENGTH],
            at=now,
        )
    )
    session.flush()


def forget_old_attempts(session: Session, now: datetime) -> int:
    """Delete failed attempts no limit remembers any more; returns how many. For the sweeper."""
    result = session.execute(delete(FailedAttempt).where(FailedAttempt.at <= now - LONGEST_MEMORY))
    return int(getattr(result, "rowcount", 0) or 0)


def _too_many(wait: timedelta, what: str) -> TooManyAttempts:
    seconds = retry_after_seconds(wait)
    return TooManyAttempts(
        f"too many wrong {what}; try again in {seconds} seconds", retry_after=seconds
    )


def check_join_code_allowed(session: Session, address: str, now: datetime) -> None:
    """TooManyAttempts when this address has guessed too many wrong join codes lately."""
    failures = _recent_failures(
        session,
        AttemptKind.JOIN_CODE,
        FailedAttempt.address == address[:_ADDRESS_LENGTH],
        now,
    )
    wait = join_code_wait(failures, now)
    if wait:
        raise _too_many(wait, "codes")


# ---- signing in -------------------------------------------------------------------------------


def account_of(handle: str) -> str:
    """The key a handle is looked up and counted by: trimmed, lower case."""
    return handle.strip().lower()[:_ACCOUNT_LENGTH]


@dataclass(frozen=True)
class SignInAttempt:
    """What checking one sign-in needs, read before the password is hashed."""

    account: str
    address: str
    person_id: int | None
    password_hash: str | None


def begin_sign_in(session: Session, handle: str, address: str, now: datetime) -> SignInAttempt:
    """The stored hash to check the password against (None for an unknown or inactive handle),
    or TooManyAttempts when the account or the address must wait: then nothing is hashed."""
    account = account_of(handle)
    address = address[:_ADDRESS_LENGTH]
    wait = sign_in_wait(
        _recent_failures(session, AttemptKind.SIGN_IN, FailedAttempt.account == account, now),
        _recent_failures(session, AttemptKind.SIGN_IN, FailedAttempt.address == address, now),
        now,
    )
    if wait:
        raise _too_many(wait, "passwords")
    person = session.scalar(select(Person).where(Person.handle == account))
    if person is None or not person.active:
        return SignInAttempt(account, address, None, None)
    return SignInAttempt(account, address, person.id, person.password_hash)


def record_failed_sign_in(session: Session, attempt: SignInAttempt, now: datetime) -> None:
    record_failed_attempt(session, AttemptKind.SIGN_IN, attempt.account, attempt.address, now)


def wrong_password() -> NotSignedIn:
    """The one answer to a wrong handle or password, so neither can be told from the other."""
    return NotSignedIn("unknown handle or wrong password", field="password")


def finish_sign_in(
    session: Session, attempt: SignInAttempt, now: datetime, days: int
) -> tuple[Person, str, WebSession]:
    """After the password matched: the person, a new session's cookie value and its row. The
    account's failures are forgotten (the address's are not: they may be someone else's)."""
    person = session.get(Person, attempt.person_id) if attempt.person_id is not None else None
    # The row may have changed while the password was checked, outside any transaction.
    if person is None or not person.active or person.password_hash != attempt.password_hash:
        raise wrong_password()
    session.execute(
        delete(FailedAttempt).where(
            FailedAttempt.kind == AttemptKind.SIGN_IN.value,
            FailedAttempt.account == attempt.account,
        )
    )
    token, row = start_web_session(session, person, now, days)
    return person, token, row


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
# Never waits: when another request of the same token holds the row (it is recording the same
# use), SKIP LOCKED leaves the row to it instead of queueing this request behind that one.
_TOKEN_USED = (
    update(_TOKENS)
    .where(
        _TOKENS.c.id
        == select(_TOKENS.c.id)
        .where(_TOKENS.c.id == bindparam("token_id"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
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


# ---- password reset links ---------------------------------------------------------------------

# Long enough to pass the link on the same working day; short enough that a forgotten link in a
# chat history is soon worth nothing.
PASSWORD_RESET_VALID = timedelta(hours=24)


def end_web_sessions_of(session: Session, person_id: int) -> None:
    """Sign the person out of every browser."""
    session.execute(delete(WebSession).where(WebSession.person_id == person_id))


def revoke_tokens_of(session: Session, person_id: int, now: datetime) -> None:
    """Revoke every API token of the person (they stay revoked if the person comes back)."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def issue_password_reset(
    session: Session, person: Person, by_id: int, now: datetime
) -> tuple[str, PasswordReset]:
    """A one-time secret for the person to choose a new password (returned once; only its hash
    is kept). Earlier unused links of the person stop working."""
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.person_id == person.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    secret = secrets.token_urlsafe(32)
    row = PasswordReset(
        person_id=person.id,
        token_hash=_digest(secret),
        created_by_id=by_id,
        created_at=now,
        expires_at=now + PASSWORD_RESET_VALID,
    )
    session.add(row)
    session.flush()
    return secret, row


def password_reset_for(session: Session, secret: str, now: datetime) -> PasswordReset | None:
    """The unused, unexpired reset behind a link's secret, whose person is active; else None."""
    if not secret:
        return None
    row = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _digest(secret)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    person = session.get(Person, row.person_id)
    if person is None or not person.active:
        return None
    return row


def finish_password_reset(
    session: Session, secret: str, password_hash: str, now: datetime
) -> Person:
    """Set the new password (hashed beforehand, off the transaction) and use the link up. The
    person is signed out of every browser (their API tokens, not tied to the password, keep
    working). NotFound when the link no longer works."""
    row = password_reset_for(session, secret, now)
    if row is None:
        raise NotFound("this password link has expired or was already used", field="token")
    person = session.get(Person, row.person_id)
    assert person is not None
    row.used_at = now
    person.password_hash = password_hash
    end_web_sessions_of(session, person.id)
    # A locked-out person may sign in at once with the new password.
    session.execute(
        delete(FailedAttempt).where(
            FailedAttempt.kind == AttemptKind.SIGN_IN.value,
            FailedAttempt.account == account_of(person.handle),
        )
    )
    session.flush()
    return person
