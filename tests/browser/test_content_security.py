"""The pages under their Content-Security-Policy in real Chromium: no inline script is left to be
blocked, and the behaviours moved into /static/app.js still work (charts, the silo network, the
team picker)."""

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

# Installed before any page script runs; a blocked script or handler fires this event.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
});
"""


@pytest.fixture
def told(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Database, World, Story]]:
    path = tmp_path / "csp.sqlite3"
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


class Watched:
    """A signed-in page that collects CSP violations and console reports of them."""

    def __init__(self, browser: Browser, server: LiveServer, handle: str) -> None:
        self.context = browser.new_context(
            base_url=server.base_url, viewport={"width": 1280, "height": 900}
        )
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.console: list[str] = []
        self.page.on(
            "console",
            lambda message: (
                self.console.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        self.page.goto("/sign-in")
        self.page.get_by_label("Your sign-in name").fill(handle)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(server.base_url + "/")

    def visit(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        self.page.wait_for_load_state("load")
        self.assert_no_violations(path)

    def assert_no_violations(self, where: str) -> None:
        violations = self.page.evaluate("window.__violations")
        assert violations == [], (where, violations)
        assert self.console == [], (where, self.console)


def test_the_main_pages_run_no_blocked_script(
    browser: Browser, server: LiveServer, told: tuple[Database, World, Story]
) -> None:
    _, world, story = told
    lee = Watched(browser, server, "lee")
    try:
        for path in [
            "/",
            "/requests/new",
            "/requests",
            f"/requests/{story.r1}",
            "/team",
            "/board",
            "/account/tokens",
            "/insight",
            f"/insight/scorecards?level=person&{PERIOD}",
            f"/insight/scorecards/person/{world.people['cleo']}?{PERIOD}",
            f"/insight/ripple/cases/{story.case}",
            "/insight/health",
            "/insight/digest?week=2026-03-02",
            "/practice",
            "/practice/new",
        ]:
            lee.visit(path)
        lee.context.close()

        cleo = Watched(browser, server, "cleo")
        # The team picker, once an inline onchange, now navigates from app.js.
        cleo.visit(f"/insight/ripple/teams/{world.teams['admin']}?{PERIOD}")
        cleo.page.wait_for_selector("canvas[data-drawn]")
        cleo.page.select_option("#team", str(world.teams["claims"]))
        cleo.page.wait_for_url(f"**/insight/ripple/teams/{world.teams['claims']}")
        cleo.assert_no_violations("ripple team picker")

        # The review's charts and print button, once inline too.
        cleo.visit(f"/insight/review/{world.teams['claims']}/{world.teams['admin']}?{PERIOD}")
        cleo.page.wait_for_function(
            "() => document.querySelectorAll('canvas[data-drawn]').length >= 2"
        )
        assert cleo.page.locator("button[data-print]").is_visible()

        # The silo network, drawn by app.js from the data-network attribute.
        cleo.visit(f"/insight/silo?{PERIOD}")
        cleo.page.wait_for_selector("#silo-network circle.node")
        assert cleo.page.locator("#silo-network circle.node").count() == 4
        # And after a boosted (htmx) navigation back to it, drawn again.
        cleo.page.goto("/insight")
        cleo.page.get_by_role("link", name="Silo map").first.click()
        cleo.page.wait_for_selector("#silo-network circle.node")
        cleo.assert_no_violations("silo map")
        cleo.context.close()
    finally:
        for context in browser.contexts:
            context.close()


def test_an_inline_script_would_be_reported(browser: Browser, server: LiveServer) -> None:
    # The check above can fail: an inline script injected into a served page is blocked and seen.
    watched = Watched(browser, server, "asha")
    try:
        watched.visit("/")
        watched.page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }"
        )
        watched.page.wait_for_function("() => window.__violations.length > 0")
        assert watched.page.evaluate("window.__ran") is None
        assert "script-src" in watched.page.evaluate("window.__violations")[0]
    finally:
        watched.context.close()


def test_a_new_browser_finds_every_asset_a_page_asks_for(
    browser: Browser, server: LiveServer
) -> None:
    context = browser.new_context(base_url=server.base_url)
    page = context.new_page()
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/sign-in")
    page.wait_for_load_state("networkidle")
    # The browser asks for the page's icon by itself (/favicon.ico unless the page names one).
    page.wait_for_timeout(500)
    assert missing == []
    assert errors == []
    context.close()
