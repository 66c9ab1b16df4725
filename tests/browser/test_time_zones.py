"""A person in Kolkata and one in New York sign in with Chromium set to their zone and language:
the zone is guessed from the browser, and every time on Home and the request page is on their
clock. Expected texts are worked out with zoneinfo and strftime in each locale's CLDR pattern."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from followthrough.db import Database
from followthrough.org.models import Person
from followthrough.promises.models import Promise
from tests.browser.conftest import People, screenshot
from tests.browser.test_accessibility import wcag_violations
from tests.browser.test_story import raise_request
from tests.conftest import Clock, LiveServer
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.browser

NNBSP = "\u202f"  # CLDR's narrow no-break space before AM/PM


def en_in(local: datetime) -> str:
    """en_IN: weekday, day before month, 12-hour clock — "Mon, 2 Mar, 2:30 PM IST"."""
    hour = local.hour % 12 or 12
    return (
        f"{local:%a}, {local.day} {local:%b}, {hour}:{local:%M}{NNBSP}{local:%p} {local.tzname()}"
    )


def en_us(local: datetime) -> str:
    """en_US: weekday, month before day, 12-hour clock — "Mon, Mar 2, 4:00 AM EST"."""
    hour = local.hour % 12 or 12
    return (
        f"{local:%a}, {local:%b} {local.day}, {hour}:{local:%M}{NNBSP}{local:%p} {local.tzname()}"
    )


ZONES = {
    "Asia/Kolkata": ("en-IN", "en_IN", en_in),
    "America/New_York": ("en-US", "en_US", en_us),
}

Opener = Callable[[str, str, str], Page]


@pytest.fixture
def signed_in(browser: Browser, server: LiveServer) -> Iterator[Opener]:
    """A page signed in through the form, in a browser set to that zone and language."""
    contexts: list[BrowserContext] = []

    def open_as(handle: str, timezone_id: str, locale: str) -> Page:
        context = browser.new_context(
            base_url=server.base_url,
            viewport={"width": 1280, "height": 900},
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
        return page

    yield open_as
    for context in contexts:
        context.close()


def shown_times(page: Page) -> list[tuple[datetime, str]]:
    """Every <time> on the page: its UTC instant and the text a person reads."""
    pairs = page.eval_on_selector_all(
        "time[datetime]", "els => els.map(e => [e.getAttribute('datetime'), e.textContent])"
    )
    return [(datetime.fromisoformat(iso), text) for iso, text in pairs]


def _stored_clock(db: Database, person_id: int) -> tuple[str | None, str | None]:
    with db.unit_of_work(readonly=True) as session:
        person = session.get(Person, person_id)
        assert person is not None
        return person.timezone, person.locale


@pytest.mark.parametrize("zone", list(ZONES))
def test_the_zone_is_guessed_at_sign_in_and_every_time_is_on_the_persons_clock(
    zone: str,
    signed_in: Opener,
    person: People,
    sqlite_db: Database,
    small_world: World,
    clock: Clock,
) -> None:
    browser_locale, stored_locale, written = ZONES[zone]
    rid = raise_request(person("asha"), "policy document", "Correct a policy document", "Wrong")
    dan = person("dan")
    dan.goto(f"/requests/{rid}")
    dan.get_by_text("Hand off", exact=True).click()
    dan.get_by_label("Offer it to").select_option(label="Cleo Clerk (Policy Admin)")
    dan.get_by_role("button", name="Offer", exact=True).click()
    expect(dan.locator(".flash")).to_contain_text("You stay accountable")

    cleo = signed_in("cleo", zone, browser_locale)
    assert _stored_clock(sqlite_db, small_world.people["cleo"]) == (zone, stored_locale)
    expect(cleo.locator("footer")).to_contain_text(zone)

    cleo.goto(f"/requests/{rid}")
    cleo.get_by_role("button", name="Accept — I own it").click()
    expect(cleo.locator(".flash")).to_contain_text("You are now the owner")

    # A promise typed on Cleo's clock: tomorrow 10:00 there.
    place = zone.split("/")[1].replace("_", " ")
    cleo.get_by_text("Make a promise", exact=True).click()
    due_field = cleo.get_by_label(f"By when? ({place} time)")
    expect(due_field).to_be_visible()
    tomorrow = (clock.now.astimezone(ZoneInfo(zone)) + timedelta(days=1)).date()
    cleo.get_by_label("What will you do?").fill("Call you back")
    due_field.fill(f"{tomorrow.isoformat()}T10:00")
    cleo.get_by_role("button", name="Promise", exact=True).click()
    expect(cleo.locator("#promises")).to_contain_text("open")
    with sqlite_db.unit_of_work(readonly=True) as session:
        due = session.scalar(select(Promise.due_at))
    ten_there = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, tzinfo=ZoneInfo(zone))
    assert due == ten_there.astimezone(UTC)

    times = shown_times(cleo)
    assert len(times) >= 5  # next update, resolve target, the promise, the timeline
    for instant, text in times:
        assert text == written(instant.astimezone(ZoneInfo(zone)))
    expect(cleo.locator("#promises")).to_contain_text(written(ten_there))
    screenshot(cleo, f"request-{zone.replace('/', '-').lower()}")

    cleo.goto("/")
    home = shown_times(cleo)
    assert home, "Home shows the promise and the update Cleo owes"
    for instant, text in home:
        assert text == written(instant.astimezone(ZoneInfo(zone)))

    # Someone in another zone sees the same promise on their own clock.
    asha = person("asha")
    asha.goto(f"/requests/{rid}")
    expect(asha.locator("#promises")).to_contain_text(
        f"{ten_there.astimezone(UTC):%a} {ten_there.astimezone(UTC).day} "
        f"{ten_there.astimezone(UTC):%b}, {ten_there.astimezone(UTC):%H:%M} UTC"
    )


def test_the_profile_page_changes_the_clock_and_meets_wcag_aa(
    signed_in: Opener, sqlite_db: Database, small_world: World
) -> None:
    asha = signed_in("asha", "Asia/Kolkata", "en-IN")
    asha.get_by_role("link", name="Asha Assessor").click()
    expect(asha.get_by_role("heading", name="Your profile")).to_be_visible()
    expect(asha.get_by_label("Time zone", exact=True)).to_have_value("Asia/Kolkata")
    assert wcag_violations(asha) == []
    asha.get_by_label("Time zone", exact=True).select_option("Australia/Lord_Howe")
    asha.get_by_label("Language and region for dates").select_option("de_DE")
    asha.get_by_role("button", name="Save").click()
    expect(asha.locator(".flash")).to_contain_text("Lord Howe")
    expect(asha.locator("#clock-now")).to_contain_text(re.compile(r"UTC\+1(0:30|1)"))
    assert _stored_clock(sqlite_db, small_world.people["asha"]) == ("Australia/Lord_Howe", "de_DE")
    screenshot(asha, "profile")
