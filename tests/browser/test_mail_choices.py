"""Notification mail choices and the unsubscribe page in Chromium: usable by label, on a phone
too, and clean under axe-core's WCAG 2 A/AA rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail.compose import unsubscribe_token
from followthrough.mail.preferences import Delivery
from followthrough.mail.preferences_service import preference_of
from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.conftest import Clock, LiveServer, serving
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.browser
SECRET = "browser-test-secret"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(sqlite_db: Database, small_world: World, clock: Clock) -> Iterator[LiveServer]:
    with serving(sqlite_db, clock, secret_key=SECRET) as live:
        yield live


def test_choosing_mail_by_label_on_a_phone_and_every_page_passes_axe(
    person: People, browser: Browser, server: LiveServer, sqlite_db: Database, small_world: World
) -> None:
    page = person("dan")
    page.goto("/profile")
    page.get_by_role("link", name="Choose your notification mail").click()
    page.get_by_label("Internal notes").select_option(label="Never")
    page.get_by_label("Updates posted").select_option(label="Once a day, in a summary")
    page.get_by_label("Keep quiet hours").check()
    page.get_by_label("Quiet from").fill("22:00")
    page.get_by_label("Quiet until").fill("07:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved. Mail now follows these choices.")).to_be_visible()
    with sqlite_db.unit_of_work(readonly=True) as session:
        chosen = preference_of(session, small_world.people["dan"])
    assert chosen.for_kind("note") is Delivery.OFF
    assert chosen.for_kind("update_posted") is Delivery.DAILY_DIGEST
    assert chosen.quiet is not None

    token = unsubscribe_token(Settings(secret_key=SECRET), small_world.people["dan"], "escalation")
    phone = browser.new_context(base_url=server.base_url, viewport=PHONE, is_mobile=True)
    small = phone.new_page()
    small.goto("/sign-in")
    small.get_by_label("Your sign-in name").fill("dan")
    small.get_by_label("Password", exact=True).fill(PASSWORD)
    small.get_by_role("button", name="Sign in").click()
    problems = {}
    for name, tab in (("desktop", page), ("phone", small)):
        for path in (
            "/profile",
            "/profile/notifications",
            f"/mail/unsubscribe/{token}",
            "/mail/unsubscribe/broken",
        ):
            tab.goto(path)
            tab.wait_for_load_state("networkidle")
            found = wcag_violations(tab)
            if found:
                problems[f"{name} {path}"] = found
    # The phone's page fits its width: nothing to scroll sideways.
    small.goto("/profile/notifications")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    small.goto(f"/mail/unsubscribe/{token}")
    small.get_by_role("button", name="Stop this mail").click()
    expect(small.get_by_text("you will no longer get mail about")).to_be_visible()
    phone.close()
    assert problems == {}
