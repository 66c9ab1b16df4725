"""Filing a request under another service in Chromium: the routing's suggestion offered first,
the change confirmed, the timeline saying what happened, and axe-core clean on the form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from followthrough.db import Database
from followthrough.requests import service
from followthrough.requests.service import NewRequest
from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.conftest import T0
from tests.factories import World
from tests.insight.routing_history import Past, write_history

pytestmark = pytest.mark.browser


def test_policy_admin_files_a_claim_under_the_suggested_claims_service(
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
        rid = service.open_request(
            session,
            small_world.actor(session, "asha"),
            NewRequest(
                title="Claim photos for the repair",
                need="please look",
                service_id=s["correct_policy"],
            ),
            T0,
        ).id

    dan = person("dan")  # Policy Admin's duty owner, accountable for the intake
    dan.goto(f"/requests/{rid}")
    dan.get_by_text("File under another service").click()
    choice = dan.get_by_label("The service it belongs under")
    first_group = choice.locator("optgroup").first
    expect(first_group).to_have_attribute("label", "Suggested for this request")
    expect(first_group.locator("option").first).to_have_text(re.compile("^Review a claim"))
    assert wcag_violations(dan) == []

    choice.select_option(str(s["claim_review"]))
    dan.get_by_label("Why does it belong there?").fill("It is about a claim, not the policy")
    dan.get_by_role("button", name="File it there").click()
    expect(dan.get_by_text("Filed under the new service.")).to_be_visible()
    timeline = dan.locator(".timeline")
    expect(timeline).to_contain_text(
        "Dan Duty filed it under Review a claim (it was Correct a policy document); "
        "Claims gives that service"
    )
    expect(timeline).to_contain_text("offered it to Claims")
    assert wcag_violations(dan) == []
