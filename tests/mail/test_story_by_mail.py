"""Done means: the seed story plays by mail alone, on SQLite and PostgreSQL.

Everything the assessor does, she does from her mail client: a real SMTP conversation with the
built-in receiver. Everything the desk tells anyone goes through the real sender to a real SMTP
server (aiosmtpd), sent by the sweeper's own jobs on a clock the test moves. What the test
checks is what arrived at that server: who got which message, with which headers, saying what.

Asha (claims assessor) mails Policy Admin's service address; Dan (duty owner) offers it to Cleo
(clerk), who accepts, posts an update and promises a call-back by 12:00. Asha's messages are one
thread; she answers the update by mail and her words become an update. The call-back never
comes: the promise breaks (Asha and Cleo are told by mail), no update follows and the request
escalates to Lee (the team's lead), by mail. Lee hears of the broken promise
and of the escalation. Cleo resolves it; the resolution mail's signed link, opened over real HTTP,
shows a page first (GET) and confirms only when asked (POST).
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from followthrough.attachments.storage import LocalFolderStore
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail import inbound, receiver
from followthrough.mail.inbound_models import InboundMail
from followthrough.promises import service as promises
from followthrough.promises.models import Promise
from followthrough.requests import service as requests
from followthrough.requests.models import Request, RequestUpdate
from followthrough.sweeper.service import jobs_for, sweep
from tests.conftest import T0, Clock, serving
from tests.factories import World
from tests.mail.conftest import Received, SmtpServer, free_port
from tests.mail.helpers import mail_settings

DOMAIN = "desk.test"
INBOUND = "desk@example.com"
SECRET = "the story's own secret key, long enough"
ASHA = "asha@example.com"
CLEO = "cleo@example.com"
LEE = "lee@example.com"
# Written here, not taken from the code: the contract's shapes of the addresses and ids.
SERVICE_ADDRESS = "desk+s-policy@example.com"


def thread_root(request_id: int) -> str:
    return f"<request-{request_id}@{DOMAIN}>"


@pytest.fixture
def story(
    db: Database, world: World, clock: Clock, smtp_server: SmtpServer, tmp_path: Path
) -> Iterator[tuple[Settings, receiver.Controller, str]]:
    """The web app (for the links), the built-in receiver and the settings the desk runs on."""
    with serving(db, clock, secret_key=SECRET) as live:
        settings = mail_settings(
            db,
            smtp_server.settings(),
            secret_key=SECRET,
            mail_domain=DOMAIN,
            mail_inbound_address=INBOUND,
            mail_from=f"Followthrough <{INBOUND}>",
            public_url=live.base_url,
            attachment_folder=tmp_path / "files",
        )
        take = receiver.desk_take(settings, db, LocalFolderStore(tmp_path / "files"), clock)
        desk = receiver.start_receiver(
            settings,
            take,
            receiver.desk_takes(settings, db),
            host="127.0.0.1",
            port=free_port(),
            lmtp=False,
        )
        try:
            yield settings, desk, live.base_url
        finally:
            desk.stop()


def _mail_desk(desk: receiver.Controller, message: EmailMessage, to: str) -> None:
    """Asha's mail client hands a message to the desk's receiver."""
    with smtplib.SMTP(desk.hostname, desk.port, timeout=30) as client:
        assert client.sendmail(ASHA, [to], message.as_bytes()) == {}


def _run_sweeper(db: Database, settings: Settings, clock: Clock, at: datetime) -> None:
    clock.now = at
    sweep(db, at, jobs=jobs_for(settings))


def _to(smtp_server: SmtpServer, address: str) -> list[Received]:
    return [got for got in smtp_server.received if got.recipients == (address,)]


def _text(got: Received) -> str:
    body = got.message().get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _one_thread(messages: list[Received], request_id: int) -> None:
    """Every message refers to the request's root, has its own Message-ID and the same
    subject: a mail client shows them as one conversation."""
    root = thread_root(request_id)
    ids = [got.message_id for got in messages]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"<[^<>@\s]+@desk\.test>", i) for i in ids)
    for got in messages:
        headers = got.message()
        assert str(headers["In-Reply-To"]) == root
        assert root in str(headers["References"]).split()
        assert str(headers["Reply-To"]) == f"desk+r{request_id}@example.com"
    assert len({str(got.message()["Subject"]) for got in messages}) == 1


def test_the_seed_story_plays_by_mail_alone(
    db: Database,
    world: World,
    clock: Clock,
    smtp_server: SmtpServer,
    story: tuple[Settings, receiver.Controller, str],
) -> None:
    settings, desk, base_url = story
    with db.unit_of_work() as session:
        inbound.set_service_address(session, world.services["correct_policy"], "policy", None)

    # 09:05 Monday: Asha raises the request by mailing the service's address.
    clock.now = T0 + timedelta(minutes=5)
    raised = EmailMessage()
    raised["From"] = f"Asha Assessor <{ASHA}>"
    raised["To"] = SERVICE_ADDRESS
    raised["Subject"] = "Policy HP-20417 shows the wrong sum insured"
    raised["Message-ID"] = make_msgid(domain="mail.example.com")
    raised.set_content(
        "The contents sum insured on HP-20417 shows 5,000; the proposal form says 50,000.\n"
        "Please correct it so I can settle Mrs Okafor's claim.\n\nAsha\n"
    )
    _mail_desk(desk, raised, SERVICE_ADDRESS)
    with db.unit_of_work(readonly=True) as session:
        [request] = session.scalars(select(Request))
        request_id = request.id
        assert request.requester_id == world.people["asha"]
        assert request.service_id == world.services["correct_policy"]
        assert request.title == "Policy HP-20417 shows the wrong sum insured"
        assert "proposal form says 50,000" in request.need

    # Dan offers it to Cleo, who accepts, posts an update and promises a call-back by 12:00.
    promised_by = T0 + timedelta(hours=3)
    with db.unit_of_work() as session:
        offer = requests.open_offer_of(session, request_id)
        assert offer is not None
        to_cleo = requests.offer_request(
            session,
            world.actor(session, "dan"),
            request_id,
            world.teams["admin"],
            world.people["cleo"],
            "Cleo, can you take this? A claim waits on it.",
            T0 + timedelta(minutes=20),
        )
        cleo = world.actor(session, "cleo")
        requests.accept_offer(session, cleo, request_id, to_cleo.id, T0 + timedelta(minutes=25))
        requests.post_update(
            session,
            cleo,
            request_id,
            "I am checking the proposal form with the broker now.",
            T0 + timedelta(minutes=30),
        )
        promises.make_promise(
            session,
            cleo,
            request_id,
            "Call Asha back with the corrected schedule",
            promised_by,
            T0 + timedelta(minutes=35),
        )
    _run_sweeper(db, settings, clock, T0 + timedelta(minutes=40))

    to_asha = _to(smtp_server, ASHA)
    texts = [_text(got) for got in to_asha]
    assert any("checking the proposal form with the broker" in t for t in texts)
    assert any("Call Asha back with the corrected schedule" in t for t in texts)
    _one_thread(to_asha, request_id)

    # 10:00: Asha answers the update from her mail client, quoting it as Gmail does.
    [update_mail] = [got for got in to_asha if "with the broker" in _text(got)]
    answer = EmailMessage()
    answer["From"] = f"Asha Assessor <{ASHA}>"
    answer["To"] = str(update_mail.message()["Reply-To"])
    answer["Subject"] = "Re: " + str(update_mail.message()["Subject"])
    answer["Message-ID"] = make_msgid(domain="mail.example.com")
    answer["In-Reply-To"] = update_mail.message_id
    answer["References"] = f"{thread_root(request_id)} {update_mail.message_id}"
    answer.set_content(
        "Mrs Okafor has called twice today. When will the policy be corrected?\n\n"
        "On Mon, 2 Mar 2026 at 09:40, Followthrough <desk@example.com> wrote:\n"
        "> I am checking the proposal form with the broker now.\n"
    )
    clock.now = T0 + timedelta(hours=1)
    _mail_desk(desk, answer, str(answer["To"]))
    with db.unit_of_work(readonly=True) as session:
        updates = list(
            session.execute(
                select(RequestUpdate.author_id, RequestUpdate.body)
                .where(RequestUpdate.request_id == request_id)
                .order_by(RequestUpdate.id)
            )
        )
    assert updates[-1] == (
        world.people["asha"],
        "Mrs Okafor has called twice today. When will the policy be corrected?",
    )

    # The call-back never comes and nobody posts an update: the sweeper runs, on the desk's
    # clock, every hour for two days.
    at = T0 + timedelta(hours=1)
    while at < T0 + timedelta(days=2):
        at += timedelta(hours=1)
        _run_sweeper(db, settings, clock, at)
    with db.unit_of_work(readonly=True) as session:
        promise = session.scalars(select(Promise).where(Promise.request_id == request_id)).one()
        assert promise.state == "broken"

    broken = "Broken promise"
    assert any(broken in _text(got) for got in _to(smtp_server, ASHA))
    assert any(broken in _text(got) for got in _to(smtp_server, CLEO))
    to_lee = _to(smtp_server, LEE)
    assert any(broken in _text(got) for got in to_lee)
    assert any("Update overdue" in _text(got) for got in to_lee)
    _one_thread(to_lee, request_id)

    # Cleo resolves it; Asha's mail carries the link that confirms the resolution.
    resolved_at = T0 + timedelta(days=2, hours=1)
    with db.unit_of_work() as session:
        requests.resolve_request(
            session,
            world.actor(session, "cleo"),
            request_id,
            "Contents sum insured corrected to 50,000; corrected schedule sent.",
            resolved_at,
        )
    _run_sweeper(db, settings, clock, resolved_at + timedelta(minutes=5))
    to_asha = _to(smtp_server, ASHA)
    _one_thread(to_asha, request_id)
    [resolution] = [got for got in to_asha if "Confirm the resolution" in _text(got)]
    link = re.search(r"Confirm the resolution: (\S+)", _text(resolution))
    assert link is not None
    assert link.group(1).startswith(base_url + "/")
    path = urlsplit(link.group(1)).path

    with httpx.Client(base_url=base_url, timeout=30) as browser:
        shown = browser.get(path)
        assert shown.status_code == 200
        assert "corrected schedule sent" in shown.text
        with db.unit_of_work(readonly=True) as session:
            assert session.get(Request, request_id).state == "resolved"  # type: ignore[union-attr]
        assert browser.post(path).status_code == 200
    with db.unit_of_work(readonly=True) as session:
        assert session.get(Request, request_id).state == "closed"  # type: ignore[union-attr]
        # Nothing Asha sent was refused or dropped: two mails in, two acted on.
        outcomes = list(session.scalars(select(InboundMail.outcome).order_by(InboundMail.id)))
    assert len(outcomes) == 2
