"""The sender as a real process, killed with SIGKILL in the middle of a batch and started again:
the SMTP server counts what it received, and every notification arrives exactly once. The kill
comes from outside at a moment the sender does not choose, and, in the harshest case, from inside
the server the instant it has a whole message and before it answers "250 accepted"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from followthrough.db import Database
from followthrough.mail.outbound import send_outbox
from followthrough.notify import service as notify
from tests.conftest import T0
from tests.factories import World
from tests.mail.conftest import SmtpServer
from tests.mail.helpers import DOMAIN, SECRET, mail_settings, outbox

MESSAGES = 240


def _queue(db: Database, world: World, count: int) -> None:
    people = sorted(world.people.values())
    with db.unit_of_work() as session:
        for n in range(count):
            notify.notify(session, people[n % len(people)], "feedback", f"Thanks #{n}", T0)


def _sender(db: Database, smtp_server: SmtpServer, now: str) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOLLOWTHROUGH_")}
    env.update(
        FOLLOWTHROUGH_SMTP_HOST=smtp_server.host,
        FOLLOWTHROUGH_SMTP_PORT=str(smtp_server.port),
        FOLLOWTHROUGH_SMTP_SECURITY="none",
        FOLLOWTHROUGH_SECRET_KEY=SECRET,
        FOLLOWTHROUGH_MAIL_DOMAIN=DOMAIN,
        FOLLOWTHROUGH_MAIL_BATCH_SIZE="50",
        FOLLOWTHROUGH_MAIL_LEASE_SECONDS="300",
    )
    command = Path(sys.executable).parent / "followthrough"
    return subprocess.Popen(
        [str(command), "mail", "send", "--database-url", db.url, "--now", now],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_a_sender_killed_mid_batch_loses_nothing_and_sends_each_message_once(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    _queue(db, world, MESSAGES)
    smtp_server.handler.delay = 0.01  # about 100 messages a second: the kill lands mid-run
    expected = {f"<n{row.id}@{DOMAIN}>" for row in outbox(db)}
    assert len(expected) == MESSAGES

    first = _sender(db, smtp_server, T0.isoformat())
    deadline = time.monotonic() + 60
    while len(smtp_server.received) < MESSAGES // 3:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the sender sent too little in a minute"
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL
    at_kill = len(smtp_server.received)
    assert at_kill < MESSAGES  # it really was stopped mid-run
    states = Counter(row.state for row in outbox(db))
    assert states["sending"] > 0  # claimed and not yet recorded: the lease must bring them back

    # Started again after the killed sender's lease has ended.
    second = _sender(db, smtp_server, (T0 + timedelta(minutes=10)).isoformat())
    _out, errors = second.communicate(timeout=120)
    assert second.returncode == 0, errors.decode()

    received = smtp_server.message_ids()
    assert Counter(received) == Counter(expected)  # every notification once, nothing else
    assert {row.state for row in outbox(db)} == {"sent"}
    print(f"\nkill -9 after {at_kill} received; then {len(received)} received for {MESSAGES}")


@pytest.mark.slow
def test_a_sender_killed_while_the_server_holds_a_whole_unanswered_message_sends_it_once(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    """The kill lands after the server has the message and its final "." but before it answers:
    the server keeps the message, and the sender never hears "250". Recording only after the
    answer would send it again; the sender recorded it as handed over before the "."."""
    _queue(db, world, 60)
    expected = {f"<n{row.id}@{DOMAIN}>" for row in outbox(db)}
    running: list[subprocess.Popen[bytes]] = []

    def kill_at_the_twentieth(count: int) -> None:
        if count == 20:
            running[0].send_signal(signal.SIGKILL)
            running[0].wait(timeout=10)

    smtp_server.handler.on_received = kill_at_the_twentieth
    running.append(_sender(db, smtp_server, T0.isoformat()))
    running[0].communicate(timeout=60)
    assert running[0].returncode == -signal.SIGKILL
    assert len(smtp_server.received) == 20
    states = Counter(row.state for row in outbox(db))
    assert states["handed"] == 1  # the twentieth: with the server, its answer never heard

    second = _sender(db, smtp_server, (T0 + timedelta(minutes=10)).isoformat())
    out, errors = second.communicate(timeout=120)
    assert second.returncode == 0, errors.decode()
    assert Counter(smtp_server.message_ids()) == Counter(expected)
    assert {row.state for row in outbox(db)} == {"sent"}
    assert b"handed over before a stop, counted as sent" in out


def test_two_senders_at_once_split_the_outbox_and_send_each_message_once(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    _queue(db, world, 120)
    settings = mail_settings(db, smtp_server.settings(), mail_batch_size=10)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            send_outbox(db, settings, T0)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    received = smtp_server.message_ids()
    assert len(received) == 120
    assert len(set(received)) == 120
    assert {row.state for row in outbox(db)} == {"sent"}
