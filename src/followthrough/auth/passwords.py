"""Password hashing on its own bounded lane, off the thread pool that serves everything else.

An argon2 check costs 0.2-0.6 s of a core. Run on the request pool, a dozen wrong guesses at
once took every worker and the desk stopped answering; run here, at most `at_once` checks use a
core each, at most `most_waiting` more wait (each at most `longest_wait` seconds, holding no
thread, lock or transaction), and the rest are told at once to come back: ServiceBusy, 503.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import cache
from typing import TypeVar

import anyio
from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request

from followthrough.errors import InvalidInput, ServiceBusy

T = TypeVar("T")

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# The longest password taken anywhere (set, reset or signed in with), so a password one form
# accepts is never one another refuses.
MAX_PASSWORD_LENGTH = 200


def hash_password(password: str) -> str:
    """The stored form of a new password (argon2, salted). Costs a hash: on the request path use
    `PasswordChecks.hashed` instead."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at most {MAX_PASSWORD_LENGTH} characters", field="password"
        )
    return _hasher.hash(password)


@cache
def _no_account_hash() -> str:
    # A real hash of a secret nobody knows, made once per process: checking a password against
    # it costs exactly what checking a real account's does.
    return _hasher.hash(secrets.token_urlsafe(32))


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one behind `password_hash`. With no hash (an unknown handle, a
    person without a password) the check still costs a full hash and answers False, so handles
    cannot be told apart by timing."""
    try:
        _hasher.verify(password_hash or _no_account_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


class PasswordChecks:
    """The per-process lane for password hashing: `at_once` hashes run at a time, on threads of
    their own; a check waits at most `longest_wait` seconds for its turn, and when `most_waiting`
    checks already wait it is refused at once."""

    def __init__(self, at_once: int, longest_wait: float, most_waiting: int) -> None:
        self.at_once = at_once
        self.longest_wait = longest_wait
        self.most_waiting = most_waiting
        self._turns: anyio.CapacityLimiter | None = None
        self._threads: anyio.CapacityLimiter | None = None

    def _limiters(self) -> tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]:
        # Made on first use, on the event loop that serves the app.
        if self._turns is None or self._threads is None:
            self._turns = anyio.CapacityLimiter(self.at_once)
            # The threads' own limiter, never contended (a turn is taken first): without one,
            # anyio would count the hash against the shared pool this lane exists to spare.
            self._threads = anyio.CapacityLimiter(self.at_once)
        return self._turns, self._threads

    @property
    def waiting(self) -> int:
        """How many checks wait for a turn now."""
        turns, _threads = self._limiters()
        return turns.statistics().tasks_waiting

    async def matches(self, password_hash: str | None, password: str) -> bool:
        """`password_matches`, run in turn on the lane."""
        return await self._in_turn(password_matches, password_hash, password)

    async def hashed(self, password: str) -> str:
        """`hash_password`, run in turn on the lane (for setting a password over HTTP)."""
        return await self._in_turn(hash_password, password)

    async def _in_turn(self, check: Callable[..., T], *args: object) -> T:
        turns, threads = self._limiters()
        busy = ServiceBusy(
            "too many sign-ins are being checked right now; nothing was checked, try again "
            "in a few seconds",
            retry_after=max(1, round(self.longest_wait)),
        )
        if turns.statistics().tasks_waiting >= self.most_waiting:
            raise busy
        with anyio.move_on_after(self.longest_wait) as waiting:
            await turns.acquire()
        if waiting.cancelled_caught:
            raise busy
        try:
            # Not abandoned on cancellation: the turn is given back only when the hash is done,
            # so the lane never runs more than `at_once` hashes.
            return await to_thread.run_sync(check, *args, limiter=threads)
        finally:
            turns.release()


def password_checks(request: Request) -> PasswordChecks:
    """The app's password lane, made from its settings on first use (on the event loop)."""
    app = request.app
    found: PasswordChecks | None = getattr(app.state, "password_checks", None)
    if found is None:
        config = app.state.settings
        found = app.state.password_checks = PasswordChecks(
            at_once=config.password_checks_at_once,
            longest_wait=config.password_check_wait_seconds,
            most_waiting=config.password_checks_waiting,
        )
    return found
