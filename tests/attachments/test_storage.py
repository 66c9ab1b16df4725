"""The one storage interface: the local folder, and S3 against moto's local S3 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from followthrough.attachments.storage import (
    AttachmentStore,
    LocalFolderStore,
    S3Store,
    StoredFileMissing,
    checked_key,
    new_key,
    s3_client,
    store_from_settings,
)
from followthrough.config import Settings


def _round_trip(store: AttachmentStore) -> None:
    key = new_key()
    content = b"%PDF-1.4 the corrected policy document"
    store.put(key, content)
    assert store.get(key) == content
    store.put(key, b"replaced whole")
    assert store.get(key) == b"replaced whole"
    store.delete(key)
    with pytest.raises(StoredFileMissing):
        store.get(key)
    store.delete(key)  # deleting what is not there is no error


def test_keys_are_random_and_never_a_path() -> None:
    keys = {new_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert checked_key(key) == key
        folder, name = key.split("/")
        assert name.startswith(folder)
        assert len(name) == 32
    for hostile in (
        "../etc/passwd",
        "ab/../../x",
        "/abs",
        "ab/" + "0" * 31 + "/",
        "AB/" + "0" * 32,
        "",
    ):
        with pytest.raises(ValueError, match="not a storage key"):
            checked_key(hostile)


def test_the_local_folder_keeps_whole_files_by_key(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "files")
    _round_trip(store)
    key = new_key()
    store.put(key, b"kept")
    assert (tmp_path / "files" / key).read_bytes() == b"kept"
    # Nothing but the file itself is left beside it (the partial file is renamed into place).
    assert [p.name for p in (tmp_path / "files" / key).parent.iterdir()] == [key.split("/")[1]]
    with pytest.raises(ValueError, match="not a storage key"):
        store.get("../../../etc/passwd")


def test_the_settings_choose_the_store(tmp_path: Path) -> None:
    local = store_from_settings(Settings(attachment_folder=tmp_path))
    assert isinstance(local, LocalFolderStore)
    assert local.folder == tmp_path
    with pytest.raises(ValueError, match="ATTACHMENT_S3_BUCKET"):
        Settings(attachment_storage="s3")


class RecordingClient:
    """Stands in for boto3's client: records what the store asks of S3."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, object]]] = []

    def put_object(self, **kwargs: object) -> None:
        self.calls.append(("put", kwargs))

    def delete_object(self, **kwargs: object) -> None:
        self.calls.append(("delete", kwargs))


def test_the_s3_store_puts_objects_under_its_prefix_by_checked_key() -> None:
    client = RecordingClient()
    store = S3Store("desk-files", client, prefix="prod/attachments/")
    key = new_key()
    store.put(key, b"content")
    store.delete(key)
    assert client.calls == [
        ("put", {"Bucket": "desk-files", "Key": f"prod/attachments/{key}", "Body": b"content"}),
        ("delete", {"Bucket": "desk-files", "Key": f"prod/attachments/{key}"}),
    ]
    with pytest.raises(ValueError, match="not a storage key"):
        store.put("../other-bucket-object", b"x")
    with pytest.raises(ValueError, match="bucket"):
        S3Store("", client)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on a free local port, for this module."""
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_the_s3_store_against_a_local_s3_server(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("boto3")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings = Settings(
        attachment_storage="s3",
        attachment_s3_bucket="desk-files",
        attachment_s3_endpoint_url=s3_endpoint,
        attachment_s3_region="eu-west-1",
    )
    client = s3_client(settings)
    client.create_bucket(
        Bucket="desk-files", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    store = store_from_settings(settings)
    assert isinstance(store, S3Store)
    _round_trip(store)
    key = new_key()
    store.put(key, b"in the bucket")
    listed = client.list_objects_v2(Bucket="desk-files")["Contents"]
    assert [o["Key"] for o in listed] == [f"attachments/{key}"]
