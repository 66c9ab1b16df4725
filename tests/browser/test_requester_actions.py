"""Withdraw, merge and decline in Chromium, each ending on a page the person can carry on from:
the confirmation shown, the navigation there, and no "not found"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.browser.test_story import raise_request
from tests.factories import World

pytestmark = pytest.mark.browser


def test_declining_an_intake_from_the_request_page_lands_on_the_queue_with_where_it_went(
    person: People, small_world: World
) -> None:
    asha = person("asha")
    rid = raise_request(asha, "policy", "Correct a policy document", "Wrong premium on P-8")
    cleo = person("cleo")
    cleo.goto(f"/requests/{rid}")
    cleo.get_by_text("Decline…").click()
    cleo.get_by_label("Why are you declining?").fill("Premiums are Finance's, not ours.")
    cleo.get_by_role("button", name="Decline with this reason").click()
    # It went to the triage team, out of Cleo's sight: her queue, never "not found".
    expect(cleo).to_have_url(re.compile(r"/team$"))
    expect(cleo.locator(".flash")).to_have_text(
        f"You declined #{rid} Wrong premium on P-8; it is with Tess Triage (Triage), "
        "who has your reason."
    )
    expect(cleo.get_by_role("navigation", name="Main")).to_be_visible()
    # The requester sees what happened on the request page.
    asha.goto(f"/requests/{rid}")
    expect(asha.locator("#timeline")).to_contain_text("Premiums are Finance's, not ours.")
    expect(asha.locator("dl.facts")).to_contain_text("Triage")


def test_a_requester_withdraws_and_the_page_says_so(person: People, small_world: World) -> None:
    asha = person("asha")
    rid = raise_request(asha, "policy", "Correct a policy document", "Not needed after all")
    asha.get_by_text("Withdraw this request").click()
    # Without a reason the form comes back with the message beside the field.
    asha.get_by_label("Why is it no longer needed?").fill("  ")
    asha.get_by_role("button", name="Withdraw the request").click()
    field = asha.get_by_label("Why is it no longer needed?")
    expect(field).to_have_attribute("aria-invalid", "true")
    assert wcag_violations(asha) == []
    field.fill("The customer sent the right document in the end.")
    asha.get_by_role("button", name="Withdraw the request").click()
    expect(asha).to_have_url(re.compile(rf"/requests/{rid}$"))
    expect(asha.locator(".flash")).to_contain_text("Withdrawn. The owner has been told why")
    expect(asha.locator(".req-head .state")).to_have_text("withdrawn")
    expect(asha.locator("#timeline")).to_contain_text("withdrew the request")
    expect(asha.get_by_text("Withdraw this request")).to_have_count(0)
    # The breadcrumb goes only where Asha may go: not Policy Admin's queue.
    expect(asha.locator(".crumbs a")).to_have_text(["My requests"])
    assert wcag_violations(asha) == []


def test_someone_working_a_duplicate_merges_it_and_both_pages_link(
    person: People, small_world: World
) -> None:
    asha = person("asha")
    first = raise_request(asha, "policy", "Correct a policy document", "HM-1234 wrong address")
    second = raise_request(asha, "policy", "Correct a policy document", "HM-1234 address again")
    dan = person("dan")
    dan.goto(f"/requests/{second}")
    dan.get_by_text("Merge into another request").click()
    dan.get_by_label("The request this one duplicates").fill("not a number")
    dan.get_by_role("button", name="Merge", exact=True).click()
    expect(dan.locator("#merge-into-error")).to_contain_text("Enter the number of the request")
    dan.get_by_label("The request this one duplicates").fill(f"#{first}")
    dan.get_by_label("Why they are the same").fill("Same policy, same address")
    dan.get_by_role("button", name="Merge", exact=True).click()
    expect(dan).to_have_url(re.compile(rf"/requests/{first}$"))
    expect(dan.locator(".flash")).to_contain_text(f"Merged #{second} into this request")
    merged_here = dan.locator("dl.facts").get_by_role("link", name=re.compile(f"#{second}"))
    expect(merged_here).to_be_visible()
    merged_here.click()
    expect(dan).to_have_url(re.compile(rf"/requests/{second}$"))
    expect(dan.locator(".req-head .state")).to_have_text("merged")
    expect(
        dan.locator("dl.facts").get_by_role("link", name=re.compile(f"#{first}"))
    ).to_be_visible()
    assert wcag_violations(dan) == []


def test_the_case_lookup_and_a_missing_page_keep_the_navigation(
    person: People, small_world: World
) -> None:
    asha = person("asha")
    raise_request(
        asha,
        "policy",
        "Correct a policy document",
        "Case lookup",
        cases="CLM-555",
        customer="Mrs Jones",
    )
    asha.goto("/cases")
    expect(asha.get_by_role("link", name="CLM-555")).to_be_visible()
    asha.get_by_label("Case reference or customer").fill("CLM-999")
    asha.get_by_role("button", name="Find").click()
    expect(asha.locator("#find-reference-error")).to_contain_text("No case has a reference")
    assert wcag_violations(asha) == []
    asha.get_by_label("Case reference or customer").fill("CLM-555")
    asha.get_by_role("button", name="Find").click()
    expect(asha.get_by_role("heading", level=1)).to_contain_text("Case CLM-555")
    response = asha.goto("/requests/999999")
    assert response is not None
    assert response.status == 404
    expect(asha.get_by_role("navigation", name="Main")).to_be_visible()
    expect(asha.get_by_role("link", name="Your requests")).to_be_visible()
    assert wcag_violations(asha) == []
