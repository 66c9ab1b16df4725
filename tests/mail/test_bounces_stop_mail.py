"""A bounce recorded by mail in stops mail out to that address until someone fixes it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from followthrough.attachments.storage import LocalFolderStore
from followthrough.db import Database
from followthrough.mail import inbound
from followthrough.mail.outbound import send_outbox
from followthrough.notify import service as notify
from tests.conftest import T0
from tests.factories import World
from tests.mail import corpus
from tests.mail.conftest import SmtpServer
from tests.mail.helpers import mail_settings, open_policy_fix


def _tell_asha(db: Database, world: World, message: str) -> None:
    with db.unit_of_work() as session:
        notify.notify(session, world.people["asha"], "feedback", message, T0)


def test_no_mail_goes_to_a_bouncing_address_until_it_is_fixed(
    db: Database, world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    request_id = open_policy_fix(db, world, T0)
    settings = mail_settings(db, smtp_server.settings())
    # Everything queued so far goes out first.
    send_outbox(db, settings, T0)
    before = len(smtp_server.received)
    bounce = corpus.dsn_bounce(request_id, "asha@example.com")
    with db.unit_of_work() as session:
        inbound.receive(
            session,
            LocalFolderStore(tmp_path / "files"),
            settings.model_copy(
                update={
                    "mail_domain": corpus.DOMAIN,
                    "mail_inbound_address": corpus.INBOUND,
                }
            ),
            corpus.wire(bounce.message),
            came_by="smtp",
            now=T0,
        )
    _tell_asha(db, world, "Cleo thanked you")
    report = send_outbox(db, settings, T0 + timedelta(minutes=1))
    assert report.counts["held: the address bounces"] == 1
    sent_to = [r.recipients for r in smtp_server.received[before:]]
    assert ("asha@example.com",) not in sent_to

    with db.unit_of_work() as session:
        inbound.fix_bouncing_address(session, "asha@example.com", world.people["ada"], T0)
    _tell_asha(db, world, "Lee thanked you too")
    send_outbox(db, settings, T0 + timedelta(minutes=2))
    assert ("asha@example.com",) in [r.recipients for r in smtp_server.received[before:]]
