"""Lunch and learn in Chromium: a session proposed by label, a place taken, and after it the
attendance and feedback forms; clean under axe-core's WCAG 2 A/AA rules on a desktop and a
phone, with nothing wider than the phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from followthrough.db import Database
from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.conftest import Clock
from tests.factories import World

pytestmark = pytest.mark.browser
PHONE = 390


def test_proposing_and_taking_a_place_pass_axe_on_desktop_and_phone(
    person: People, sqlite_db: Database, small_world: World, clock: Clock
) -> None:
    page = person("asha")
    page.goto("/lunch-and-learn")
    page.get_by_label("Title").fill("How Claims checks a payment request")
    page.get_by_label("Team presenting").select_option(label="Claims")
    page.get_by_label("Room or meeting link").fill("Room 3")
    page.get_by_label("Places").fill("12")
    page.get_by_role("button", name="Propose this session").click()
    expect(page.get_by_text("Your session is on the list")).to_be_visible()
    problems = {"proposed, desktop": wcag_violations(page)}
    cleo = person("cleo", width=PHONE)
    cleo.goto("/lunch-and-learn")
    cleo.get_by_role("button", name="Take a place at How Claims checks a payment request").click()
    expect(cleo.get_by_text("You have a place: the calendar invitation")).to_be_visible()
    problems["place taken, phone"] = wcag_violations(cleo)
    assert cleo.evaluate("document.documentElement.scrollWidth") <= PHONE
    clock.advance(days=8)
    page.goto("/lunch-and-learn")
    expect(page.get_by_text("Who came to")).to_be_visible()
    page.get_by_label("Cleo Clerk").check()
    page.get_by_role("button", name="Record attendance").click()
    expect(page.get_by_text("Attendance is recorded.")).to_be_visible()
    problems["after, desktop"] = wcag_violations(page)
    cleo.goto("/lunch-and-learn")
    cleo.get_by_label("4").check()
    cleo.get_by_role("button", name="Send feedback").click()
    expect(cleo.get_by_text("Thank you for your feedback.")).to_be_visible()
    problems["feedback, phone"] = wcag_violations(cleo)
    assert cleo.evaluate("document.documentElement.scrollWidth") <= PHONE
    assert {name: found for name, found in problems.items() if found} == {}
