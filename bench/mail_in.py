"""Mail in: the time from a reply's arrival to its update on the request.

Two ways in, each timed over the same replies on SQLite and PostgreSQL:
- the receiver: an SMTP client hands the reply to `followthrough mail serve`'s receiver (in this
  process, on its own thread); timed from the start of the SMTP conversation to the update row
  being visible to another connection (the receiver answers 250 only after the commit);
- the mailbox: the reply is put in a real Dovecot mailbox by IMAP APPEND while the poller waits
  with IDLE; timed from the APPEND to the update row being visible.
Target: p95 under 2 s either way.
"""

from __future__ import annotations

import itertools
import smtplib
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from imap_tools import MailBoxUnencrypted
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from tests.factories import build_world
from tests.mail import corpus
from tests.mail.conftest import free_port
from tests.mail.dovecot import running_dovecot

from bench.desk import PG_ADMIN_URL
from bench.scratch import migrated_database
from followthrough.attachments.storage import LocalFolderStore
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail import imap, receiver
from followthrough.requests.models import RequestUpdate
from followthrough.requests.service import NewRequest, open_request

PG_DB = "ft_bench_mail_in"
TARGET_P95 = 2.0
ASHA = "Asha Assessor <asha@example.com>"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _database(backend: str, pg_admin_url: str) -> AbstractContextManager[Database]:
    return migrated_database(backend, pg_admin_url, PG_DB)


def _world(database: Database) -> tuple[int, int]:
    """The test insurer; one request raised by Asha. (request id, Asha's id)"""
    with database.unit_of_work() as session:
        world = build_world(session)
        asha = world.actor(session, "asha")
        request = open_request(
            session,
            asha,
            NewRequest(
                title="Policy HM-1234 has the wrong address",
                need="Correct it",
                service_id=world.services["correct_policy"],
            ),
            datetime.now(UTC),
        )
        return request.id, asha.person_id


def _update_count(database: Database, request_id: int) -> int:
    with database.unit_of_work(readonly=True) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(RequestUpdate)
                .where(RequestUpdate.request_id == request_id)
            )
            or 0
        )


def _wait_for(database: Database, request_id: int, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while _update_count(database, request_id) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the update never appeared")
        time.sleep(0.005)


def _replies(request_id: int, samples: int) -> list[bytes]:
    makers: list[Callable[[str, int, str], corpus.Sample]] = [
        corpus.gmail_reply,
        corpus.outlook_reply,
        corpus.apple_mail_reply,
        corpus.html_only_reply,
    ]
    return [
        corpus.wire(makers[n % len(makers)](ASHA, request_id, f"Reply number {n}.").message)
        for n in range(samples)
    ]


def _settings(folder: Path, **more: object) -> Settings:
    return Settings(
        mail_domain=corpus.DOMAIN,
        mail_inbound_address=corpus.INBOUND,
        mail_from=corpus.DESK,
        attachment_folder=folder,
        **more,  # type: ignore[arg-type]
    )


def _clock() -> Callable[[], datetime]:
    """A clock a minute on per mail taken: 200 replies from one person within seconds would
    be past the per-sender rate limit (a real person's replies are minutes apart)."""
    ticks = itertools.count()
    start = datetime.now(UTC)
    return lambda: start + timedelta(minutes=next(ticks))


def through_receiver(database: Database, samples: int) -> list[float]:
    request_id, _ = _world(database)
    with tempfile.TemporaryDirectory() as folder:
        settings = _settings(Path(folder))
        take = receiver.desk_take(settings, database, LocalFolderStore(Path(folder)), _clock())
        controller = receiver.start_receiver(
            settings,
            take,
            receiver.desk_takes(settings, database),
            host="127.0.0.1",
            port=free_port(),
            lmtp=False,
        )
        times = []
        try:
            for n, raw in enumerate(_replies(request_id, samples), start=1):
                started = time.perf_counter()
                with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as client:
                    client.sendmail("asha@example.com", [corpus.reply_to_address(request_id)], raw)
                _wait_for(database, request_id, n)
                times.append(time.perf_counter() - started)
        finally:
            controller.stop()
    return times


def through_imap_idle(database: Database, samples: int) -> list[float]:
    request_id, _ = _world(database)
    with running_dovecot() as server, tempfile.TemporaryDirectory() as folder:
        settings = _settings(
            Path(folder),
            imap_host=server.host,
            imap_port=server.port,
            imap_security="none",
            imap_username=server.username,
            imap_password=SecretStr(server.password),
            imap_idle_seconds=60.0,
        )
        take = receiver.desk_take(settings, database, LocalFolderStore(Path(folder)), _clock())
        stop = threading.Event()
        polled = threading.Event()
        loop = threading.Thread(
            target=imap.poll_forever,
            args=(settings, take),
            kwargs={"stop": stop.is_set, "on_poll": lambda _p: polled.set()},
            daemon=True,
        )
        loop.start()
        if not polled.wait(30):
            raise RuntimeError("the poller never polled")
        times = []
        try:
            with MailBoxUnencrypted(server.host, server.port).login(
                server.username, server.password
            ) as box:
                for n, raw in enumerate(_replies(request_id, samples), start=1):
                    started = time.perf_counter()
                    box.append(raw, settings.imap_folder)
                    _wait_for(database, request_id, n)
                    times.append(time.perf_counter() - started)
                    # The poller is back in IDLE before the next one arrives, as between
                    # real replies.
                    time.sleep(0.05)
        finally:
            stop.set()
            # The poller hears `stop` when its IDLE ends; a last mail wakes it at once.
            with MailBoxUnencrypted(server.host, server.port).login(
                server.username, server.password
            ) as box:
                box.append(b"Subject: stop\r\n\r\nstop\r\n", settings.imap_folder)
            loop.join(timeout=90)
    return times


def run(
    console: Console,
    *,
    samples: int = 200,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    pg_admin_url: str = PG_ADMIN_URL,
) -> list[tuple[str, str, int, float, float, float]]:
    console.rule("mail in: reply arrival to update")
    rows = []
    for backend in backends:
        for way, measure in (
            ("receiver (SMTP)", through_receiver),
            ("IMAP IDLE", through_imap_idle),
        ):
            with _database(backend, pg_admin_url) as database:
                times = measure(database, samples)
            rows.append((backend, way, len(times), pct(times, 0.5), pct(times, 0.95), max(times)))
    table = Table("database", "way in", "replies", "p50 s", "p95 s", "max s", "target p95 < 2 s")
    for backend, way, n, p50, p95, top in rows:
        table.add_row(
            backend,
            way,
            str(n),
            f"{p50:.3f}",
            f"{p95:.3f}",
            f"{top:.3f}",
            "met" if p95 < TARGET_P95 else "NOT met",
        )
    console.print(table)
    return rows


if __name__ == "__main__":
    run(Console())
