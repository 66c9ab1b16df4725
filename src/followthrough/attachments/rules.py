"""What a file must be to be attached, decided from its bytes; and a name safe to send back.

The kind of a file is read from its first bytes (its magic number), never taken from its name
or from the type the browser claims: a program renamed `invoice.pdf` is refused. Text has no
magic number, so text is what holds no control characters; `.csv` names it CSV.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

import filetype

from followthrough.errors import InvalidInput, TooLarge, UnsupportedType

# The kinds accepted, by the type they are served with, and their names in the users' words.
BINARY_TYPES: dict[str, str] = {
    "application/pdf": "PDF",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel workbook",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
    "application/msword": "Word 97-2003 document",
    "application/vnd.ms-excel": "Excel 97-2003 workbook",
    "application/vnd.ms-powerpoint": "PowerPoint 97-2003",
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
}
TEXT = "text/plain"
CSV = "text/csv"
ACCEPTED = "PDF, PNG, JPEG, plain text, CSV, Word, Excel, PowerPoint or OpenDocument"

# Control characters no text file holds (tab, line feed, form feed and carriage return do).
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Characters Windows (and many tools) refuse in a file name, and path separators.
_UNSAFE_IN_NAME = re.compile(r'[<>:"/\\|?*]')
# Names Windows keeps for devices, whatever the extension.
_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)", re.IGNORECASE)
MAX_NAME = 150
FALLBACK_NAME = "attachment"


def sniffed_type(content: bytes, file_name: str) -> str | None:
    """The type the content is, if it is one the desk accepts; None otherwise."""
    kind = filetype.guess(content[:8192]) if content else None
    if kind is not None:
        mime = str(kind.mime)
        return mime if mime in BINARY_TYPES else None
    if _CONTROL.search(content):
        return None
    return CSV if file_name.lower().endswith(".csv") else TEXT


def safe_file_name(name: str) -> str:
    """The name to keep and to send back: only its last part (no folders), without control
    or invisible formatting characters (a right-to-left override could make `exe.pdf` read
    `fdp.exe`), without characters file systems refuse, at most MAX_NAME characters with its
    extension kept. Never empty and never a device name."""
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
    )
    name = _UNSAFE_IN_NAME.sub("_", name).strip(" .")
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 10:
            name = stem[: MAX_NAME - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:MAX_NAME].rstrip(" .")
    if not name or _DEVICES.match(name):
        return FALLBACK_NAME if not name else f"_{name}"
    return name


def content_disposition(file_name: str) -> str:
    """`attachment` with the name twice (RFC 6266): plain ASCII for old clients, and UTF-8
    (RFC 5987) for the rest. The name must already be a safe_file_name."""
    # Accents fall off (é is e and a combining accent); anything else not ASCII becomes "_".
    ascii_name = "".join(
        ch if ch.isascii() else "" if unicodedata.combining(ch) else "_"
        for ch in unicodedata.normalize("NFKD", file_name)
    )
    ascii_name = re.sub(r"[^A-Za-z0-9 ._()\-]", "_", ascii_name).strip(" .") or FALLBACK_NAME
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"


@dataclass(frozen=True)
class Accepted:
    """An upload that may be kept: its safe name and the type its content is."""

    file_name: str
    content_type: str


def check_upload(
    file_name: str, content: bytes, *, too_big: bool, missing: str, max_bytes: int
) -> Accepted:
    """Accept an upload or say, naming the field `file`, why not: no file (`missing` says why)
    or an empty one (422), too large (413), not a kind the desk takes (415). `too_big` is set
    when the upload went past the limit and was not kept."""
    if missing:
        raise InvalidInput(missing, field="file")
    if too_big or len(content) > max_bytes:
        raise TooLarge(
            f"the file is larger than the {_size(max_bytes)} a file may be", field="file"
        )
    if not content:
        raise InvalidInput("the file is empty; choose a file to attach", field="file")
    content_type = sniffed_type(content, file_name)
    if content_type is None:
        raise UnsupportedType(
            f"this kind of file is not accepted; attach a {ACCEPTED} file", field="file"
        )
    return Accepted(safe_file_name(file_name), content_type)


def _size(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KB"
    return f"{size} bytes"


def size_label(size: int) -> str:
    """'2.4 MB', '12 KB', '300 bytes': a file's size as a person reads it."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{round(size / 1024)} KB"
    return f"{size} bytes"


def type_label(content_type: str) -> str:
    """The kind of a stored file in the users' words."""
    if content_type == CSV:
        return "CSV"
    if content_type == TEXT:
        return "text"
    return BINARY_TYPES.get(content_type, content_type)
