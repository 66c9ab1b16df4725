"""Words in Chromium: a refused value named as the page labels it, a suggested catalog service
chosen from what was typed, and the timescale's source named the same on the raise page and on
the request it becomes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from followthrough.db import Database
from followthrough.timescale.rules import SOURCE_NAMES
from tests.browser.conftest import People, htmx_ready
from tests.browser.test_accessibility import wcag_violations
from tests.factories import World
from tests.insight.routing_history import Past, write_history

pytestmark = pytest.mark.browser

SOURCE = re.compile("|".join(re.escape(f"({name})") for name in SOURCE_NAMES.values()))


def test_a_past_wanted_by_date_is_refused_beside_the_field_in_its_own_words(
    person: People, small_world: World
) -> None:
    asha = person("asha")
    asha.get_by_role("link", name="Raise a request").click()
    asha.get_by_label(re.compile("Correct a policy document")).check()
    asha.get_by_label("In one line, what do you need?").fill("Wrong address on HM-1234")
    asha.get_by_label("The need, in your words").fill("The claim cannot be paid until it is fixed")
    asha.get_by_label("Wanted by").fill("2020-01-06")
    asha.get_by_role("button", name="Raise the request").click()
    error = asha.locator("#raise-desired_by-error")
    expect(error).to_have_text("\u201cWanted by\u201d must be in the future.")
    expect(asha.get_by_label("Wanted by")).to_have_attribute("aria-invalid", "true")
    assert wcag_violations(asha) == []


def test_typing_the_need_suggests_a_service_whose_source_the_request_keeps(
    person: People, small_world: World, sqlite_db: Database
) -> None:
    p, t, s = small_world.people, small_world.teams, small_world.services
    history = [
        Past(
            p["asha"],
            t["admin"],
            p["cleo"],
            f"wrong address on policy {n}",
            "please fix",
            service_id=s["correct_policy"],
        )
        if n % 2
        else Past(
            p["cleo"],
            t["claims"],
            p["asha"],
            f"claim photos for repair {n}",
            "please look",
            service_id=s["claim_review"],
        )
        for n in range(120)
    ]
    with sqlite_db.unit_of_work() as session:
        write_history(session, history)
    asha = person("asha")
    asha.get_by_role("link", name="Raise a request").click()
    # Typed before htmx listens on the new page, the need would bring no suggestion.
    htmx_ready(asha.get_by_label("In one line, what do you need?")).fill(
        "Wrong address on the policy"
    )
    suggested = asha.locator(".suggested-services")
    # The first suggestion of a process imports scikit-learn (1.9 s of CPU) and learns the
    # history (0.1 s): 10 s on a loaded two-core machine, past expect's 5 s.
    expect(suggested).to_contain_text("Correct a policy document", timeout=30_000)
    htmx_ready(suggested.get_by_label(re.compile("Correct a policy document"))).check()
    preview = asha.locator("#service-preview")
    expect(preview).to_contain_text("Correct a policy document")
    expect(preview).to_contain_text(SOURCE)
    shown = SOURCE.search(preview.inner_text())
    assert shown is not None
    assert wcag_violations(asha) == []
    # Writing the need draws the suggestions again; the service chosen among them stays chosen
    # (raised before they come back or after, the request is the same).
    before = asha.locator("#routing-suggestions").element_handle()
    asha.get_by_label("The need, in your words").fill("The customer moved house")
    asha.wait_for_function("old => !old.isConnected", arg=before)
    expect(
        htmx_ready(suggested.get_by_label(re.compile("Correct a policy document")))
    ).to_be_checked()
    asha.get_by_role("button", name="Raise the request").click()
    expect(asha).to_have_url(re.compile(r"/requests/\d+$"))
    expect(asha.locator("dl.facts")).to_contain_text(shown.group(0))
