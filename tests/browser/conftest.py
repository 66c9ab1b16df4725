"""Browser tests: the real app on a real port, driven by Debian's Chromium through Playwright.

They run on SQLite only (the data layer is tested on both databases elsewhere) and save
screenshots of the main pages into docs/screenshots.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from followthrough.db import Database
from tests.conftest import SEEDED, Clock, LiveServer, require_chromium, serving
from tests.factories import PASSWORD, World, build_world

# The committed screenshots in docs/ are refreshed only when asked (UPDATE_SCREENSHOTS=1), so a
# test run leaves the work tree clean; otherwise they are still taken, into a temporary folder.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "followthrough-screenshots"
)

pytestmark = pytest.mark.browser

require_chromium()

from playwright.sync_api import Browser, BrowserContext, Locator, Page  # noqa: E402


@pytest.fixture
def sqlite_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite file of the test's own: a copy of the worker's world file when the test
    asks for `small_world` (built once through the services, tests/conftest.py), else empty."""
    if "small_world" in request.fixturenames:
        template, world = request.getfixturevalue("sqlite_world")
        request.node.stash[SEEDED] = copy.deepcopy(world)
    else:
        template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "browser.sqlite3"
    shutil.copy(template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def small_world(sqlite_db: Database, request: pytest.FixtureRequest) -> World:
    seeded = request.node.stash.get(SEEDED, None)
    if seeded is not None:
        return seeded
    # Asked for by name at run time (request.getfixturevalue): build it in the empty database.
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

    def open_as(
        handle: str, width: int = 1280, timezone_id: str = "UTC", locale: str = "en-GB"
    ) -> Page:
        key = (handle, width)
        if key in pages:
            return pages[key]
        # The browser's zone and language are sent with sign-in and kept as the person's own
        # (static/clock-guess.js): UTC unless a test asks for another.
        context = browser.new_context(
            base_url=server.base_url,
            viewport={"width": width, "height": 900},
            timezone_id=timezone_id,
            locale=locale,
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


# htmx takes up what it swaps in one settle step later (20 ms after a boosted page or a part
# arrives; a full page's at DOMContentLoaded). Until then the new elements' hx- triggers do not
# listen, and htmx marks each swapped-in element "htmx-added" until it has processed it.
HTMX_SETTLED = (
    "() => !!(document.body && document.body['htmx-internal-data'])"
    " && !document.querySelector('.htmx-added, .htmx-settling')"
)


def htmx_ready(target: Locator) -> Locator:
    """`target`, once htmx listens on its page: what a test types or chooses before that goes
    unheard by htmx (no preview, no suggestion), where no person could be that quick.

    For an element of the page just opened or swapped in; on an element the page had before a
    navigation, it would return before the new page came."""
    target.wait_for(state="attached")
    target.page.wait_for_function(HTMX_SETTLED)
    return target
