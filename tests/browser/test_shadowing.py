"""Job shadowing in Chromium, on a desktop and a phone: a host offers a slot with the form, a
guest from another department books it with one button, and writes what surprised them after
the visit; every page passes axe-core's WCAG 2 A and AA rules and fits a phone's width."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.conftest import Clock

pytestmark = pytest.mark.browser

PHONE = 390


def problems_on(page: Page) -> list[str]:
    """axe-core's WCAG A/AA violations, and a page wider than the window (sideways scrolling)."""
    page.wait_for_load_state("networkidle")
    found = wcag_violations(page)
    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
        found.append(f"{page.url} is wider than the window")
    return found


@pytest.mark.parametrize("width", [1280, PHONE])
def test_offer_book_and_reflect_in_the_browser(person: People, clock: Clock, width: int) -> None:
    problems: dict[str, list[str]] = {}
    cleo = person("cleo", width=width)
    cleo.goto("/shadowing")
    problems["host, before offering"] = problems_on(cleo)
    # The clock starts on Monday 2 March 2026, 09:00 UTC; Policy Admin works 09:00-17:00 UTC.
    cleo.get_by_label("Start").fill("2026-03-03T10:00")
    cleo.get_by_label("End").fill("2026-03-03T12:00")
    cleo.get_by_role("button", name="Offer this slot").click()
    cleo.get_by_text("not booked yet").wait_for()

    # Outside working hours: refused beside the field, and the page still passes.
    cleo.get_by_label("Start").fill("2026-03-03T16:00")
    cleo.get_by_label("End").fill("2026-03-03T18:00")
    cleo.get_by_role("button", name="Offer this slot").click()
    cleo.get_by_text("within your team's working hours").first.wait_for()
    problems["host, refused"] = problems_on(cleo)

    asha = person("asha", width=width)
    asha.goto("/shadowing")
    problems["guest, slots offered"] = problems_on(asha)
    asha.get_by_role("button", name="Book the slot with Cleo Clerk").click()
    asha.get_by_text("you shadow Cleo Clerk of Policy Admin").wait_for()
    problems["guest, booked"] = problems_on(asha)

    clock.advance(days=1, hours=4)  # Tuesday 13:00: the visit is over
    asha.goto("/shadowing")
    asha.get_by_label("What surprised you about their work?").fill(
        "Every policy change is checked twice by hand."
    )
    asha.get_by_role("button", name="Share with both teams").click()
    asha.get_by_text("Every policy change is checked twice by hand.").wait_for()
    problems["reflections"] = problems_on(asha)

    cleo.goto("/shadowing/reflections")
    cleo.get_by_text("Every policy change is checked twice by hand.").wait_for()
    assert {k: v for k, v in problems.items() if v} == {}
