"""A body larger than the desk takes is answered 413 before any of it is read or parsed, whether
its length is declared or it comes in chunks; attachments keep their own, larger limit. Before,
200 MB of JSON was read and parsed whole before anyone asked who sent it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.requests.models import Request
from followthrough.requests.service import NewRequest, open_request
from followthrough.web.security import BODY_LIMIT
from tests.attachments import files
from tests.conftest import Clock, LiveServer, issue_tokens, serving
from tests.factories import World

PROBLEM = "application/problem+json"


@pytest.fixture
def server(db: Database, clock: Clock, tmp_path: Path) -> Iterator[LiveServer]:
    # Attachments up to three times the body limit: their route reads them within their own.
    with serving(
        db, clock, attachment_folder=tmp_path / "files", attachment_max_bytes=3 * BODY_LIMIT
    ) as live:
        yield live


def _too_big_request() -> bytes:
    title = "x" * (BODY_LIMIT + 1)
    return b'{"title": "' + title.encode() + b'", "need": "n", "service_id": 1}'


def _requests(db: Database) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Request)) or 0)


def _refused(answer: httpx.Response) -> None:
    assert answer.status_code == 413, answer.text[:200]
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["field"] == "body"


def test_a_body_over_the_limit_is_refused_declared_or_chunked(
    db: Database, world: World, clock: Clock, server: LiveServer
) -> None:
    before = _requests(db)
    otto = server.client(issue_tokens(db, world, clock)["otto"])
    body = _too_big_request()
    declared = otto.post("/requests", content=body, headers={"content-type": "application/json"})
    _refused(declared)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    chunked = otto.post("/requests", content=chunks(), headers={"content-type": "application/json"})
    _refused(chunked)
    assert _requests(db) == before
    # Within the limit, chunked or not, the body reaches its route as sent.
    fine = (
        b'{"title": "Wrong address", "need": "Fix it", "service_id": %d}'
        % (world.services["correct_policy"])
    )
    assert (
        otto.post(
            "/requests",
            content=iter([fine[:10], fine[10:]]),
            headers={"content-type": "application/json"},
        ).status_code
        == 201
    )
    assert _requests(db) == before + 1


def test_an_attachment_larger_than_the_body_limit_is_still_taken(
    db: Database, world: World, clock: Clock, server: LiveServer
) -> None:
    otto = server.client(issue_tokens(db, world, clock)["otto"])
    with db.unit_of_work() as session:
        request_id = open_request(
            session,
            world.actor(session, "otto"),
            NewRequest(
                title="Wrong address", need="Fix it", service_id=world.services["correct_policy"]
            ),
            clock.now,
        ).id
    content = files.pdf() + b" " * (2 * BODY_LIMIT)
    answer = otto.post(
        f"/requests/{request_id}/attachments",
        files={"file": ("scan.pdf", content, "application/pdf")},
    )
    assert answer.status_code == 201, answer.text[:300]
    assert answer.json()["size_bytes"] == len(content)
