"""Failed attempts on both databases, and the password lane's bounds."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta

import anyio
import pytest
from sqlalchemy import select

from followthrough.auth.models import FailedAttempt
from followthrough.auth.passwords import PasswordChecks, hash_password, password_matches
from followthrough.auth.rules import AttemptKind
from followthrough.auth.service import (
    begin_sign_in,
    check_join_code_allowed,
    forget_old_attempts,
    record_failed_attempt,
)
from followthrough.db import Database
from followthrough.errors import ServiceBusy, TooManyAttempts
from tests.conftest import T0
from tests.factories import PASSWORD, World


def test_forgetting_old_attempts_keeps_the_last_hour(db: Database) -> None:
    with db.unit_of_work() as session:
        for minutes_ago in (180, 61, 59, 1):
            record_failed_attempt(
                session,
                AttemptKind.SIGN_IN,
                "asha",
                "10.0.0.1",
                T0 - timedelta(minutes=minutes_ago),
            )
    with db.unit_of_work() as session:
        assert forget_old_attempts(session, T0) == 2
    with db.unit_of_work(readonly=True) as session:
        kept = sorted(session.scalars(select(FailedAttempt.at)))
    assert kept == [T0 - timedelta(minutes=59), T0 - timedelta(minutes=1)]


def test_a_refused_sign_in_reads_no_hash(db: Database, world: World) -> None:
    with db.unit_of_work() as session:
        attempt = begin_sign_in(session, "  ASHA ", "10.0.0.1", T0)
        assert attempt.account == "asha"
        assert attempt.password_hash is not None
        for _ in range(5):
            record_failed_attempt(session, AttemptKind.SIGN_IN, "asha", "10.0.0.9", T0)
    with db.unit_of_work(readonly=True) as session, pytest.raises(TooManyAttempts) as refused:
        begin_sign_in(session, "asha", "10.0.0.1", T0 + timedelta(seconds=10))
    assert refused.value.retry_after == 20


def test_join_code_failures_count_per_address_only(db: Database) -> None:
    with db.unit_of_work() as session:
        for number in range(10):
            record_failed_attempt(session, AttemptKind.JOIN_CODE, f"CODE{number}", "10.0.0.5", T0)
        # Sign-in failures from the same address do not count against its join codes.
        for _ in range(10):
            record_failed_attempt(session, AttemptKind.SIGN_IN, "lee", "10.0.0.6", T0)
    with db.unit_of_work(readonly=True) as session:
        with pytest.raises(TooManyAttempts):
            check_join_code_allowed(session, "10.0.0.5", T0)
        check_join_code_allowed(session, "10.0.0.6", T0)


def test_unknown_accounts_cost_a_full_check_and_never_match() -> None:
    stored = hash_password(PASSWORD)
    assert password_matches(stored, PASSWORD)
    assert not password_matches(stored, "wrong")
    assert not password_matches(None, PASSWORD)
    assert not password_matches("not a hash", PASSWORD)


def _run_on_a_thread_of_its_own(main: Callable[[], Awaitable[None]]) -> None:
    """anyio.run on a fresh thread: the test process's main thread may already run an event
    loop (Playwright's, once a browser test has run in this worker)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            anyio.run(main)
        except BaseException as failure:
            failures.append(failure)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def test_the_lane_refuses_at_once_when_enough_checks_wait() -> None:
    stored = hash_password(PASSWORD)
    lane = PasswordChecks(at_once=1, longest_wait=30, most_waiting=1)
    outcomes: list[object] = []

    async def check() -> None:
        try:
            outcomes.append(await lane.matches(stored, PASSWORD))
        except ServiceBusy as busy:
            outcomes.append(busy)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(check)
                await anyio.sleep(0.01)

    _run_on_a_thread_of_its_own(main)
    # One hashing, one waiting, two refused at once.
    assert outcomes.count(True) == 2
    refused = [o for o in outcomes if isinstance(o, ServiceBusy)]
    assert len(refused) == 2
    assert refused[0].retry_after == 30


def test_the_lane_gives_up_waiting_after_its_bound() -> None:
    stored = hash_password(PASSWORD)
    lane = PasswordChecks(at_once=1, longest_wait=0.05, most_waiting=10)
    outcomes: list[object] = []

    async def check() -> None:
        try:
            outcomes.append(await lane.matches(stored, PASSWORD))
        except ServiceBusy as busy:
            outcomes.append(busy)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(check)

    _run_on_a_thread_of_its_own(main)
    # A hash takes far longer than 50 ms: only the first gets a turn in time.
    assert outcomes.count(True) == 1
    assert sum(isinstance(o, ServiceBusy) for o in outcomes) == 2
