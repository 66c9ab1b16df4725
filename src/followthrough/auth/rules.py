"""How many wrong guesses (passwords, game join codes) may be tried before a wait, and how long.

Pure: the failure times come in, a wait comes out. The policy, per counted key:

- the first `free_failures` failures within `memory` cost nothing;
- after that, each further failure makes the next attempt wait `first_wait` after the latest
  failure, doubling with every failure (30 s, 1 min, 2 min, 4 min ...) up to `longest_wait`;
- failures older than `memory` are forgotten.

Sign-in counts per account (5 free) and per client address (20 free, so one office behind one
address is not locked out by a colleague's typos, while a single guesser is); a join code counts
per address only (10 free), since the code is the secret being guessed. Only failures are
counted, and a refused attempt is not a failure: it was never checked, so it costs no password
hash and adds no row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class AttemptKind(StrEnum):
    """What was guessed; stored in `failed_attempt.kind`."""

    SIGN_IN = "sign_in"
    JOIN_CODE = "join_code"


@dataclass(frozen=True)
class Limit:
    """How failures of one kind, counted per one key (account or address), slow the next try."""

    free_failures: int
    first_wait: timedelta
    longest_wait: timedelta
    memory: timedelta


SIGN_IN_PER_ACCOUNT = Limit(
    free_failures=5,
    first_wait=timedelta(seconds=30),
    longest_wait=timedelta(minutes=15),
    memory=timedelta(hours=1),
)
SIGN_IN_PER_ADDRESS = Limit(
    free_failures=20,
    first_wait=timedelta(seconds=30),
    longest_wait=timedelta(minutes=15),
    memory=timedelta(hours=1),
)
JOIN_CODE_PER_ADDRESS = Limit(
    free_failures=10,
    first_wait=timedelta(seconds=30),
    longest_wait=timedelta(minutes=15),
    memory=timedelta(hours=1),
)
# Failures older than every limit's memory can be deleted.
LONGEST_MEMORY = max(
    SIGN_IN_PER_ACCOUNT.memory, SIGN_IN_PER_ADDRESS.memory, JOIN_CODE_PER_ADDRESS.memory
)
# Enough recent failures to decide any limit: beyond this many the wait is the longest anyway.
RECENT_FAILURES_NEEDED = 64
NO_WAIT = timedelta(0)


def wait_after_failures(failures: Iterable[datetime], limit: Limit, now: datetime) -> timedelta:
    """How long from `now` until the next attempt may be checked; zero when it may be now."""
    recent = [at for at in failures if at > now - limit.memory]
    beyond_free = len(recent) - limit.free_failures
    if beyond_free < 0:
        return NO_WAIT
    # Capped before doubling: 2**20 first waits is past any sensible longest wait already.
    wait = min(limit.first_wait * (1 << min(beyond_free, 20)), limit.longest_wait)
    return max(max(recent) + wait - now, NO_WAIT)


def sign_in_wait(
    account_failures: Iterable[datetime], address_failures: Iterable[datetime], now: datetime
) -> timedelta:
    """The wait before a sign-in may be checked: the longer of the account's and the address's."""
    return max(
        wait_after_failures(account_failures, SIGN_IN_PER_ACCOUNT, now),
        wait_after_failures(address_failures, SIGN_IN_PER_ADDRESS, now),
    )


def join_code_wait(address_failures: Iterable[datetime], now: datetime) -> timedelta:
    """The wait before another join code from this address is looked up."""
    return wait_after_failures(address_failures, JOIN_CODE_PER_ADDRESS, now)


def retry_after_seconds(wait: timedelta) -> int:
    """Whole seconds for a Retry-After header: rounded up, so retrying then is never too early."""
    return max(1, math.ceil(wait.total_seconds()))


def wait_in_words(seconds: int) -> str:
    """'45 seconds' or '4 minutes', for telling a person how long to wait."""
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"
