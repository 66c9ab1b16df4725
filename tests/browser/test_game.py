"""A two-team, two-round game in Chromium: the facilitator creates it, teams join and decide."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import People, htmx_ready, screenshot
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def team_browser(browser: Browser, server: LiveServer) -> Iterator[list[Page]]:
    """Browsers with no account and their own cookies, one per team."""
    contexts: list[BrowserContext] = []
    pages: list[Page] = []

    def open_one(width: int) -> Page:
        context = browser.new_context(
            base_url=server.base_url, viewport={"width": width, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        pages.append(page)
        return page

    open_one(1280)
    open_one(390)  # a phone
    yield pages
    for context in contexts:
        context.close()


def join(page: Page, code: str, team: str) -> None:
    page.goto("/play")
    page.get_by_label("Team code").fill(code.lower())
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("heading", name=f"Team {team}")).to_be_visible()


def decide(page: Page, round_number: int, invest: bool) -> None:
    expect(
        page.get_by_role("heading", name=f"Your decisions for round {round_number}")
    ).to_be_visible()
    if invest:
        # The budget line listens to the form once htmx has taken up the page.
        htmx_ready(page.locator("#budget"))
        page.get_by_label("Communication skills").fill("20000")
        page.get_by_label("Service excellence reviews").fill("15000")
        page.get_by_label(re.compile("Buddy system")).check()
        page.get_by_label(re.compile("Handoffs must be accepted")).check()
        page.get_by_label("Balanced: what and how").check()
        # The budget line follows the form as it is filled in, before anything is saved.
        expect(page.locator("#budget")).to_contain_text("50,000 of 100,000")
        if round_number == 1:
            screenshot(page, "game-team-decide")
    page.get_by_role("button", name=f"Save decisions for round {round_number}").click()
    expect(page.get_by_text("Saved. You can change them")).to_be_visible()


def test_two_teams_play_two_rounds_and_the_facilitator_debriefs(
    person: People, team_browser: list[Page], tmp_path: Path
) -> None:
    lead = person("lee")
    lead.goto("/practice/new")
    lead.get_by_label("Title").fill("Service leadership, March cohort")
    lead.get_by_label("Company").select_option("insurance")
    lead.get_by_label("Teams").fill("Blue\nGreen")
    lead.get_by_label("Rounds").fill("2")
    lead.get_by_role("button", name="Create the session").click()
    expect(lead.get_by_role("heading", name="Service leadership, March cohort")).to_be_visible()
    codes = {
        team: lead.locator(f'li[data-team="{team}"] .code').inner_text()
        for team in ("Blue", "Green")
    }

    blue, green = team_browser
    join(blue, codes["Blue"], "Blue")
    join(green, codes["Green"], "Green")

    for round_number in (1, 2):
        decide(blue, round_number, invest=True)
        decide(green, round_number, invest=False)
        status = lead.locator("#team-status")
        # Polled, no reload: the console asks every 3 s, so expect's 5 s left 2 s for the answer.
        expect(status.locator(".state-kept")).to_have_count(2, timeout=20_000)
        lead.get_by_role("button", name=f"Run round {round_number}").click()
        # A round simulates both teams' quarter: 3.2 s of CPU (measured alone), over 30 s of wall
        # time on a loaded machine, where expect's 5 s ran out.
        expect(lead.get_by_text(f"Round {round_number} has been played.")).to_be_visible(
            timeout=60_000
        )
        # Team pages notice the results by themselves: they ask every 4 s, then load again, so
        # 5 s left one second for the page to come.
        for page in (blue, green):
            expect(
                page.get_by_role("heading", name=f"Your results, round {round_number}")
            ).to_be_visible(timeout=20_000)

    expect(blue.get_by_text("The game is over.")).to_be_visible()
    expect(blue.get_by_role("heading", name="What happened")).to_be_visible()
    expect(blue.locator("svg.game-chart").first).to_be_visible()
    screenshot(blue, "game-team-results")
    screenshot(green, "game-team-results-phone")

    expect(lead.get_by_role("heading", name="Leaderboard")).to_be_visible()
    expect(lead.get_by_role("heading", name="Teams side by side")).to_be_visible()
    expect(lead.get_by_text("Every round has been played.")).to_be_visible()
    screenshot(lead, "game-console")

    lead.get_by_role("link", name="Debrief", exact=True).click()
    expect(lead.get_by_role("heading", name="Decisions, round by round")).to_be_visible()
    expect(lead.locator("svg.game-chart")).to_have_count(8)
    screenshot(lead, "game-debrief")
    with lead.expect_download() as download:
        lead.get_by_role("link", name="Download the report (HTML)").click()
    saved = tmp_path / "report.html"
    download.value.save_as(saved)
    report = saved.read_text(encoding="utf-8")
    assert "Debrief: Service leadership, March cohort" in report
    assert report.count("<svg") == 8
    assert "<script" not in report
