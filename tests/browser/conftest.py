"""Browser tests: the real app on a real port, driven by Debian's Chromium through Playwright.

They run on SQLite only (the data layer is tested on both databases elsewhere) and save
screenshots of the main pages into docs/screenshots.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from followthrough.db import Database
from tests.conftest import Clock, LiveServer, serving
from tests.factories import PASSWORD, World, build_world

CHROMIUM = os.environ.get("FOLLOWTHROUGH_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"Chromium is not installed at {CHROMIUM}; `make test` installs it")
    pytest.skip("Chromium is not installed", allow_module_level=True)

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright  # noqa: E402


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    yield browser
    browser.close()


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "browser.sqlite3"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def small_world(sqlite_db: Database) -> World:
    with sqlite_db.unit_of_work() as session:
        return build_world(session)


@pytest.fixture
def server(sqlite_db: Database, small_world: World, clock: Clock) -> Iterator[LiveServer]:
    with serving(sqlite_db, clock) as live:
        yield live


People = Callable[..., Page]


@pytest.fixture
def person(browser: Browser, server: LiveServer) -> Iterator[People]:
    """A signed-in browser page per person (own cookies), opened on first use."""
    contexts: list[BrowserContext] = []
    pages: dict[tuple[str, int], Page] = {}

    def open_as(handle: str, width: int = 1280) -> Page:
        key = (handle, width)
        if key in pages:
            return pages[key]
        context = browser.new_context(
            base_url=server.base_url, viewport={"width": width, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/")
        page.get_by_label("Your sign-in name").fill(handle)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(server.base_url + "/")
        pages[key] = page
        return page

    yield open_as
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
