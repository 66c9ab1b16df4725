"""In Chromium: an admin edits targets and people on the admin pages; a new-password link is used
once; on a phone (390 x 844) the navigation folds behind a menu button and stacked list rows
keep their column labels; axe-core finds no WCAG 2 A/AA violation on these pages, desktop and
phone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.browser.test_story import raise_request
from tests.conftest import LiveServer
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, server: LiveServer) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=server.base_url, viewport=PHONE, is_mobile=True)
    yield context
    context.close()


def _sign_in(page: Page, handle: str, password: str = PASSWORD) -> None:
    page.goto("/sign-in")
    page.get_by_label("Your sign-in name").fill(handle)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def test_on_a_phone_the_navigation_folds_behind_a_menu_button_and_rows_keep_labels(
    person: People, phone: BrowserContext, browser: Browser, server: LiveServer
) -> None:
    raise_request(person("asha"), "policy document", "Correct a policy document", "Wrong address")
    page = phone.new_page()
    _sign_in(page, "ada")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    header = page.locator("header.top").bounding_box()
    assert header is not None
    # Brand and button on one row, the search box on the next: well under a fifth of the screen.
    assert header["height"] < 0.2 * PHONE["height"], header
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Admin", exact=True)).to_be_visible()
    page.get_by_role("link", name="Admin", exact=True).click()
    page.wait_for_url(re.compile(r"/admin$"))
    # Folded again on the next page, and Escape folds it after opening.
    expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")
    # Stacked rows: each cell shows its column's label (written by the page here).
    cell = page.locator("#people tbody tr").first.locator("td").nth(1)
    label = cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Sign-in name"'
    # A list whose page wrote no labels gets them from its header (app.js): Asha's requests.
    asha_phone = browser.new_context(base_url=server.base_url, viewport=PHONE, is_mobile=True)
    mine = asha_phone.new_page()
    _sign_in(mine, "asha")
    mine.goto("/requests")
    first = mine.locator("table.list tbody tr").first.locator("td").first
    header_text = mine.locator("table.list thead th").first.text_content() or ""
    expect(first).to_have_attribute("data-label", header_text.strip())
    shown = first.evaluate("td => getComputedStyle(td, '::before').content")
    assert shown == f'"{header_text.strip()}"'
    asha_phone.close()


def test_the_admin_pages_pass_axe_on_desktop_and_phone(
    person: People, phone: BrowserContext, small_world: World
) -> None:
    desktop = person("ada")
    small = phone.new_page()
    _sign_in(small, "ada")
    team = small_world.teams["admin"]
    problems = {}
    for name, page in (("desktop", desktop), ("phone", small)):
        for path in ("/admin", f"/admin/teams/{team}", "/password-reset?token=nothing"):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            found = wcag_violations(page)
            if found:
                problems[f"{name} {path}"] = found
        page.goto("/admin")
        page.get_by_text("Deactivate", exact=False).first.click()
        found = wcag_violations(page)
        if found:
            problems[f"{name} /admin (deactivation open)"] = found
    assert problems == {}


def test_an_admin_edits_targets_deactivates_and_makes_a_new_password_link(
    person: People, browser: Browser, server: LiveServer, small_world: World
) -> None:
    page = person("ada")
    team = small_world.teams["admin"]
    page.goto(f"/admin/teams/{team}")
    service = page.locator(f"#service-{small_world.services['correct_policy']}")
    # More than a year of hours: the browser lets it through, the server refuses it.
    service.get_by_label("Resolve within (hours)").fill("9000")
    service.get_by_role("button", name=re.compile("Save targets")).click()
    # Refused beside the field, the form kept.
    expect(
        page.locator(
            f"#service-{small_world.services['correct_policy']}-resolve_target_hours-error"
        )
    ).to_be_visible()
    service = page.locator(f"#service-{small_world.services['correct_policy']}")
    service.get_by_label("Resolve within (hours)").fill("12")
    service.get_by_role("button", name=re.compile("Save targets")).click()
    expect(page.locator(".flash")).to_contain_text("Targets saved")
    expect(
        page.locator(f"#service-{small_world.services['correct_policy']}").get_by_label(
            "Resolve within (hours)"
        )
    ).to_have_value("12.0")
    # Working days as a person writes them.
    expect(page.locator(".lede")).to_contain_text("Mon\u2013Fri 09:00\u201317:00")
    page.get_by_label("Sat").check()
    page.get_by_role("button", name="Save working hours").click()
    expect(page.locator(".lede")).to_contain_text("Mon\u2013Sat 09:00\u201317:00")

    page.goto("/admin")
    row = page.locator(f"#person-{small_world.people['cleo']}")
    row.get_by_text("Deactivate").first.click()
    row.get_by_role("button", name="Deactivate Cleo Clerk").click()
    expect(page.locator(".flash")).to_contain_text("Cleo Clerk can no longer sign in")
    expect(page.locator(f"#person-{small_world.people['cleo']}")).to_contain_text("deactivated")
    expect(page.locator("#changes")).to_contain_text("Cleo Clerk deactivated")

    row = page.locator(f"#person-{small_world.people['asha']}")
    row.get_by_role("button", name=re.compile("New password link")).click()
    link = page.get_by_role("textbox", name="Link").input_value()
    assert "/password-reset?token=" in link
    stranger = browser.new_context(base_url=server.base_url)
    other = stranger.new_page()
    other.goto(link)
    other.get_by_label("New password").fill("brand new secret")
    other.get_by_label("The same password again").fill("brand new secret")
    other.get_by_role("button", name="Set my password").click()
    expect(other.get_by_role("status")).to_contain_text("Your new password is set")
    _sign_in(other, "asha", "brand new secret")
    other.goto(link)
    expect(other.get_by_role("alert")).to_contain_text("expired or was already used")
    stranger.close()


def test_on_a_phone_the_lead_boards_load_shows_every_count_without_scrolling_sideways(
    person: People, browser: Browser, server: LiveServer
) -> None:
    # The duty owner holds the new request: the most owned, so the longest bar.
    raise_request(person("asha"), "policy document", "Correct a policy document", "Wrong address")
    narrow = browser.new_context(
        base_url=server.base_url, viewport={"width": 375, "height": 812}, is_mobile=True
    )
    page = narrow.new_page()
    _sign_in(page, "lee")
    page.goto("/board")
    wrap = page.locator("#sec-load .table-wrap")
    expect(wrap.locator("td[data-label='Owns']").first).to_contain_text("1")
    # Every count ends inside the table's box: nothing hides behind a sideways scroll.
    overflow = wrap.evaluate(
        """wrap => {
            const box = wrap.getBoundingClientRect();
            return [...wrap.querySelectorAll('td')].filter(td => {
                const range = document.createRange();
                range.selectNodeContents(td);
                return range.getBoundingClientRect().right > box.right + 0.5;
            }).map(td => td.innerText);
        }"""
    )
    assert overflow == []
    assert wcag_violations(page) == []
    narrow.close()
