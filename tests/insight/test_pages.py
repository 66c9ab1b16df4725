"""Every Insight page in real Chromium, over the hand-made story (SQLite)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from followthrough.db import Database
from tests.conftest import T0, Clock, LiveServer, require_chromium, serving
from tests.factories import PASSWORD, World, build_world
from tests.insight.conftest import Story, tell_story

PERIOD = "start=2026-03-01&end=2026-03-08"

pytestmark = pytest.mark.browser

require_chromium()

from playwright.sync_api import Browser, Page  # noqa: E402


@pytest.fixture
def told(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Database, World, Story]]:
    path = tmp_path / "insight.sqlite3"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    with database.unit_of_work() as session:
        world = build_world(session)
    yield database, world, tell_story(database, world)
    database.dispose()


@pytest.fixture
def server(told: tuple[Database, World, Story]) -> Iterator[LiveServer]:
    with serving(told[0], Clock(T0 + timedelta(days=6))) as live:
        yield live


def signed_in(browser: Browser, server: LiveServer, handle: str) -> Page:
    context = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/sign-in")
    page.get_by_label("Your sign-in name").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.base_url + "/")
    return page


def drawn_charts(page: Page) -> int:
    page.wait_for_function("() => document.querySelectorAll('canvas[data-drawn]').length > 0")
    return int(page.evaluate("document.querySelectorAll('canvas[data-drawn]').length"))


def test_scorecard_pages_show_both_halves_and_draw_the_trend(
    browser: Browser, server: LiveServer, told: tuple[Database, World, Story]
) -> None:
    _, world, _ = told
    page = signed_in(browser, server, "lee")
    page.goto(f"/insight/scorecards?level=person&{PERIOD}")
    table = page.locator("#scorecards")
    assert table.get_by_role("columnheader", name="What gets done").is_visible()
    assert table.get_by_role("columnheader", name="How it gets done").is_visible()
    assert table.get_by_role("link", name="Cleo Clerk").is_visible()
    page.goto(f"/insight/scorecards/person/{world.people['cleo']}?{PERIOD}")
    assert page.get_by_role("heading", name="What gets done").is_visible()
    assert page.get_by_role("heading", name="How it gets done").is_visible()
    assert drawn_charts(page) == 3
    outsider = signed_in(browser, server, "asha")
    response = outsider.goto(f"/insight/scorecards/person/{world.people['cleo']}?{PERIOD}")
    assert response is not None
    assert response.status == 404
    outsider.goto(f"/insight/scorecards?level=team&{PERIOD}")
    assert "too small to show outside it" in outsider.locator("#scorecards").inner_text()


def test_ripple_pages_show_the_customers_behind_the_work(
    browser: Browser, server: LiveServer, told: tuple[Database, World, Story]
) -> None:
    _, world, story = told
    page = signed_in(browser, server, "cleo")
    page.goto("/insight/ripple")
    page.wait_for_url(f"**/insight/ripple/teams/{world.teams['admin']}")
    page.goto(f"/insight/ripple/teams/{world.teams['admin']}?{PERIOD}&threshold_hours=4")
    assert (
        "touched 1 customer; 1 waited more than 4 hours" in page.locator("#headline").inner_text()
    )
    assert page.locator("#customers").get_by_text("Mrs Jones").is_visible()
    assert drawn_charts(page) == 1
    page.goto(f"/insight/ripple/cases/{story.case}")
    assert page.get_by_role("heading", name="Mrs Jones: 9.0 hours waited").is_visible()
    assert "Policy Admin" in page.locator("#decomposition").inner_text()


def test_silo_map_draws_the_department_network_in_the_browser(
    browser: Browser, server: LiveServer
) -> None:
    page = signed_in(browser, server, "asha")
    page.goto(f"/insight/silo?{PERIOD}")
    page.wait_for_selector("#silo-network circle.node")
    assert page.locator("#silo-network circle.node").count() == 4
    assert page.locator("#silo-network line.edge").count() == 2
    assert "isolated" in page.locator("#teams").inner_text()


def test_health_digest_recognitions_and_review_pages_open(
    browser: Browser, server: LiveServer, told: tuple[Database, World, Story]
) -> None:
    _, world, _ = told
    page = signed_in(browser, server, "lee")
    page.goto("/insight/health")
    rows = page.locator("#pairs tbody tr")
    assert rows.count() == 2
    page.goto("/insight/recognitions")
    assert page.locator("#suggestions").is_visible()
    page.goto("/insight/digest?week=2026-03-02")
    assert page.locator("#wins").get_by_text("requests resolved").is_visible()
    page.goto(f"/insight/review/{world.teams['claims']}/{world.teams['admin']}?{PERIOD}")
    assert page.get_by_role("heading", name="Trust").is_visible()
    assert "3 / 0" in page.locator("#flow").inner_text()
    assert drawn_charts(page) >= 2
    page.goto("/insight")
    assert page.get_by_role("link", name="Silo map").first.is_visible()
