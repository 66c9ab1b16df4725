"""Attachments over real HTTP: the API (multipart) and the request page, limits answered as
problems naming the field, and downloads only for those who may read the request."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from followthrough.db import Database
from followthrough.requests.service import NewRequest, open_request
from tests.attachments import files
from tests.conftest import Clock, LiveServer, issue_tokens, serving
from tests.factories import World, build_confidential_story
from tests.web.pages import Visitor

PROBLEM = "application/problem+json"
LIMIT = 4096


@pytest.fixture
def server(db: Database, clock: Clock, tmp_path: Path) -> Iterator[LiveServer]:
    with serving(
        db, clock, attachment_folder=tmp_path / "files", attachment_max_bytes=LIMIT
    ) as live:
        yield live


def _request(db: Database, world: World, clock: Clock, requester: str = "otto") -> int:
    with db.unit_of_work() as session:
        return open_request(
            session,
            world.actor(session, requester),
            NewRequest(
                title="Policy HM-1234 has the wrong address",
                need="Correct the address so the claim can be paid",
                service_id=world.services["correct_policy"],
            ),
            clock.now,
        ).id


def _upload(client: httpx.Client, request_id: int, name: str, content: bytes) -> httpx.Response:
    return client.post(
        f"/requests/{request_id}/attachments",
        files={"file": (name, content, "application/octet-stream")},
    )


def test_upload_list_and_download_round_trip(
    db: Database, world: World, clock: Clock, server: LiveServer
) -> None:
    tokens = issue_tokens(db, world, clock)
    otto, dan = server.client(tokens["otto"]), server.client(tokens["dan"])
    rid = _request(db, world, clock)
    content = files.pdf()
    answer = _upload(otto, rid, "corrected policy.pdf", content)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["file_name"] == "corrected policy.pdf"
    assert body["content_type"] == "application/pdf"
    assert body["size_bytes"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["added_by_id"] == world.people["otto"]
    assert [a["id"] for a in dan.get(f"/requests/{rid}/attachments").json()] == [body["id"]]

    download = dan.get(f"/requests/{rid}/attachments/{body['id']}")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"corrected policy.pdf\"; filename*=UTF-8''corrected%20policy.pdf"
    )
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["cache-control"] == "private, no-store"
    # The owner is told a file came; the history names it.
    assert "corrected policy.pdf" in dan.get("/inbox").text
    kinds = [e["kind"] for e in dan.get(f"/requests/{rid}/events").json()]
    assert kinds[-1] == "attachment_added"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../../etc/passwd", "passwd"),
        ("invoice_\u202efdp.exe.txt", "invoice_fdp.exe.txt"),
        ("x" * 500 + ".txt", "x" * 146 + ".txt"),
        ("C:\\Users\\me\\report.txt", "report.txt"),
    ],
)
def test_hostile_names_are_kept_safe_and_sent_back_safe(
    db: Database, world: World, clock: Clock, server: LiveServer, sent: str, kept: str
) -> None:
    tokens = issue_tokens(db, world, clock)
    otto = server.client(tokens["otto"])
    rid = _request(db, world, clock)
    answer = _upload(otto, rid, sent, b"plain words")
    assert answer.status_code == 201, answer.text
    assert answer.json()["file_name"] == kept
    download = otto.get(answer.json()["download_url"].removeprefix("/api/v1"))
    assert download.content == b"plain words"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "/" not in disposition.split("filename*=")[0]
    assert ".." not in disposition


def _problem(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, object] = answer.json()
    assert problem["field"] == "file"
    return problem


def test_too_big_wrong_kind_and_no_file_are_problems_naming_the_field(
    db: Database, world: World, clock: Clock, server: LiveServer, tmp_path: Path
) -> None:
    tokens = issue_tokens(db, world, clock)
    otto = server.client(tokens["otto"])
    rid = _request(db, world, clock)
    # Exactly the limit is accepted; one byte more is not.
    assert _upload(otto, rid, "limit.txt", b"a" * LIMIT).status_code == 201
    problem = _problem(_upload(otto, rid, "big.txt", b"a" * (LIMIT + 1)), 413)
    assert "4 KB" in str(problem["detail"])
    # Far beyond the limit (the body is not kept): the same answer.
    _problem(_upload(otto, rid, "huge.txt", b"a" * (LIMIT * 200)), 413)
    _problem(_upload(otto, rid, "invoice.pdf", files.windows_program()), 415)
    _problem(_upload(otto, rid, "archive.zip", files.plain_zip()), 415)
    _problem(_upload(otto, rid, "empty.txt", b""), 422)
    _problem(otto.post(f"/requests/{rid}/attachments", data={"other": "field"}), 422)
    _problem(otto.post(f"/requests/{rid}/attachments", json={"file": "not a file"}), 422)
    # Only the accepted one was kept.
    assert [a["file_name"] for a in otto.get(f"/requests/{rid}/attachments").json()] == [
        "limit.txt"
    ]
    assert len([p for p in (tmp_path / "files").rglob("*") if p.is_file()]) == 1


# Who may download an attachment: exactly who may read its request (requests.access).
# The normal request: otto raised it; Policy Admin (dan the duty owner, cleo, lee) holds it.
NORMAL_DOWNLOADS = {
    "otto": 200,  # requester
    "dan": 200,  # owner
    "cleo": 200,  # owner's teammate
    "lee": 200,  # owner's lead
    "ada": 200,  # admin: reads every request that is not confidential
    "asha": 404,  # another team
    "carl": 404,  # another team's lead
    "hana": 404,
    "tess": 404,
}
# The confidential grievance: tess raised it; HR (hana) holds it. Not even the admin.
CONFIDENTIAL_DOWNLOADS = {
    "tess": 200,
    "hana": 200,
    "ada": 404,
    "otto": 404,
    "dan": 404,
    "cleo": 404,
    "lee": 404,
    "asha": 404,
    "carl": 404,
}


def test_downloads_follow_the_read_rule(
    db: Database, world: World, clock: Clock, server: LiveServer
) -> None:
    with db.unit_of_work() as session:
        story = build_confidential_story(session, world, clock.now)
    tokens = issue_tokens(db, world, clock)
    api = {handle: server.client(token) for handle, token in tokens.items()}
    normal = _upload(api["otto"], story.normal, "schedule.txt", b"normal").json()
    secret = _upload(api["tess"], story.confidential, "grievance.txt", b"secret").json()
    for request_id, attachment, table in [
        (story.normal, normal, NORMAL_DOWNLOADS),
        (story.confidential, secret, CONFIDENTIAL_DOWNLOADS),
    ]:
        path = f"/requests/{request_id}/attachments/{attachment['id']}"
        seen = {handle: api[handle].get(path).status_code for handle in table}
        assert seen == table, request_id
        listed = {
            handle: api[handle].get(f"/requests/{request_id}/attachments").status_code
            for handle in table
        }
        assert listed == table
        for handle, status in table.items():
            if status == 404:
                assert "grievance.txt" not in api[handle].get(path).text
    # Nobody signed in: 401; an attachment asked for under another request: 404.
    anonymous = httpx.get(
        f"{server.base_url}/api/v1/requests/{story.normal}/attachments/{normal['id']}"
    )
    assert anonymous.status_code == 401
    crossed = api["tess"].get(f"/requests/{story.normal}/attachments/{secret['id']}")
    assert crossed.status_code == 404
    # Someone who may not read a request cannot attach to it either, and learns nothing.
    refused = _upload(api["asha"], story.confidential, "x.txt", b"x")
    assert refused.status_code == 404


def test_the_request_page_uploads_shows_and_downloads(
    db: Database, world: World, clock: Clock, server: LiveServer
) -> None:
    rid = _request(db, world, clock)
    visitor = Visitor(server.base_url)
    try:
        assert visitor.sign_in("otto").status_code == 303
        page = visitor.get(f"/requests/{rid}")
        assert "No files attached." in page.text
        csrf = visitor.token_from(page.text)
        posted = visitor.http.post(
            f"/requests/{rid}/attachments",
            data={"csrf_token": csrf},
            files={"file": ("Corrected schedule.pdf", files.pdf(), "application/pdf")},
        )
        assert posted.status_code == 303, posted.text
        assert posted.headers["location"] == f"/requests/{rid}#attachments"
        page = visitor.get(f"/requests/{rid}")
        assert "File attached." in page.text
        assert "Corrected schedule.pdf" in page.text
        assert "otto attached Corrected schedule.pdf" in page.text.replace("Otto Outsider", "otto")
        link = f"/requests/{rid}/attachments/"
        attachment_id = page.text.split(link, 1)[1].split('"', 1)[0]
        download = visitor.get(f"{link}{attachment_id}")
        assert download.status_code == 200
        assert download.content == files.pdf()

        # Too big: the page again, 413, the message beside the file field; nothing kept.
        big = visitor.http.post(
            f"/requests/{rid}/attachments",
            data={"csrf_token": csrf},
            files={"file": ("big.txt", b"a" * (LIMIT + 1), "text/plain")},
        )
        assert big.status_code == 413
        assert 'id="attach-file-error"' in big.text
        assert "larger than the 4 KB" in big.text
        assert 'aria-invalid="true"' in big.text
        wrong = visitor.http.post(
            f"/requests/{rid}/attachments",
            data={"csrf_token": csrf},
            files={"file": ("setup.pdf", files.windows_program(), "application/pdf")},
        )
        assert wrong.status_code == 415
        assert "this kind of file is not accepted" in wrong.text.lower()
        none = visitor.http.post(
            f"/requests/{rid}/attachments",
            data={"csrf_token": csrf},
            files={"file": ("", b"", "application/octet-stream")},
        )
        assert none.status_code == 422
        assert "Choose a file to attach" in none.text
        # Without the form's CSRF token nothing is attached.
        forged = visitor.http.post(
            f"/requests/{rid}/attachments",
            files={"file": ("forged.txt", b"x", "text/plain")},
        )
        assert forged.status_code == 403
        assert visitor.get(f"/requests/{rid}").text.count(link) == 1
    finally:
        visitor.close()
