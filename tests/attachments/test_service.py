"""Attaching on both databases: the row, its event and its file together, or none of them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from followthrough.attachments import service
from followthrough.attachments.models import Attachment
from followthrough.attachments.service import Upload
from followthrough.attachments.storage import LocalFolderStore
from followthrough.db import Database
from followthrough.errors import InvalidInput, NotFound, UnsupportedType
from followthrough.history.models import Event
from followthrough.requests.service import NewRequest, open_request
from tests.attachments import files
from tests.conftest import T0
from tests.factories import World

LIMIT = 10_000


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _raise_request(db: Database, world: World) -> int:
    with db.unit_of_work() as session:
        request = open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(
                title="Policy HM-1234 has the wrong address",
                need="Correct it so the claim can be paid",
                service_id=world.services["correct_policy"],
            ),
            T0,
        )
        return request.id


def test_an_attachment_is_kept_with_its_event_and_read_back_whole(
    db: Database, world: World, tmp_path: Path
) -> None:
    store = LocalFolderStore(tmp_path / "files")
    request_id = _raise_request(db, world)
    content = files.pdf()
    with db.unit_of_work() as session:
        row = service.add_attachment(
            session,
            store,
            world.actor(session, "asha"),
            request_id,
            Upload("../Corrected policy.pdf", content),
            LIMIT,
            T0,
        )
        attachment_id = row.id
    with db.unit_of_work(readonly=True) as session:
        kept = session.get(Attachment, attachment_id)
        assert kept is not None
        assert (kept.file_name, kept.content_type, kept.size_bytes) == (
            "Corrected policy.pdf",
            "application/pdf",
            len(content),
        )
        assert kept.sha256 == hashlib.sha256(content).hexdigest()
        assert kept.added_by_id == world.people["asha"]
        event = session.scalars(
            select(Event).where(Event.request_id == request_id, Event.kind == "attachment_added")
        ).one()
        assert event.payload == {
            "attachment_id": attachment_id,
            "file_name": "Corrected policy.pdf",
            "size_bytes": len(content),
        }
        # The owner (the duty owner, dan) is told; the one who attached it is not.
        row, read = service.attached_file(
            session, store, world.actor(session, "dan"), request_id, attachment_id
        )
        assert read == content
    # The file is stored under its random key, not under the name it came with.
    (stored,) = _files(tmp_path / "files")
    assert stored.read_bytes() == content
    assert "policy" not in str(stored).lower()


def _count(db: Database) -> tuple[int, int]:
    with db.unit_of_work(readonly=True) as session:
        rows = session.scalar(select(func.count()).select_from(Attachment)) or 0
        events = (
            session.scalar(
                select(func.count()).select_from(Event).where(Event.kind == "attachment_added")
            )
            or 0
        )
    return int(rows), int(events)


def test_a_unit_of_work_that_rolls_back_leaves_no_file(
    db: Database, world: World, tmp_path: Path
) -> None:
    store = LocalFolderStore(tmp_path / "files")
    request_id = _raise_request(db, world)

    class LaterRefusal(Exception):
        pass

    def attach_then_fail() -> None:
        with db.unit_of_work() as session:
            service.add_attachment(
                session,
                store,
                world.actor(session, "asha"),
                request_id,
                Upload("a.pdf", files.pdf()),
                LIMIT,
                T0,
            )
            # The file is written before the commit…
            assert len(_files(tmp_path / "files")) == 1
            raise LaterRefusal  # …and something after it in the same unit of work fails.

    with pytest.raises(LaterRefusal):
        attach_then_fail()
    assert _files(tmp_path / "files") == []
    assert _count(db) == (0, 0)


def test_a_refused_change_after_the_upload_in_the_same_page_leaves_no_file(
    db: Database, world: World, tmp_path: Path
) -> None:
    """A page's `attempt` rolls back the session and goes on: the file goes with the rollback,
    and a later commit of the same session keeps nothing."""
    store = LocalFolderStore(tmp_path / "files")
    request_id = _raise_request(db, world)
    with db.unit_of_work() as session:
        service.add_attachment(
            session,
            store,
            world.actor(session, "asha"),
            request_id,
            Upload("a.txt", b"notes"),
            LIMIT,
            T0,
        )
        session.rollback()
        assert _files(tmp_path / "files") == []
        # A second attachment in the fresh transaction is kept by the commit.
        service.add_attachment(
            session,
            store,
            world.actor(session, "asha"),
            request_id,
            Upload("b.txt", b"kept"),
            LIMIT,
            T0,
        )
    assert [p.read_bytes() for p in _files(tmp_path / "files")] == [b"kept"]
    assert _count(db) == (1, 1)


def test_a_committed_attachment_is_not_removed_by_a_later_rollback(
    db: Database, world: World, tmp_path: Path
) -> None:
    store = LocalFolderStore(tmp_path / "files")
    request_id = _raise_request(db, world)
    with db.unit_of_work() as session:
        service.add_attachment(
            session,
            store,
            world.actor(session, "asha"),
            request_id,
            Upload("a.txt", b"kept"),
            LIMIT,
            T0,
        )
        session.commit()
        session.rollback()  # a later transaction of the same session
    assert [p.read_bytes() for p in _files(tmp_path / "files")] == [b"kept"]


def test_refused_uploads_write_nothing(db: Database, world: World, tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "files")
    request_id = _raise_request(db, world)
    for upload, error in [
        (Upload("setup.pdf", files.windows_program()), UnsupportedType),
        (Upload("empty.txt", b""), InvalidInput),
    ]:
        with pytest.raises(error), db.unit_of_work() as session:
            service.add_attachment(
                session, store, world.actor(session, "asha"), request_id, upload, LIMIT, T0
            )
    # Someone who may not read the request (otto, in no team) learns nothing about it.
    with pytest.raises(NotFound), db.unit_of_work() as session:
        service.add_attachment(
            session,
            store,
            world.actor(session, "otto"),
            request_id,
            Upload("a.txt", b"x"),
            LIMIT,
            T0,
        )
    assert _files(tmp_path / "files") == []
    assert _count(db) == (0, 0)


def test_a_file_changed_or_lost_in_storage_is_not_served(
    db: Database, world: World, tmp_path: Path
) -> None:
    store = LocalFolderStore(tmp_path / "files")
    request_id = _raise_request(db, world)
    with db.unit_of_work() as session:
        row = service.add_attachment(
            session,
            store,
            world.actor(session, "asha"),
            request_id,
            Upload("a.txt", b"original"),
            LIMIT,
            T0,
        )
        key, attachment_id = row.storage_key, row.id
    store.put(key, b"tampered")
    with db.unit_of_work(readonly=True) as session, pytest.raises(NotFound, match="not the one"):
        service.attached_file(
            session, store, world.actor(session, "asha"), request_id, attachment_id
        )
    store.delete(key)
    with db.unit_of_work(readonly=True) as session, pytest.raises(NotFound, match="missing"):
        service.attached_file(
            session, store, world.actor(session, "asha"), request_id, attachment_id
        )
