"""Mail out: outbound messages per second from the outbox to a local SMTP server.

On SQLite and PostgreSQL: the test insurer, a few requests, and N notifications queued (each
with its outbox row, as the desk writes them). Then one `send_outbox` run, as `followthrough
mail send` does it: claim a batch and commit, compose each message (plain text and HTML on the
reader's clock), hand it to an aiosmtpd server on this machine over one connection, record each
outcome in its own transaction. Timed from the start of the run to the last record; the server
counts what it received (every message exactly once). The SMTP server runs in a process of its
own, so the CPU figure is the sender's alone. Target: at least 200 messages/s.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from tests.factories import build_world
from tests.mail.conftest import free_port

from bench.desk import PG_ADMIN_URL
from bench.scratch import migrated_database
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail.outbound import send_outbox
from followthrough.notify import service as notify
from followthrough.requests.service import NewRequest, open_request

PG_DB = "ft_bench_mail_out"
TARGET_PER_SECOND = 200.0
KINDS = ("update_posted", "promise_due", "escalation", "feedback", "offer")


def _database(backend: str, pg_admin_url: str) -> AbstractContextManager[Database]:
    return migrated_database(backend, pg_admin_url, PG_DB)


def _queue(database: Database, messages: int, at: datetime) -> None:
    """The insurer, 20 requests, and `messages` notifications (all but the offers the requests
    made themselves) spread over its people, most about a request."""
    with database.unit_of_work() as session:
        world = build_world(session)
        asha = world.actor(session, "asha")
        requests = [
            open_request(
                session,
                asha,
                NewRequest(
                    title=f"Policy HM-{1000 + n} has the wrong address",
                    need="Correct it",
                    service_id=world.services["correct_policy"],
                ),
                at,
            ).id
            for n in range(20)
        ]
        people = sorted(world.people.values())
        already = 20  # each request offered to the duty owner
        for n in range(messages - already):
            notify.notify(
                session,
                people[n % len(people)],
                KINDS[n % len(KINDS)],
                f"Update #{n}: the address on HM-{1000 + n % 20} was checked; next step by 15:00 UTC",
                at,
                request_id=None if n % 10 == 0 else requests[n % len(requests)],
            )


# The SMTP server's process: aiosmtpd accepting every message and writing each one's Message-ID
# to a file, one a line, until it is stopped.
SERVER = """
import re, sys, time
from aiosmtpd.controller import Controller
MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>]+>)", re.M | re.I)
out = open(sys.argv[2], "ab", buffering=0)
class Handler:
    async def handle_DATA(self, server, session, envelope):
        found = MESSAGE_ID.search(envelope.original_content or envelope.content)
        out.write((found[1] if found else b"?") + b"\\n")
        return "250 OK"
Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]), decode_data=False).start()
while True:
    time.sleep(3600)
"""


@contextmanager
def _smtp_server(folder: Path) -> Iterator[tuple[int, Path]]:
    port, received = free_port(), folder / "received.txt"
    received.touch()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(received)])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the bench SMTP server did not start") from None
                time.sleep(0.1)
        yield port, received
    finally:
        process.terminate()
        process.wait(10)


def measure(backend: str, messages: int, pg_admin_url: str) -> dict[str, float]:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder, _smtp_server(Path(folder)) as (port, log):
        with _database(backend, pg_admin_url) as database:
            _queue(database, messages, at)
            settings = Settings(
                database_url=database.url,
                secret_key="bench-secret",
                smtp_host="127.0.0.1",
                smtp_port=port,
                smtp_security="none",
                mail_domain="bench.test",
            )
            cpu, wall = time.process_time(), time.perf_counter()
            report = send_outbox(database, settings, at + timedelta(seconds=1))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        received = Counter(log.read_bytes().decode().split())
    assert report.server_error is None, report.server_error
    assert report.counts["sent"] == messages, report.counts
    assert len(received) == messages, "not every message arrived"
    assert set(received.values()) == {1}, "a message arrived twice"
    return {
        "messages": messages,
        "seconds": wall,
        "per_second": messages / wall,
        "cpu_ms_per_message": 1000 * cpu / messages,
    }


def run(
    console: Console,
    *,
    messages: int = 3000,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    pg_admin_url: str = PG_ADMIN_URL,
    markdown: Path | None = None,
) -> dict[str, dict[str, float]]:
    results = {backend: measure(backend, messages, pg_admin_url) for backend in backends}
    table = Table(
        title=f"Mail out: outbox to a local SMTP server (target ≥ {TARGET_PER_SECOND:.0f}/s)"
    )
    for column in ("database", "messages", "seconds", "messages/s", "CPU ms/message", "target"):
        table.add_column(column)
    lines = [
        "| database | messages | seconds | messages/s | CPU ms/message |",
        "|---|---|---|---|---|",
    ]
    for backend, r in results.items():
        met = "met" if r["per_second"] >= TARGET_PER_SECOND else "NOT met"
        table.add_row(
            backend,
            f"{r['messages']:.0f}",
            f"{r['seconds']:.2f}",
            f"{r['per_second']:.0f}",
            f"{r['cpu_ms_per_message']:.2f}",
            met,
        )
        lines.append(
            f"| {backend} | {r['messages']:.0f} | {r['seconds']:.2f} | {r['per_second']:.0f} "
            f"| {r['cpu_ms_per_message']:.2f} |"
        )
    console.print(table)
    if markdown is not None:
        markdown.write_text("\n".join(lines) + "\n")
    return results
