"""The buddy pages in Chromium: opting in by label, the buddy and "did you meet?" answered, on
a desktop and a phone, and clean under axe-core's WCAG 2 A/AA rules; the leads' rounds page too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from followthrough.db import Database
from followthrough.programmes.service import pair_round, set_enrolment
from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.conftest import Clock
from tests.factories import World

pytestmark = pytest.mark.browser
PHONE = 390


def test_opting_in_meeting_a_buddy_and_the_rounds_pass_axe_on_desktop_and_phone(
    person: People, sqlite_db: Database, small_world: World, clock: Clock
) -> None:
    page = person("asha")
    page.goto("/buddies")
    page.get_by_label("Yes, I take part").check()
    page.get_by_label("A group of three suits me too").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("You are in:")).to_be_visible()
    with sqlite_db.unit_of_work() as session:
        set_enrolment(
            session, small_world.people["cleo"], opted_in=True, prefers_trio=False, now=clock.now
        )
        pair_round(session, clock.now, seed=1)
    page.goto("/buddies")
    expect(page.get_by_text("Cleo Clerk (Policy Administration)")).to_be_visible()
    problems = {"buddies, desktop": wcag_violations(page)}
    page.get_by_role("button", name="Yes, we met").click()
    expect(page.get_by_text("You said you met.")).to_be_visible()
    phone = person("asha", width=PHONE)
    phone.goto("/buddies")
    problems["buddies, phone"] = wcag_violations(phone)
    lead = person("carl")
    lead.goto("/buddies/rounds")
    expect(lead.get_by_role("heading", name="Buddy rounds")).to_be_visible()
    problems["rounds, desktop"] = wcag_violations(lead)
    lead_phone = person("carl", width=PHONE)
    lead_phone.goto("/buddies/rounds")
    problems["rounds, phone"] = wcag_violations(lead_phone)
    assert {name: found for name, found in problems.items() if found} == {}


def test_the_rounds_fit_a_phone_without_scrolling_sideways(
    person: People, sqlite_db: Database, small_world: World, clock: Clock
) -> None:
    with sqlite_db.unit_of_work() as session:
        for handle in ("asha", "cleo"):
            set_enrolment(
                session,
                small_world.people[handle],
                opted_in=True,
                prefers_trio=False,
                now=clock.now,
            )
        pair_round(session, clock.now, seed=1)
    lead_phone = person("carl", width=375)
    lead_phone.goto("/buddies/rounds")
    met = lead_phone.locator("td[data-label='Meet rate']").first
    expect(met).to_have_text("no answers yet")
    assert lead_phone.evaluate("document.documentElement.scrollWidth") <= 375
    # Stacked, each figure keeps its column's name beside it.
    assert met.evaluate("td => getComputedStyle(td, '::before').content") == '"Meet rate"'
