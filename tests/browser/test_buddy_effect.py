"""The buddy programme's effect page in Chromium, for a lead on a desktop and a phone: the
departments compared and what changed, clean under axe-core's WCAG 2 A/AA rules, and nothing
wider than the phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from followthrough.db import Database
from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.conftest import Clock
from tests.factories import World
from tests.programmes.test_effect import START, WEEKS, build_history

pytestmark = pytest.mark.browser
PHONE = 390


def test_the_effect_page_passes_axe_on_desktop_and_phone(
    person: People, sqlite_db: Database, small_world: World, clock: Clock
) -> None:
    build_history(sqlite_db)
    clock.now = START + timedelta(weeks=WEEKS)
    problems = {}
    for name, width in (("desktop", None), ("phone", PHONE)):
        page = person("carl") if width is None else person("carl", width=width)
        # The first effect page of a process takes 2.9 s of CPU (0.5 s after: measured), past
        # the 10 s a page may take on a loaded two-core machine.
        page.goto("/buddies/effect", timeout=60_000)
        expect(page.get_by_role("heading", name="What the buddy programme changed")).to_be_visible()
        expect(page.get_by_text("Better since taking part")).to_be_visible()
        problems[name] = wcag_violations(page)
        if width is not None:
            assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert {name: found for name, found in problems.items() if found} == {}
