"""When a message that could not be sent is tried again, and when it is given up. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# However many tries, a message waits at most this long for the next one.
LONGEST_WAIT = timedelta(hours=6)


def retry_wait(attempts: int, first_wait_seconds: float) -> timedelta:
    """The wait after the `attempts`-th failed try: doubling from the first wait, capped."""
    if attempts < 1:
        raise ValueError("a wait follows a try")
    seconds = first_wait_seconds * 2 ** min(attempts - 1, 32)
    return min(timedelta(seconds=seconds), LONGEST_WAIT)


def is_permanent(smtp_code: int | None) -> bool:
    """A 5xx answer means the server will never take this message as it is (RFC 5321 4.2.1);
    a 4xx answer or no answer at all (a dropped connection, a timeout) may pass next time."""
    return smtp_code is not None and 500 <= smtp_code < 600


@dataclass(frozen=True)
class AfterFailure:
    """What becomes of a message whose try failed: tried again at `retry_at`, or given up."""

    give_up: bool
    retry_at: datetime | None


def after_failure(
    attempts: int, smtp_code: int | None, now: datetime, max_attempts: int, first_wait: float
) -> AfterFailure:
    if is_permanent(smtp_code) or attempts >= max_attempts:
        return AfterFailure(give_up=True, retry_at=None)
    return AfterFailure(give_up=False, retry_at=now + retry_wait(attempts, first_wait))
