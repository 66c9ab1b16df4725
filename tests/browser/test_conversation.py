"""Conversation in Chromium: attaching a file and seeing it, an internal note the requester
never sees, and the notification history after "Mark all read" — with axe-core on each page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from followthrough.db import Database
from tests.attachments import files
from tests.browser.conftest import People, screenshot
from tests.browser.test_accessibility import wcag_violations
from tests.browser.test_story import raise_request
from tests.conftest import Clock, LiveServer, serving
from tests.factories import World

pytestmark = pytest.mark.browser

LIMIT = 64 * 1024


@pytest.fixture
def server(
    sqlite_db: Database, small_world: World, clock: Clock, tmp_path: Path
) -> Iterator[LiveServer]:
    """The app with its attachments in the test's folder and a small size limit."""
    with serving(
        sqlite_db, clock, attachment_folder=tmp_path / "files", attachment_max_bytes=LIMIT
    ) as live:
        yield live


def test_attach_a_file_note_it_internally_and_read_the_notification_history(
    person: People, tmp_path: Path
) -> None:
    asha = person("asha")
    rid = raise_request(asha, "policy document", "Correct a policy document", "Wrong address")

    # The requester attaches the corrected schedule and sees it listed.
    attachments = asha.locator("#attachments")
    expect(attachments).to_contain_text("No files attached.")
    asha.get_by_label("Attach a file").set_input_files(
        files=[
            {"name": "Schedule HM-1234.pdf", "mimeType": "application/pdf", "buffer": files.pdf()}
        ]
    )
    expect(asha.get_by_text("up to 64 KB")).to_be_visible()
    asha.get_by_role("button", name="Attach", exact=True).click()
    expect(asha.locator(".flash")).to_have_text("File attached.")
    expect(attachments.get_by_role("link", name="Schedule HM-1234.pdf")).to_be_visible()
    expect(attachments).to_contain_text("PDF")
    expect(asha.locator("#timeline")).to_contain_text("attached Schedule HM-1234.pdf")
    with asha.expect_download() as download:
        attachments.get_by_role("link", name="Schedule HM-1234.pdf").click()
    assert download.value.suggested_filename == "Schedule HM-1234.pdf"
    assert Path(download.value.path()).read_bytes() == files.pdf()

    # Too big: the message beside the file field, the page otherwise as it was.
    asha.get_by_label("Attach a file").set_input_files(
        files=[{"name": "scan.txt", "mimeType": "text/plain", "buffer": b"a" * (LIMIT + 1)}]
    )
    asha.get_by_role("button", name="Attach", exact=True).click()
    error = asha.locator("#attach-file-error")
    expect(error).to_contain_text("larger than the 64 KB")
    expect(asha.get_by_label("Attach a file")).to_have_attribute("aria-invalid", "true")
    assert wcag_violations(asha) == []
    # The requester sees no internal notes at all.
    expect(asha.locator("#notes")).to_have_count(0)

    # The owner's teammate sees the file and writes an internal note, marked as such.
    cleo = person("cleo")
    cleo.goto(f"/requests/{rid}")
    expect(cleo.locator("#attachments")).to_contain_text("Schedule HM-1234.pdf")
    notes = cleo.locator("#notes")
    expect(notes).to_contain_text("internal")
    notes.get_by_text("Add an internal note").click()
    notes.get_by_label("Internal note").fill("Old policy system: check the paper file too")
    notes.get_by_role("button", name="Add internal note").click()
    expect(cleo.locator(".flash")).to_have_text("Internal note added.")
    expect(cleo.locator("#notes")).to_contain_text("Old policy system: check the paper file too")
    expect(cleo.locator("#notes .internal-tag").first).to_be_visible()
    assert wcag_violations(cleo) == []
    screenshot(cleo, "request-attachments-notes")

    asha.goto(f"/requests/{rid}")
    expect(asha.locator("#attachments")).to_contain_text("Schedule HM-1234.pdf")
    expect(asha.locator("main")).not_to_contain_text("Old policy system")
    expect(asha.locator("main")).not_to_contain_text("internal note")

    # The duty owner was told of the request, the file and the note; after "Mark all read"
    # the history still has every one of them, newest first, marked read.
    dan = person("dan")
    dan.locator(".top .me").get_by_role("link", name=re.compile("^Notifications")).click()
    expect(dan).to_have_url(re.compile(r"/notifications$"))
    history = dan.locator("ol.notifications > li")
    count = history.count()
    assert count >= 3
    expect(history.first).to_contain_text("internal note")
    expect(dan.locator(".top .me .badge")).to_have_text(str(count))
    dan.get_by_role("button", name=f"Mark all {count} read").click()
    expect(dan.locator(".flash")).to_have_text(f"Marked {count} read.")
    expect(history).to_have_count(count)
    expect(dan.locator("ol.notifications > li.read")).to_have_count(count)
    expect(dan.locator(".top .me .badge")).to_have_count(0)
    expect(dan.get_by_role("link", name=re.compile(r"^Unread\W+0$"))).to_be_visible()
    assert wcag_violations(dan) == []
    screenshot(dan, "notifications")
    dan.get_by_role("link", name=re.compile(r"^Unread\W+0$")).click()
    expect(dan.locator("main")).to_contain_text("Nothing unread.")
    dan.get_by_role("link", name=re.compile(rf"^Read\W+{count}$")).click()
    dan.get_by_role("button", name="Mark unread").first.click()
    expect(dan.locator(".top .me .badge")).to_have_text("1")
