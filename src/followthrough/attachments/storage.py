"""Where attached files are kept: one interface (put, get, delete by key), a local folder by
default and an S3-compatible bucket where configured.

Keys are made here (`new_key`), random and never from a person's file name, so no name can
reach a path or an object key; each store checks every key it is given all the same.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any, Protocol

from followthrough.config import Settings

_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}$")


class StoredFileMissing(Exception):
    """The store holds nothing under the key (removed by hand, or a store pointed elsewhere)."""


class AttachmentStore(Protocol):
    """Keeps file contents by key. `put` leaves either the whole file or nothing."""

    def put(self, key: str, content: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


def new_key() -> str:
    """A fresh random key: 'ab/ab…' (128 random bits; the first two hex digits spread the files
    over 256 folders)."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}"


def checked_key(key: str) -> str:
    """The key, if it is one `new_key` could have made; ValueError otherwise."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class LocalFolderStore:
    """Files in a folder on this machine: `<folder>/<ab>/<key>`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / checked_key(key)

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed into place: a crash leaves a stray `.part`
        # file, never a key holding half a file.
        partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
        try:
            with open(partial, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoredFileMissing(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Store:
    """Objects in an S3-compatible bucket, under `prefix`. The client is boto3's (or anything
    with its put_object, get_object and delete_object), made from the settings when not given."""

    def __init__(self, bucket: str, client: Any, prefix: str = "attachments/") -> None:
        if not bucket:
            raise ValueError("an S3 store needs a bucket")
        self.bucket = bucket
        self.client = client
        self.prefix = prefix

    def object_key(self, key: str) -> str:
        return f"{self.prefix}{checked_key(key)}"

    def put(self, key: str, content: bytes) -> None:
        # One PUT: S3 stores the whole object or nothing.
        self.client.put_object(Bucket=self.bucket, Key=self.object_key(key), Body=content)

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except Exception as exc:
            if _is_missing(exc):
                raise StoredFileMissing(key) from None
            raise
        body: bytes = answer["Body"].read()
        return body

    def delete(self, key: str) -> None:
        # Deleting a key that is not there succeeds in S3, as in the local store.
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))


def _is_missing(exc: Exception) -> bool:
    """boto3's 'no such key' (its ClientError carries the S3 error code)."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code in ("NoSuchKey", "404", "NotFound")


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client for the configured endpoint and region. boto3 is needed only where
    S3 storage is configured (`pip install followthrough[s3]`), so it is imported only here."""
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "FOLLOWTHROUGH_ATTACHMENT_STORAGE=s3 needs boto3: pip install 'followthrough[s3]'"
        ) from exc
    return boto3.client(
        "s3",
        endpoint_url=settings.attachment_s3_endpoint_url,
        region_name=settings.attachment_s3_region,
    )


def store_from_settings(settings: Settings) -> AttachmentStore:
    """The store the settings name: the local folder unless S3 is configured."""
    if settings.attachment_storage == "s3":
        assert settings.attachment_s3_bucket is not None  # Settings refuses s3 without one
        return S3Store(
            settings.attachment_s3_bucket, s3_client(settings), settings.attachment_s3_prefix
        )
    return LocalFolderStore(settings.attachment_folder)
