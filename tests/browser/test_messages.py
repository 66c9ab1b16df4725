"""Leaders' messages in Chromium: a lead edits the prefilled message by label and sends it; the
archive reads it on a phone; both pages clean under axe-core's WCAG 2 A/AA rules, and nothing
wider than the phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from followthrough.db import Database
from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.conftest import Clock
from tests.factories import World

pytestmark = pytest.mark.browser
PHONE = 390


def test_composing_and_reading_a_message_pass_axe_on_desktop_and_phone(
    person: People, sqlite_db: Database, small_world: World, clock: Clock
) -> None:
    lead = person("carl")
    lead.goto("/messages/new")
    expect(lead.get_by_role("textbox", name="Message")).to_have_value(re.compile("^Dear all,"))
    problems = {"compose, desktop": wcag_violations(lead)}
    lead.get_by_label("Subject").fill("Thank you for working across teams")
    lead.get_by_role("button", name="Send to everyone").click()
    expect(lead.get_by_text("Sent to everyone")).to_be_visible()
    problems["archive, desktop"] = wcag_violations(lead)
    phone = person("asha", width=PHONE)
    phone.goto("/messages")
    expect(phone.get_by_role("heading", name="Thank you for working across teams")).to_be_visible()
    problems["archive, phone"] = wcag_violations(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE
    compose_phone = person("carl", width=PHONE)
    compose_phone.goto("/messages/new")
    problems["compose, phone"] = wcag_violations(compose_phone)
    assert compose_phone.evaluate("document.documentElement.scrollWidth") <= PHONE
    assert {name: found for name, found in problems.items() if found} == {}
