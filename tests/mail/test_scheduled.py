"""The sweeper sends the outbox when a mail server is set, and only then."""

from __future__ import annotations

from followthrough.db import Database
from followthrough.notify import service as notify
from followthrough.sweeper.service import PERIODIC_JOBS, jobs_for, sweep
from tests.conftest import T0
from tests.factories import World
from tests.mail.conftest import SmtpServer
from tests.mail.helpers import mail_settings, outbox


def test_the_sweeper_sends_due_mail_when_a_server_is_set(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    with db.unit_of_work() as session:
        notify.notify(session, world.people["dan"], "escalation", "Escalated", T0)
    fired = sweep(db, T0, jobs=jobs_for(mail_settings(db, smtp_server.settings())))
    assert fired["mail sent"] == 1
    assert len(smtp_server.received) == 1
    assert [row.state for row in outbox(db)] == ["sent"]


def test_without_a_server_or_a_secret_the_outbox_only_fills(db: Database) -> None:
    for settings in (mail_settings(db, smtp_host=None), mail_settings(db, secret_key=None)):
        assert "mail sent" not in dict(jobs_for(settings))
    assert "mail sent" not in dict(PERIODIC_JOBS)
