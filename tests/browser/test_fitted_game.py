"""The company fitted from the desk's own history, in Chromium: a lead tries a change on it (the
result arrives by itself) and plays the facilitated game on it with two teams."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from followthrough.db import Database
from tests.browser.conftest import People
from tests.browser.test_game import decide, join
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.practice.fitted.desk import resolve_requests

pytestmark = pytest.mark.browser


@pytest.fixture
def desk_history(sqlite_db: Database, small_world: World, clock: Clock) -> None:
    """A month of Policy Admin's resolved requests: something to fit the company to."""
    resolve_requests(sqlite_db, small_world, clock.now)


@pytest.fixture
def players(browser: Browser, server: LiveServer) -> Iterator[list[Page]]:
    """Two team browsers with no account and their own cookies (a desktop and a phone)."""
    contexts: list[BrowserContext] = []
    pages: list[Page] = []
    for width in (1280, 390):
        context = browser.new_context(
            base_url=server.base_url, viewport={"width": width, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        pages.append(page)
    yield pages
    for context in contexts:
        context.close()


@pytest.mark.slow
@pytest.mark.usefixtures("desk_history")
def test_a_lead_tries_a_change_then_plays_the_game_on_the_fitted_company(
    person: People, players: list[Page], small_world: World
) -> None:
    lead = person("lee")
    lead.goto("/practice/what-if")
    lead.get_by_label("Team", exact=True).select_option(str(small_world.teams["admin"]))
    expect(lead.get_by_label("Team", exact=True)).to_contain_text("Policy Admin (3 people)")
    lead.get_by_label("People added to the team").fill("1")
    lead.get_by_role("button", name="Try it").click()
    # Answered at once; the page looks again by itself until the simulation is done.
    expect(lead.get_by_role("heading", name="Working it out…")).to_be_visible()
    expect(lead.get_by_role("heading", name="Today and with the change")).to_be_visible(
        timeout=90_000
    )
    expect(lead.get_by_role("row", name=re.compile("Policy Admin"))).to_be_visible()

    lead.goto("/practice/new")
    lead.get_by_label("Title").fill("Our own desk, rehearsed")
    lead.get_by_label("Company").select_option("fitted")
    lead.get_by_label("Teams").fill("Blue\nGreen")
    lead.get_by_label("Rounds").fill("1")
    lead.get_by_label("Days per round").fill("14")
    lead.get_by_role("button", name="Create the session").click()
    expect(lead.get_by_role("heading", name="Our own desk, rehearsed")).to_be_visible(
        timeout=90_000
    )
    expect(lead.get_by_text("Your company (fitted)")).to_be_visible()
    codes = {
        team: lead.locator(f'li[data-team="{team}"] .code').inner_text()
        for team in ("Blue", "Green")
    }

    blue, green = players
    join(blue, codes["Blue"], "Blue")
    join(green, codes["Green"], "Green")
    decide(blue, 1, invest=True)
    decide(green, 1, invest=False)
    # The console asks every 3 s and the team pages every 4 s: expect's 5 s left them 1-2 s.
    expect(lead.locator("#team-status .state-kept")).to_have_count(2, timeout=20_000)
    lead.get_by_role("button", name="Run round 1").click()
    expect(lead.get_by_text("Round 1 has been played.")).to_be_visible(timeout=60_000)
    for page in (blue, green):
        expect(page.get_by_role("heading", name="Your results, round 1")).to_be_visible(
            timeout=20_000
        )
        expect(page.get_by_text("The game is over.")).to_be_visible()
    expect(lead.get_by_role("heading", name="Leaderboard")).to_be_visible()


@pytest.mark.slow
@pytest.mark.usefixtures("desk_history")
def test_the_what_if_result_fits_a_phone_without_scrolling_sideways(
    person: People, small_world: World
) -> None:
    lead = person("lee", width=375)
    lead.goto(f"/practice/what-if?team={small_world.teams['admin']}&extra_people=1")
    expect(lead.get_by_role("heading", name="Today and with the change")).to_be_visible(
        timeout=90_000
    )
    assert lead.evaluate("document.documentElement.scrollWidth") <= 375
    first = lead.locator("#whatif-outcome tbody td").first
    assert first.evaluate("td => getComputedStyle(td, '::before').content") == (
        '"Hours to accept today"'
    )
