"""Reading an upload off the wire, before any thread, transaction or lock is taken.

The body is read on the event loop (as the pages' forms are) and kept only up to the size limit
plus room for the form around the file; a larger body is read to its end but not kept (up to a
bound, so the sender still gets the answer), and the upload is marked too big. Whether it may be
attached at all is decided later, inside the unit of work, once the caller is known and may read
the request: a stranger learns nothing about a request from the answer to any upload.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from followthrough.attachments.service import Upload
from followthrough.web.deps import SESSION_COOKIE, settings

# Room for the form around the file: the part headers, the CSRF token, the version.
FORM_OVERHEAD = 64 * 1024
# Past this much beyond the limit the rest of an oversized body is not even read: the answer
# is sent and the connection closed.
DRAIN_MORE = 16 * 1024 * 1024
FILE_FIELD = "file"
NO_FILE = "choose a file to attach"


@dataclass(frozen=True)
class Received:
    """What came in: the file (or why there is none) and the other form fields."""

    upload: Upload
    fields: dict[str, str] = field(default_factory=dict)


def _nothing(why: str, fields: dict[str, str] | None = None) -> Received:
    return Received(Upload(file_name="", content=b"", missing=why), fields or {})


async def _one_chunk(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body
    yield b""


def _text_fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


async def receive_upload(request: Request) -> Received:
    """The upload in `request`, read within the configured limit (see the module's doc).

    Nothing is read from a caller who sends no credential at all, neither a session cookie nor
    an API token: the unit of work answers "sign in" as for any change, and a burst of uploads
    by nobody costs no memory."""
    if not (request.cookies.get(SESSION_COOKIE) or request.headers.get("authorization")):
        return _nothing(f"sign in; {NO_FILE}")
    limit = settings(request).attachment_max_bytes
    kind, _ = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data":
        fields: dict[str, str] = {}
        if kind == b"application/x-www-form-urlencoded":
            # A form without its file (a script, an old browser): its fields still say who
            # sent it (the CSRF token), so the answer can be the usual one.
            try:
                form = await request.form(max_files=0, max_fields=20)
            except Exception:  # a malformed form reads as no form at all
                form = FormData()
            fields = _text_fields(form)
        return _nothing(
            f"send the file as multipart/form-data, in a part named {FILE_FIELD}", fields
        )
    ceiling = limit + FORM_OVERHEAD
    kept: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= ceiling:
            kept.append(chunk)
        elif size > ceiling + DRAIN_MORE:
            break
    if size > ceiling:
        return Received(Upload(file_name="", content=b"", too_big=True))
    parser = MultiPartParser(
        request.headers, _one_chunk(b"".join(kept)), max_files=1, max_fields=20
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        return _nothing(f"the form could not be read ({exc.message}); {NO_FILE}")
    try:
        fields = _text_fields(form)
        sent = form.get(FILE_FIELD)
        if not isinstance(sent, UploadFile):
            return _nothing(NO_FILE, fields)
        content = await sent.read()
        name = sent.filename or ""
    finally:
        await form.close()
    if not name and not content:
        # The form sent without choosing a file: browsers send an empty part with no name.
        return _nothing(NO_FILE, fields)
    return Received(Upload(file_name=name, content=content, too_big=len(content) > limit), fields)
