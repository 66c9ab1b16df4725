"""The seed story, played in Chromium by its people, plus declines, bounces and confidentiality."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from followthrough.db import Database
from followthrough.sweeper.service import sweep
from tests.browser.conftest import People, htmx_ready, screenshot
from tests.conftest import Clock, LiveServer
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.browser


def raise_request(page: Page, search: str, service: str, title: str, **fields: str) -> int:
    page.get_by_role("link", name="Raise a request").click()
    page.get_by_label("Search the service catalog").fill(search)
    # Enter searches even before htmx has wired up the as-you-type search.
    page.get_by_label("Search the service catalog").press("Enter")
    expect(page.locator(f'#service-options[data-q="{search}"]')).to_have_count(1)
    option = page.get_by_label(re.compile(service))
    expect(option).to_be_visible()
    # The found services are swapped in; chosen before htmx takes them up, no preview would come.
    htmx_ready(option).check()
    expect(page.locator("#service-preview")).to_contain_text(service)
    page.get_by_label("In one line, what do you need?").fill(title)
    page.get_by_label("The need, in your words").fill(fields.get("need", "Please fix it"))
    if "cases" in fields:
        page.get_by_label("Customer case references").fill(fields["cases"])
        page.get_by_label("Customer name").fill(fields["customer"])
    if fields.get("shot"):
        screenshot(page, fields["shot"])
    page.get_by_role("button", name="Raise the request").click()
    expect(page).to_have_url(re.compile(r"/requests/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_the_story_in_the_browser(
    person: People, sqlite_db: Database, small_world: World, clock: Clock
) -> None:
    # The assessor raises the policy correction for the customer's claim.
    asha = person("asha")
    rid = raise_request(
        asha,
        "policy document",
        "Correct a policy document",
        "Policy P-100 has the wrong address",
        need="Correct the address on policy P-100 so claim CLM-1 can be paid.",
        cases="CLM-1",
        customer="Mrs Jones",
        shot="raise",
    )
    expect(asha.locator("#req-head")).to_contain_text("Dan Duty")
    expect(asha.locator("#service-preview")).to_have_count(0)

    # Admin's duty owner offers it on to a clerk.
    dan = person("dan")
    dan.goto(f"/requests/{rid}")
    dan.get_by_text("Hand off", exact=True).click()
    dan.get_by_label("Offer it to").select_option(label="Cleo Clerk (Policy Admin)")
    dan.get_by_label("What was already done?").fill("Checked the policy: the address is wrong.")
    dan.get_by_role("button", name="Offer", exact=True).click()
    expect(dan.locator(".flash")).to_contain_text("You stay accountable")

    # The clerk sees it on her home with the time left, and accepts; the assessor's open page follows live.
    cleo = person("cleo")
    cleo.goto("/")
    offers = cleo.get_by_role("region", name=re.compile("Offers waiting for you"))
    expect(offers).to_contain_text("Policy P-100 has the wrong address")
    expect(offers).to_contain_text("left")
    expect(cleo.locator("nav .badge").first).to_have_text(re.compile(r"\d"))
    screenshot(cleo, "home")
    cleo.get_by_role("link", name="Team queue").click()
    expect(cleo.get_by_role("heading", name="Team queue: Policy Admin")).to_be_visible()
    screenshot(cleo, "team-queue")
    cleo.goto(f"/requests/{rid}")
    cleo.get_by_role("button", name="Accept — I own it").click()
    expect(cleo.locator(".flash")).to_contain_text("You are now the owner")
    expect(asha.locator("#req-head")).to_contain_text("Cleo Clerk", timeout=15_000)

    # The clerk promises a call-back within the hour.
    cleo.get_by_text("Make a promise", exact=True).click()
    cleo.get_by_label("What will you do?").fill("Call you back with the corrected document")
    cleo.get_by_label(re.compile(r"By when\?")).fill(
        (clock.now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    )
    cleo.get_by_role("button", name="Promise", exact=True).click()
    expect(cleo.locator("#promises")).to_contain_text("open")

    # Time passes without a call-back: the sweeper breaks the promise, then escalates the update.
    clock.advance(hours=2)
    assert sweep(sqlite_db, clock.now)["promises broken"] == 1
    clock.advance(hours=5)
    passed = sweep(sqlite_db, clock.now)
    # The owner is reminded first; the lead hears of it half a cadence later, never in one pass.
    assert (passed["updates reminded"], passed["updates escalated"]) == (1, 0)
    clock.advance(hours=19)  # Tuesday 11:00, past two working hours after Monday 16:00
    assert sweep(sqlite_db, clock.now)["updates escalated"] == 1
    cleo.reload()
    expect(cleo.locator("#promises")).to_contain_text("broken")
    expect(cleo.locator("#timeline")).to_contain_text("A promise by Cleo Clerk was broken")

    # The lead sees the broken promise and the escalation.
    lee = person("lee")
    lee.get_by_role("link", name="Lead board").click()
    broken = lee.get_by_role("region", name=re.compile("Broken promises this week"))
    expect(broken).to_contain_text("Policy P-100 has the wrong address")
    escalations = lee.get_by_role("region", name=re.compile("Escalations this week"))
    expect(escalations).to_contain_text("update overdue")
    expect(lee.get_by_role("region", name=re.compile("Escalated to you"))).to_have_count(0)
    screenshot(lee, "lead-board")
    lee.goto("/")
    expect(lee.get_by_role("region", name=re.compile("Escalated to you"))).to_contain_text(
        "Policy P-100"
    )

    # The clerk resolves; a blank resolution is refused next to the field.
    cleo.locator("summary").get_by_text("Resolve", exact=True).click()
    cleo.get_by_label("What was done?").fill(" ")
    cleo.get_by_role("button", name="Resolve", exact=True).click()
    expect(cleo.locator("#resolve-resolution-error")).to_be_visible()
    cleo.get_by_label("What was done?").fill("Address corrected and the document re-sent.")
    cleo.get_by_role("button", name="Resolve", exact=True).click()
    expect(cleo.locator("#req-head")).to_contain_text("resolved")

    # The assessor confirms and rates the four blocks.
    asha.goto(f"/requests/{rid}")
    asha.get_by_role("button", name="Confirm it is done").click()
    expect(asha.locator(".flash")).to_contain_text("please rate")
    for block, score in (("Understand", "4"), ("Own", "4"), ("Serve", "5"), ("Communicate", "2")):
        asha.get_by_role("group", name=re.compile(f"^{block}")).get_by_label(
            score, exact=True
        ).check()
    asha.get_by_label("Anything to add?").fill("The promised call never came.")
    asha.get_by_role("button", name="Send rating").click()
    expect(asha.locator("#timeline")).to_contain_text(
        "rated it: Understand 4 · Own 4 · Serve 5 · Communicate 2"
    )
    screenshot(asha, "request")
    asha.get_by_role("link", name="CLM-1").click()
    expect(asha.get_by_role("heading", name=re.compile("Case CLM-1"))).to_be_visible()
    screenshot(asha, "case")
    asha.get_by_role("link", name="My requests").click()
    asha.get_by_role("link", name="All").click()
    expect(asha.locator("table")).to_contain_text("Cleo Clerk")
    screenshot(asha, "my-requests")

    cleo.goto("/")
    expect(cleo.get_by_role("region", name="Feedback you received")).to_contain_text(
        "Communicate 2"
    )

    ada = person("ada")
    ada.get_by_role("link", name="Admin", exact=True).click()
    expect(ada.get_by_role("heading", name="Service catalog")).to_be_visible()
    screenshot(ada, "admin")


def test_decline_needs_a_reason_shown_next_to_the_field(person: People, small_world: World) -> None:
    asha = person("asha")
    raise_request(asha, "policy", "Correct a policy document", "Wrong premium on P-7")
    cleo = person("cleo")
    cleo.get_by_role("link", name="Team queue").click()
    offer = cleo.locator("li.offer", has_text="Wrong premium on P-7")
    offer.get_by_text("Decline…").click()
    offer.get_by_role("button", name="Decline with this reason").click()
    # The browser's own check stops an empty reason; a blank one reaches the server.
    offer.get_by_label("Why are you declining?").fill("   ")
    offer.get_by_role("button", name="Decline with this reason").click()
    error = cleo.locator("li.offer", has_text="Wrong premium on P-7").locator(".error")
    expect(error).to_contain_text("\u201cWhy are you declining?\u201d must not be empty")
    field = cleo.locator("li.offer", has_text="Wrong premium on P-7").get_by_label(
        "Why are you declining?"
    )
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("Premiums are Finance's; please raise it with them.")
    cleo.locator("li.offer", has_text="Wrong premium on P-7").get_by_role(
        "button", name="Decline with this reason"
    ).click()
    # The intake went on to the triage team, and the confirmation says so.
    expect(cleo.locator(".flash")).to_contain_text("You declined")
    expect(cleo.locator(".flash")).to_contain_text("it is with Tess Triage (Triage)")
    asha.reload()
    expect(asha.locator("#timeline")).to_contain_text("Premiums are Finance's")


def test_a_bounce_is_highlighted_on_the_path(person: People, small_world: World) -> None:
    asha = person("asha")
    rid = raise_request(asha, "policy", "Correct a policy document", "Bounce me")
    cleo = person("cleo")
    cleo.goto(f"/requests/{rid}")
    cleo.get_by_role("button", name="Accept — I own it").click()
    expect(cleo.locator(".flash")).to_contain_text("You are now the owner")
    cleo.get_by_text("Hand off", exact=True).click()
    cleo.get_by_label("Offer it to").select_option(label="Claims — anyone in the team")
    cleo.get_by_role("button", name="Offer", exact=True).click()
    expect(cleo.locator(".flash")).to_contain_text("You stay accountable")
    asha.goto(f"/requests/{rid}")
    asha.get_by_role("button", name="Accept — I own it").click()
    expect(asha.locator(".flash")).to_contain_text("You are now the owner")
    asha.get_by_text("Hand off", exact=True).click()
    asha.get_by_label("Offer it to").select_option(label="Policy Admin — anyone in the team")
    asha.get_by_label("What was already done?").fill("Not a claims matter after all.")
    asha.get_by_role("button", name="Offer", exact=True).click()
    expect(asha.locator(".flash")).to_contain_text("You stay accountable")
    cleo.reload()
    cleo.get_by_role("button", name="Accept — I own it").click()
    path = cleo.locator("#path")
    expect(path.locator("li.bounce")).to_contain_text("Policy Admin")
    expect(path).to_contain_text("bounced back")
    expect(cleo.locator("#req-head")).to_contain_text("bounced 1")


def test_a_confidential_request_is_invisible_to_an_outsider(
    person: People, small_world: World
) -> None:
    asha = person("asha")
    rid = raise_request(asha, "grievance", "Raise a grievance", "About my manager")
    expect(asha.locator("#req-head")).to_contain_text("confidential")
    otto = person("otto")
    response = otto.goto(f"/requests/{rid}")
    assert response is not None
    assert response.status == 404
    expect(otto.get_by_role("heading", name="Not found")).to_be_visible()
    otto.goto("/team")
    expect(otto.locator("main")).not_to_contain_text("About my manager")
    hana = person("hana")
    hana.get_by_role("link", name="Team queue").click()
    expect(hana.locator("main")).to_contain_text("About my manager")


def test_the_request_page_fits_a_phone(person: People, small_world: World) -> None:
    asha = person("asha", width=390)
    asha.goto("/requests/new")
    asha.get_by_label("Not sure which team").check()
    asha.get_by_label("In one line, what do you need?").fill("Who handles broker commission?")
    asha.get_by_label("The need, in your words").fill("A broker asks about a missing commission.")
    asha.get_by_role("button", name="Raise the request").click()
    expect(asha.locator("#req-head")).to_contain_text("Tess Triage")
    width = asha.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(asha, "request-phone")


def test_a_long_link_in_the_need_and_an_update_still_fits_a_phone(person: People) -> None:
    link = (
        "https://sharepoint.insurer.example/sites/policy-admin/Shared%20Documents/"
        "Corrections/2026/HP-25050-corrected-schedule-v3.pdf"
    )
    asha = person("asha", width=375)
    asha.goto("/requests/new")
    asha.get_by_label("Not sure which team").check()
    asha.get_by_label("In one line, what do you need?").fill(f"Schedule {link}")
    asha.get_by_label("The need, in your words").fill(f"The schedule at {link} is wrong.")
    asha.get_by_role("button", name="Raise the request").click()
    expect(asha.locator("main")).to_contain_text(link)
    assert asha.evaluate("document.documentElement.scrollWidth") <= 375
    asha.goto("/search?q=schedule")
    expect(asha.locator("main")).to_contain_text(link)
    assert asha.evaluate("document.documentElement.scrollWidth") <= 375
    # Triage is told of it; the notification's row keeps its button on the screen.
    tess = person("tess", width=375)
    tess.goto("/notifications")
    expect(tess.locator("main")).to_contain_text(link)
    assert tess.evaluate("document.documentElement.scrollWidth") <= 375


def test_a_search_as_you_type_after_the_session_ended_signs_in_again_back_to_the_page(
    person: People, server: LiveServer
) -> None:
    asha = person("asha")
    asha.goto("/requests/new")
    search = htmx_ready(asha.get_by_label("Search the service catalog"))
    asha.context.clear_cookies()  # the session ended while the page was open
    search.fill("policy document")
    # The whole page goes to sign in, not a sign-in page drawn inside the catalog's list.
    asha.wait_for_url(re.compile(r"/sign-in\?next=/requests/new$"))
    expect(asha.get_by_role("heading", level=1)).to_have_text("Sign in")
    asha.get_by_label("Your sign-in name").fill("asha")
    asha.get_by_label("Password").fill(PASSWORD)
    asha.get_by_role("button", name="Sign in").click()
    asha.wait_for_url(server.base_url + "/requests/new")
    expect(asha.get_by_role("heading", name="Raise a request")).to_be_visible()
