"""A bounce is shown on the request page, to the people who may see the request, over real HTTP
on SQLite and PostgreSQL: whose address, which, when, and that mail to it is paused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from followthrough.attachments.storage import LocalFolderStore
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail import inbound
from followthrough.requests import service as requests
from followthrough.requests.service import NewRequest
from tests.conftest import T0, Clock, LiveServer, serving
from tests.factories import World
from tests.mail import corpus
from tests.web.pages import Visitor

PAUSED = "Mail to this address is paused until fixed."


@pytest.fixture
def server(db: Database, world: World, clock: Clock) -> Iterator[LiveServer]:
    with serving(db, clock) as live:
        yield live


def _visitor(server: LiveServer, handle: str) -> Visitor:
    visitor = Visitor(server.base_url)
    assert visitor.sign_in(handle).status_code == 303
    return visitor


def test_a_bounce_is_shown_to_who_may_see_the_request_until_fixed(
    db: Database, world: World, server: LiveServer, tmp_path: Path
) -> None:
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
    settings = Settings(
        mail_domain=corpus.DOMAIN,
        mail_inbound_address=corpus.INBOUND,
        mail_from=corpus.DESK,
        attachment_folder=tmp_path / "files",
    )
    # Mail about the request to Asha came back: her mailbox does not exist.
    bounce = corpus.dsn_bounce(request_id, "asha@example.com").message
    with db.unit_of_work() as session:
        inbound.receive(
            session,
            LocalFolderStore(tmp_path / "files"),
            settings,
            bounce.as_bytes(),
            came_by="smtp",
            now=T0,
        )

    for handle in ("asha", "lee", "cleo"):
        visitor = _visitor(server, handle)
        page = visitor.get(f"/requests/{request_id}")
        visitor.close()
        assert page.status_code == 200
        assert "Mail is not getting through" in page.text
        assert "Asha Assessor" in page.text
        assert "asha@example.com" in page.text
        assert PAUSED in page.text
    # Someone who may not see the request learns nothing about it, its people or their mail.
    otto = _visitor(server, "otto")
    hidden = otto.get(f"/requests/{request_id}")
    otto.close()
    assert hidden.status_code == 404
    assert "asha@example.com" not in hidden.text

    with db.unit_of_work() as session:
        assert inbound.fix_bouncing_address(session, "asha@example.com", world.people["ada"], T0)
    asha = _visitor(server, "asha")
    fixed = asha.get(f"/requests/{request_id}")
    asha.close()
    assert fixed.status_code == 200
    assert PAUSED not in fixed.text
