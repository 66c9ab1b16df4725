"""Refusals the receiver or the mailbox poller left queued are sent by the sweeper."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from followthrough.attachments.storage import LocalFolderStore
from followthrough.db import Database
from followthrough.mail import inbound
from followthrough.mail.inbound_models import InboundMail
from followthrough.requests import service as requests
from followthrough.requests.service import NewRequest
from followthrough.sweeper.service import jobs_for, sweep
from tests.conftest import T0
from tests.factories import World
from tests.mail import corpus
from tests.mail.conftest import SmtpServer
from tests.mail.helpers import mail_settings


def test_the_sweeper_sends_a_queued_refusal_once(
    db: Database, world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    settings = mail_settings(
        db,
        smtp_server.settings(),
        mail_domain=corpus.DOMAIN,
        mail_inbound_address=corpus.INBOUND,
        attachment_folder=tmp_path / "files",
    )
    with db.unit_of_work() as session:
        request_id = requests.open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(
                title="Policy HM-1234 has the wrong address",
                need="Correct it",
                service_id=world.services["correct_policy"],
            ),
            T0,
        ).id
    # A stranger's reply: refused, and the refusal waits (nobody ran `mail serve` to send it).
    stranger = corpus.gmail_reply("sam@elsewhere.example", request_id, "Hi").message
    with db.unit_of_work() as session:
        inbound.receive(
            session,
            LocalFolderStore(tmp_path / "files"),
            settings,
            stranger.as_bytes(),
            came_by="smtp",
            now=T0,
        )

    jobs = jobs_for(settings)
    assert sweep(db, T0, jobs=jobs)["refusals sent"] == 1
    assert sweep(db, T0, jobs=jobs)["refusals sent"] == 0

    refusals = [
        got.message()
        for got in smtp_server.received
        if got.recipients == ("sam@elsewhere.example",)
    ]
    assert len(refusals) == 1
    assert refusals[0]["Auto-Submitted"] == "auto-replied"
    assert refusals[0]["In-Reply-To"] == stranger["Message-ID"]
    with db.unit_of_work(readonly=True) as session:
        assert list(session.scalars(select(InboundMail.answer_state))) == ["sent"]


def test_without_a_mail_server_the_refusals_wait(db: Database) -> None:
    assert "refusals sent" not in dict(jobs_for(mail_settings(db, smtp_host=None)))
