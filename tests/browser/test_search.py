"""The header's search box in Chromium: type, see the matches marked, open one; save a view and
open it again; the pages pass axe-core's WCAG 2 A/AA rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from followthrough.db import Database
from followthrough.requests.service import NewRequest, open_request
from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.factories import World

pytestmark = pytest.mark.browser


def _open(db: Database, world: World, handle: str, title: str, need: str) -> int:
    with db.unit_of_work() as session:
        request = open_request(
            session,
            world.actor(session, handle),
            NewRequest(title=title, need=need, service_id=world.services["correct_policy"]),
            datetime(2026, 3, 2, 9, tzinfo=UTC),
        )
        return request.id


def test_a_person_finds_a_request_from_the_header_and_opens_it(
    person: People, sqlite_db: Database, small_world: World
) -> None:
    wanted = _open(
        sqlite_db, small_world, "otto", "Policy <b>HM-1234</b> has the wrong address", "Correct it"
    )
    _open(sqlite_db, small_world, "otto", "Premium too high", "Explain the rise")
    _open(sqlite_db, small_world, "tess", "Address of the office", "Otto cannot read this one")
    otto = person("otto")
    otto.goto("/requests")
    box = otto.get_by_role("searchbox", name="Search requests, cases and people")
    box.fill("wrong addr")
    box.press("Enter")
    otto.wait_for_url(re.compile(r"/search\?q=wrong(\+|%20)addr$"))
    results = otto.locator("#found-requests + ol li")
    expect(results).to_have_count(1)
    # The title is shown as text (the tags typed into it are not markup) with the words marked.
    link = results.first.get_by_role("link")
    expect(link).to_contain_text("Policy <b>HM-1234</b> has the wrong address")
    expect(results.first.locator("mark")).to_have_text(["wrong", "address"])
    expect(otto.locator("#found-requests .count")).to_have_text("1")
    assert wcag_violations(otto) == []
    link.click()
    otto.wait_for_url(f"**/requests/{wanted}")
    expect(otto.get_by_role("heading", level=1)).to_contain_text("wrong address")


def test_a_search_is_saved_as_a_view_renamed_and_opened_again(
    person: People, sqlite_db: Database, small_world: World
) -> None:
    _open(sqlite_db, small_world, "otto", "Stolen bicycle claim", "The bicycle was taken")
    otto = person("otto")
    otto.goto("/search?q=bicycle&kind=requests")
    otto.get_by_text("Save this view").click()
    otto.get_by_label("Name for these filters").fill("My bicycles")
    otto.get_by_role("button", name="Save", exact=True).click()
    expect(otto.get_by_role("status")).to_contain_text("Saved as “My bicycles”")
    otto.goto("/views")
    assert wcag_violations(otto) == []
    otto.get_by_text("Rename…").click()
    otto.get_by_label("New name").fill("Bicycles")
    otto.get_by_role("button", name="Rename").click()
    # Only once renamed: until then "My bicycles" is also a link whose name holds "Bicycles".
    expect(otto.get_by_role("status")).to_contain_text("Renamed.")
    otto.get_by_role("link", name="Bicycles", exact=True).click()
    otto.wait_for_url("**/search?kind=requests&q=bicycle")
    expect(otto.locator("#found-requests .count")).to_have_text("1")
    # Someone else's list does not show it.
    asha = person("asha")
    asha.goto("/views")
    expect(asha.get_by_role("link", name="Bicycles")).to_have_count(0)
