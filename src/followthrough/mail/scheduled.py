"""Mail's scheduled work: the sweeper sends the outbox on every sweep when a mail server is set."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail.outbound import send_outbox

log = logging.getLogger("followthrough.mail")

Job = Callable[[Database, datetime], int]


def outbox_sender(settings: Settings) -> Job | None:
    """The sweeper's job that sends what is due, or None when mail is not set up (no server, or
    no secret key to sign its links with): then the outbox only fills, as before."""
    if not settings.smtp_host or settings.secret_key is None:
        return None

    def send_due_mail(database: Database, now: datetime) -> int:
        report = send_outbox(database, settings, now)
        if report.server_error is not None:
            # Nothing is lost: the messages wait for their next try. Say what to check.
            log.warning(
                "mail not sent: %s (FOLLOWTHROUGH_%s)",
                report.server_error,
                report.server_error.setting.upper(),
            )
        return report.counts["sent"]

    return send_due_mail
