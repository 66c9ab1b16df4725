"""Webhook rules: pure functions over plain values (no database, no clock, no network)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from urllib.parse import urlsplit

# The first retry comes quickly (a receiver restarting), later ones ever further apart, never
# more than MAX_WAIT apart, so a receiver that is down for a weekend hears again within hours.
FIRST_WAIT = timedelta(seconds=30)
MAX_WAIT = timedelta(hours=6)
# An old secret keeps signing next to the new one this long after a rotation, so the receiver
# can switch over without losing a message.
ROTATION_OVERLAP = timedelta(hours=24)
SECRET_PREFIX = "whsec_"


def retry_wait(failed_attempts: int) -> timedelta:
    """How long to wait after the `failed_attempts`-th failure (1, 2, ...): doubling from
    FIRST_WAIT, at most MAX_WAIT."""
    if failed_attempts < 1:
        raise ValueError("a wait follows a failure")
    # Capped before doubling too far: 2**30 seconds would overflow nothing, but says nothing.
    doubling = min(failed_attempts - 1, 20)
    return min(FIRST_WAIT * (1 << doubling), MAX_WAIT)


def gives_up(created_at: datetime, failed_at: datetime, retry_window: timedelta) -> bool:
    """A delivery that failed at `failed_at` is given up once its retry window has passed."""
    return failed_at >= created_at + retry_window


def next_attempt_at(
    created_at: datetime, failed_at: datetime, failed_attempts: int, retry_window: timedelta
) -> datetime | None:
    """When to try again after a failure, or None when the delivery is given up. The last try
    falls at the end of the window, so a delivery is always tried for the whole window."""
    if gives_up(created_at, failed_at, retry_window):
        return None
    return min(failed_at + retry_wait(failed_attempts), created_at + retry_window)


def is_delivered(status_code: int | None) -> bool:
    """Any 2xx answer means the receiver has it; anything else (or no answer) is a failure."""
    return status_code is not None and 200 <= status_code < 300


def disables_subscription(last_success_at: datetime | None, given_up_created_at: datetime) -> bool:
    """Persistent failure: a delivery was given up, and nothing reached the receiver since that
    delivery was queued (so every try for the whole retry window failed)."""
    return last_success_at is None or last_success_at < given_up_created_at


def persistent_failure(retry_hours: float, last_status: int | None) -> str:
    """Why a receiver was switched off, in words for the admins told of it."""
    return (
        f"every try for {round(retry_hours)} hours failed "
        f"(last answer: {last_status or 'no answer'})"
    )


def new_secret(random_bytes: bytes) -> str:
    """A signing secret in the Standard Webhooks form ("whsec_" + base64 of 24-64 bytes)."""
    if not 24 <= len(random_bytes) <= 64:
        raise ValueError("a webhook secret is 24 to 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode("ascii")


def signing_secrets(
    secret: str, previous: str | None, previous_until: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign a message now: the current one, and during a rotation the old."""
    if previous and previous_until is not None and now < previous_until:
        return [secret, previous]
    return [secret]


def url_problem(url: str) -> str | None:
    """Why `url` cannot receive webhooks, in words for the admin; None when it can."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        return (
            "The address must start with https:// (or http:// for a receiver inside your network)."
        )
    if not parts.hostname:
        return "The address needs a host name, as in https://example.com/hooks."
    if parts.username or parts.password:
        return (
            "Leave the user name and password out of the address; the signature proves who sent it."
        )
    if len(url) > 2000:
        return "The address is longer than 2,000 characters."
    return None
