"""What may be attached, read from the bytes; names made safe; the download header."""

from __future__ import annotations

import pytest

from followthrough.attachments import rules
from followthrough.errors import InvalidInput, TooLarge, UnsupportedType
from tests.attachments import files

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (files.pdf(), "policy.pdf", "application/pdf"),
        (files.png(), "screenshot.png", "image/png"),
        (files.jpeg(), "photo.jpg", "image/jpeg"),
        (files.docx(), "letter.docx", DOCX),
        (files.xlsx(), "claims.xlsx", XLSX),
        (b"Policy HM-1234\nAddress: 1 High St\n", "note.txt", "text/plain"),
        (b"ref;amount\r\nCLM-1;120,50\r\n", "claims.csv", "text/csv"),
        ("Straße, café, 東京\n".encode(), "names.txt", "text/plain"),
        # The name does not decide: a PDF called .txt is a PDF, text called .pdf is text.
        (files.pdf(), "looks-like.txt", "application/pdf"),
        (b"just words", "pretends.pdf", "text/plain"),
    ],
)
def test_the_kind_is_read_from_the_content(content: bytes, name: str, expected: str) -> None:
    assert rules.sniffed_type(content, name) == expected


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (files.windows_program(), "invoice.pdf"),
        (files.windows_program(), "setup.exe"),
        (files.elf_program(), "notes.txt"),
        (files.plain_zip(), "archive.zip"),
        (b"text with a NUL \x00 in it", "odd.txt"),
        (b"\x1b[31mterminal escape\x1b[0m", "colour.txt"),
    ],
)
def test_programs_archives_and_binary_junk_are_refused(content: bytes, name: str) -> None:
    assert rules.sniffed_type(content, name) is None
    with pytest.raises(UnsupportedType) as refused:
        rules.check_upload(name, content, too_big=False, missing="", max_bytes=10_000)
    assert refused.value.status == 415
    assert refused.value.field == "file"


def test_the_limit_is_inclusive_and_names_the_field() -> None:
    limit = 1000
    content = b"a" * limit
    assert rules.check_upload("a.txt", content, too_big=False, missing="", max_bytes=limit)
    with pytest.raises(TooLarge) as refused:
        rules.check_upload("a.txt", content + b"a", too_big=False, missing="", max_bytes=limit)
    assert (refused.value.status, refused.value.field) == (413, "file")
    assert "1000 bytes" in refused.value.detail
    # Cut off while reading: too big whatever arrived.
    with pytest.raises(TooLarge):
        rules.check_upload("a.txt", b"", too_big=True, missing="", max_bytes=limit)


def test_no_file_and_an_empty_file_are_invalid_input_on_the_file_field() -> None:
    with pytest.raises(InvalidInput) as missing:
        rules.check_upload("", b"", too_big=False, missing="choose a file", max_bytes=10)
    assert (missing.value.status, missing.value.field) == (422, "file")
    with pytest.raises(InvalidInput, match="empty"):
        rules.check_upload("empty.txt", b"", too_big=False, missing="", max_bytes=10)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("policy.pdf", "policy.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
        ("/absolute/path/report.pdf", "report.pdf"),
        ("nul\x00byte.pdf", "nulbyte.pdf"),
        # U+202E turns 'invoice_fdp.exe' into 'invoice_exe.pdf' on screen: removed.
        ("invoice_\u202efdp.exe", "invoice_fdp.exe"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("line\nbreak\r.txt", "linebreak.txt"),
        ("...", "attachment"),
        ("", "attachment"),
        ("   ", "attachment"),
        ("CON.txt", "_CON.txt"),
        ("Straße café.pdf", "Straße café.pdf"),
        ("e\u0301.txt", "é.txt"),  # composed (NFC)
    ],
)
def test_hostile_names_are_made_safe(given: str, kept: str) -> None:
    assert rules.safe_file_name(given) == kept


def test_a_very_long_name_is_cut_keeping_its_extension() -> None:
    kept = rules.safe_file_name("x" * 500 + ".pdf")
    assert len(kept) == rules.MAX_NAME
    assert kept == "x" * (rules.MAX_NAME - 4) + ".pdf"
    assert len(rules.safe_file_name("y" * 500)) == rules.MAX_NAME


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("policy.pdf", "attachment; filename=\"policy.pdf\"; filename*=UTF-8''policy.pdf"),
        (
            "Straße café.pdf",
            "attachment; filename=\"Stra_e cafe.pdf\"; filename*=UTF-8''Stra%C3%9Fe%20caf%C3%A9.pdf",
        ),
        ("東京.txt", "attachment; filename=\"__.txt\"; filename*=UTF-8''%E6%9D%B1%E4%BA%AC.txt"),
        (
            "semi;colon,comma.txt",
            "attachment; filename=\"semi_colon_comma.txt\"; filename*=UTF-8''semi%3Bcolon%2Ccomma.txt",
        ),
    ],
)
def test_the_download_header_names_the_file_in_ascii_and_utf8(name: str, header: str) -> None:
    assert rules.content_disposition(name) == header
