"""Home and the lead board in Chromium: the escalation the sweeper just made is at the top of the
lead's Home and board, every list is counted in full with "see all", and sections collapse (and
stay collapsed on the next visit). axe-core finds nothing on the pages of these lists."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from followthrough.db import Database
from followthrough.requests import service
from followthrough.sweeper.service import sweep
from tests.browser.conftest import People, screenshot
from tests.browser.test_accessibility import wcag_violations
from tests.browser.test_story import raise_request
from tests.conftest import Clock
from tests.factories import World

pytestmark = pytest.mark.browser

WAITING = 12  # more than Home shows of a list before "see all"
DASH = "\u2013"  # the en dash of "Showing 1 to 13 of 13", as the pages write it


def _open_waiting(db: Database, world: World, clock: Clock) -> None:
    """Requests to Policy Admin that nobody accepts, a minute apart."""
    with db.unit_of_work() as session:
        otto = world.actor(session, "otto")
        for n in range(WAITING):
            service.open_request(
                session,
                otto,
                service.NewRequest(
                    title=f"Schedule S-{n:02} names the wrong car",
                    need="Correct the schedule",
                    service_id=world.services["correct_policy"],
                ),
                clock.now + timedelta(minutes=n),
            )


def test_the_leads_home_shows_the_escalation_the_sweeper_just_made_and_sections_collapse(
    person: People, sqlite_db: Database, small_world: World, clock: Clock
) -> None:
    _open_waiting(sqlite_db, small_world, clock)
    clock.advance(hours=3)
    sweep(sqlite_db, clock.now)  # none accepted in time: all escalated to the lead

    asha = person("asha")
    title = "Policy P-100 has the wrong address"
    raise_request(asha, "policy document", "Correct a policy document", title)
    clock.advance(hours=3)
    assert sweep(sqlite_db, clock.now)["offers escalated"] >= 1  # asha's, just now

    lee = person("lee")
    lee.goto("/")
    escalated = lee.get_by_role("region", name=re.compile("Escalated to you"))
    expect(escalated).to_contain_text(f"{WAITING + 1}")  # the count is all of them
    expect(escalated.locator("li").first).to_contain_text(title)
    expect(escalated.locator("li")).to_have_count(5)
    screenshot(lee, "home-lead")

    # Collapsed, it stays collapsed on the next visit; its count stays in sight.
    lee.locator("#sec-escalations > summary").click()
    expect(escalated.locator("li").first).to_be_hidden()
    lee.reload()
    expect(escalated.locator("h2")).to_contain_text(f"{WAITING + 1}")
    expect(escalated.locator("li").first).to_be_hidden()
    lee.locator("#sec-escalations > summary").click()
    expect(escalated.locator("li").first).to_be_visible()

    # "See all" lists every one of them, the newest first.
    escalated.get_by_role("link", name=re.compile(f"See all {WAITING + 1}")).click()
    expect(lee.get_by_text(f"Showing 1{DASH}{WAITING + 1} of {WAITING + 1}")).to_be_visible()
    expect(lee.locator("main li")).to_have_count(WAITING + 1)
    expect(lee.locator("main li").first).to_contain_text(title)
    assert wcag_violations(lee) == []

    lee.get_by_role("link", name="Lead board").click()
    board = lee.get_by_role("region", name=re.compile("Escalations this week"))
    expect(board.locator("li").first).to_contain_text(title)
    expect(board.locator("h2")).to_contain_text(f"{WAITING + 1}")
    screenshot(lee, "lead-board")
    assert wcag_violations(lee) == []
    board.get_by_role("link", name=re.compile("See all")).click()
    expect(lee.get_by_text(re.compile(rf"Showing 1{DASH}\d+ of \d+"))).to_be_visible()
    assert wcag_violations(lee) == []

    lee.get_by_role("link", name=re.compile("Team queue")).click()
    offers = lee.get_by_role("region", name=re.compile("Offers to accept or decline"))
    expect(offers.locator("h2")).to_contain_text(f"{WAITING + 1}")
    expect(offers.get_by_role("button", name="Accept selected").first).to_be_in_viewport()
    assert wcag_violations(lee) == []


def test_a_requesters_home_shows_their_requests_promises_and_questions(
    person: People, sqlite_db: Database, small_world: World, clock: Clock
) -> None:
    asha = person("asha")
    rid = raise_request(asha, "policy document", "Correct a policy document", "Wrong address")
    with sqlite_db.unit_of_work() as session:
        cleo = small_world.actor(session, "cleo")
        offer = service.open_offer_of(session, rid)
        assert offer is not None
        service.accept_offer(session, cleo, rid, offer.id, clock.now)
        from followthrough.promises.service import make_promise

        make_promise(
            session, cleo, rid, "Send the new schedule", clock.now + timedelta(hours=2), clock.now
        )
        service.ask_clarification(session, cleo, rid, "Which address is right?", clock.now)
    asha.goto("/")
    expect(asha.locator("nav .badge").first).to_have_text("1")  # the question waits for her
    questions = asha.get_by_role("region", name=re.compile("Questions asked to you"))
    expect(questions).to_contain_text("Which address is right?")
    mine = asha.get_by_role("region", name=re.compile("Your open requests"))
    expect(mine).to_contain_text("Cleo Clerk")
    promised = asha.get_by_role("region", name=re.compile("Promises made to you"))
    expect(promised).to_contain_text("Send the new schedule")
    screenshot(asha, "home-requester")
    assert wcag_violations(asha) == []
    asha.get_by_role("link", name="My requests").click()
    expect(asha.get_by_text(f"Showing 1{DASH}1 of 1")).to_be_visible()
    assert wcag_violations(asha) == []
