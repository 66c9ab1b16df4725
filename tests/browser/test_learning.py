"""The training programme's pages in Chromium, on a desktop and a phone: a lead records who came
to a session with the form, marks a completion and reads the effect report; the person reads
their plan and record. Every page passes axe-core's WCAG 2 A and AA rules and fits a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page

from followthrough.db import Database
from followthrough.learning import service
from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.conftest import Clock
from tests.factories import World

pytestmark = pytest.mark.browser

PHONE = 390


def problems_on(page: Page) -> list[str]:
    page.wait_for_load_state("networkidle")
    found = wcag_violations(page)
    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
        found.append(f"{page.url} is wider than the window")
    return found


@pytest.mark.parametrize("width", [1280, PHONE])
def test_a_lead_runs_a_cohort_and_a_person_reads_their_record(
    person: People, sqlite_db: Database, small_world: World, clock: Clock, width: int
) -> None:
    cleo_id = small_world.people["cleo"]
    with sqlite_db.unit_of_work() as session:
        catalog = service.seed_catalog(session, clock.now)
        cohort = service.open_cohort(session, catalog["Communication"], "Spring", None, clock.now)
        start = clock.now - timedelta(hours=2)
        service.add_session(session, cohort, start, start + timedelta(hours=1))
        service.enrol(session, cohort, cleo_id, clock.now)
        service.plan(session, catalog["Feedback"], clock.now, None, person_id=cleo_id)
        service.add_evidence(
            session, cleo_id, "own", 4, "observer", small_world.people["lee"], clock.now
        )
    problems: dict[str, list[str]] = {}
    lee = person("lee", width=width)
    lee.goto("/learning")
    problems["programme"] = problems_on(lee)
    lee.get_by_role("link", name="Spring").click()
    lee.get_by_role("checkbox", name="Cleo Clerk").check()
    lee.get_by_role("button", name="Record who was there").click()
    lee.get_by_text("1 present").wait_for()
    lee.get_by_role("button", name="Mark Cleo Clerk as completed").click()
    lee.get_by_text("Marked as completed.").wait_for()
    problems["cohort"] = problems_on(lee)
    lee.goto("/learning/effect")
    lee.get_by_role("button", name="Show what changed").click()
    lee.get_by_text("Too little data to tell").first.wait_for()
    problems["effect"] = problems_on(lee)

    cleo = person("cleo", width=width)
    cleo.goto("/learning/mine")
    cleo.get_by_text("by Lee Lead").wait_for()
    problems["mine"] = problems_on(cleo)
    assert {name: found for name, found in problems.items() if found} == {}
