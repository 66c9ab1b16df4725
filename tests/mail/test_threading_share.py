"""Done means: at least 99% of the messages sent about a request thread, with all three headers.

The demo's own outbox (a small demo insurer: its history's notifications and the seed story's)
is sent through the real sender to a real SMTP server. Over every message that server received
about a request, the test counts the share whose Message-ID is there and whose In-Reply-To and
References point to that request's thread root, written here from the contract's shape
"<request-{id}@{domain}>", not taken from the code. The demo resets its database, so this runs
on a SQLite file of its own (the shared PostgreSQL test database is not the demo's to reset).
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.demo.generator import build_demo
from followthrough.mail.outbound import send_outbox
from followthrough.notify.models import Notification, OutboxMessage
from tests.mail.conftest import SmtpServer
from tests.mail.helpers import mail_settings

DOMAIN = "desk.test"
TARGET = 0.99


def test_at_least_99_percent_of_messages_about_a_request_thread(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    build_demo(url, requests=300, seed=13, console=Console(quiet=True))
    database = Database(url)
    try:
        with database.unit_of_work(readonly=True) as session:
            pending = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
            earliest = session.scalar(select(func.min(OutboxMessage.created_at)))
            latest = session.scalar(select(func.max(OutboxMessage.created_at)))
        assert pending >= 100, "the small demo should queue a fair number of mails"
        assert earliest is not None
        assert latest is not None
        # The demo's history is months old when it is sent here (its buddy programme's first
        # introductions among the oldest); nothing is to be dropped as stale.
        oldest_hours = math.ceil((latest - earliest) / timedelta(hours=1)) + 24 * 4
        settings = mail_settings(
            database, smtp_server.settings(), mail_domain=DOMAIN, mail_max_age_hours=oldest_hours
        )
        # A day after the last notification, and again a day later for anything held back
        # (quiet hours, daily summaries).
        for day in (1, 2, 3):
            send_outbox(database, settings, latest + timedelta(days=day))
        with database.unit_of_work(readonly=True) as session:
            about: dict[str | None, int | None] = dict(
                session.execute(
                    select(OutboxMessage.message_id, Notification.request_id).join(
                        Notification, OutboxMessage.notification_id == Notification.id
                    )
                ).all()
            )
            states: dict[str, int] = dict(
                session.execute(
                    select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
                ).all()
            )
    finally:
        database.dispose()

    received = smtp_server.received
    assert states == {"sent": pending}
    assert len(received) == pending

    about_a_request = 0
    threaded = 0
    for got in received:
        message = got.message()
        message_id = message["Message-ID"]
        # Every message the server got is one outbox row's.
        assert message_id is not None
        assert message_id in about
        request_id = about[message_id]
        if request_id is None:
            continue
        about_a_request += 1
        root = f"<request-{request_id}@{DOMAIN}>"
        references = str(message["References"] or "").split()
        if (
            re.fullmatch(r"<[^<>\s@]+@desk\.test>", str(message_id))
            and str(message["In-Reply-To"] or "").strip() == root
            and root in references
        ):
            threaded += 1
    share = threaded / about_a_request
    print(
        f"threading: {threaded} of {about_a_request} messages about a request carry Message-ID, "
        f"In-Reply-To and References to its thread root ({share:.1%}); "
        f"{len(received) - about_a_request} other messages"
    )
    assert about_a_request >= 100
    assert share >= TARGET
