"""An upload from a caller who sent no credential at all is answered at once, its body unread:
the body used to be read (up to the limit and beyond, 26 MB by default) before the unit of work
found nobody signed in, so a burst of uploads by nobody held the process's memory."""

from __future__ import annotations

from sqlalchemy import func, select

from followthrough.attachments.models import Attachment
from followthrough.db import Database
from tests.conftest import T0, LiveServer
from tests.factories import World, open_wrong_address
from tests.web.test_hostile_form_bodies import answer_to_a_file_that_never_ends


def test_an_upload_by_nobody_is_answered_before_its_body_is_read(
    db: Database, world: World, live_server: LiveServer
) -> None:
    with db.unit_of_work() as session:
        request_id = open_wrong_address(session, world, T0)
    api = answer_to_a_file_that_never_ends(
        live_server.base_url, f"/api/v1/requests/{request_id}/attachments", {}
    )
    assert api.startswith(b"HTTP/1.1 401"), api
    page = answer_to_a_file_that_never_ends(
        live_server.base_url, f"/requests/{request_id}/attachments", {"csrf_token": "t"}
    )
    assert page.startswith(b"HTTP/1.1 303"), page  # to the sign-in page
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0
