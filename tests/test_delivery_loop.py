"""The shared claim-send-record loop's own rules: how one try settles an outbox row, and how a
failed answer reads (the loop itself runs in tests/webhooks and tests/chat, on both databases)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from followthrough.delivery_loop import HttpAnswer, Outcome, http_post, settle

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


@dataclass
class Row:
    created_at: datetime = T0
    next_attempt_at: datetime = T0
    claimed_until: datetime | None = T0 + timedelta(minutes=10)
    attempts: int = 0
    state: str = "pending"


def test_a_sent_row_counts_its_try_and_is_released_its_state_left_to_the_caller() -> None:
    row = Row()
    assert settle(row, True, T0, DAY) is Outcome.SENT
    assert (row.attempts, row.claimed_until, row.state) == (1, None, "pending")


def test_a_failed_row_waits_30_seconds_then_a_minute() -> None:
    row = Row()
    assert settle(row, False, T0, DAY) is Outcome.RETRY
    assert row.next_attempt_at == T0 + timedelta(seconds=30)
    at = row.next_attempt_at
    assert settle(row, False, at, DAY) is Outcome.RETRY
    assert row.next_attempt_at == at + timedelta(seconds=60)
    assert (row.attempts, row.claimed_until, row.state) == (2, None, "pending")


def test_the_last_try_falls_at_the_end_of_the_window_and_a_failure_then_gives_up() -> None:
    row = Row(attempts=12)  # waits are 6 h by now
    at = T0 + timedelta(hours=20)
    assert settle(row, False, at, DAY) is Outcome.RETRY
    assert row.next_attempt_at == T0 + DAY  # not 26 h: the window ends first
    assert settle(row, False, T0 + DAY, DAY) is Outcome.GIVEN_UP
    assert row.state == "failed"


def test_a_failure_reads_with_its_status_or_its_error() -> None:
    assert HttpAnswer(500, "not now", 3).in_words == "500: not now"
    assert HttpAnswer(404, None, 3).in_words == "404"
    assert HttpAnswer(None, "ReadTimeout: timed out", 500).in_words == "ReadTimeout: timed out"
    assert HttpAnswer(204, None, 3).in_words is None
    assert not HttpAnswer(None, "x", 1).delivered
    assert HttpAnswer(299, None, 1).delivered
    assert not HttpAnswer(300, None, 1).delivered


def test_a_post_never_raises_for_the_receivers_failure() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/down":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(503, text="busy")

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        busy = http_post(client, "http://receiver.test/busy", b"{}", {})
        down = http_post(client, "http://receiver.test/down", b"{}", {})
    assert (busy.status_code, busy.error) == (503, "busy")
    assert down.status_code is None
    assert down.error == "ConnectError: refused"
