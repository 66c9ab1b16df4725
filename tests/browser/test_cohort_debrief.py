"""A cohort's live role-play debrief in Chromium, on a desktop and a phone: a learning lead
chooses the cohort and reads its behaviours with the spread between people and each
participant's means. The page passes axe-core's WCAG 2 A and AA rules and fits a phone."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from followthrough.db import Database
from followthrough.learning import service
from followthrough.practice.roleplay import live_service
from followthrough.practice.roleplay.scoring import shipped_model
from tests.browser.conftest import People
from tests.browser.test_learning import PHONE, problems_on
from tests.conftest import Clock
from tests.factories import World

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, PHONE])
def test_a_lead_reads_a_cohorts_live_role_plays(
    person: People, sqlite_db: Database, small_world: World, clock: Clock, width: int
) -> None:
    lee, asha, cleo = (small_world.people[h] for h in ("lee", "asha", "cleo"))
    model = shipped_model()
    at = clock.now - timedelta(hours=1)
    with sqlite_db.unit_of_work() as session:
        module = service.seed_catalog(session, clock.now)["Role plays"]
        cohort = service.open_cohort(session, module, "Spring wave", lee, clock.now)
        live = live_service.open_session(session, lee, "missed-call-back", at, random.Random(1))
        service.hold_for_cohort(session, live.id, cohort, lee, True, at)
        live_service.join(session, asha, live.code, "1", "participant", model, at)
        live_service.join(session, cleo, live.code, "1", "observer", model, at)
        live_service.take_turn(session, live, asha, 0, "", 0, model, at)
        live_service.take_turn(
            session, live, asha, None, "What does Mr Patel need from us now?", 1, model, at
        )
        live_service.mark(session, live, cleo, "score", 2, ["asks_need"], "", at)
    page = person("lee", width=width)
    page.goto("/learning")
    page.get_by_role("link", name="a cohort's live role plays").click()
    page.wait_for_url("**/learning/debrief")
    page.get_by_label("Cohort", exact=True).select_option(label="Spring wave (Role plays)")
    page.get_by_role("button", name="Show the debrief").click()
    page.get_by_text("1 answer in the participants' own words, over 1 session").wait_for()
    page.locator("#debrief-people").get_by_text("Asha").first.wait_for()
    assert problems_on(page) == []
