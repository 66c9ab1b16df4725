"""The admin's mail addresses page and a request's bounce line in Chromium: usable by label on a
desktop and a phone, nothing wider than the phone, and clean under axe-core's WCAG 2 A/AA."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from followthrough.db import Database
from followthrough.mail.inbound_models import BouncingAddress, ServiceMailAddress
from followthrough.requests import service as requests
from followthrough.requests.service import NewRequest
from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.conftest import T0
from tests.factories import World

pytestmark = pytest.mark.browser
PHONE = 390


def test_mail_addresses_set_and_fixed_by_label_and_the_pages_pass_axe(
    person: People, sqlite_db: Database, small_world: World
) -> None:
    with sqlite_db.unit_of_work() as session:
        request_id = requests.open_request(
            session,
            small_world.actor(session, "asha"),
            NewRequest(
                title="Policy HM-1234 has the wrong address",
                need="Correct it",
                service_id=small_world.services["correct_policy"],
            ),
            T0,
        ).id
        session.add(
            BouncingAddress(
                address="asha@example.com",
                first_bounced_at=T0,
                last_bounced_at=T0 + timedelta(hours=1),
                request_id=request_id,
            )
        )

    problems = {}
    for name, width in (("desktop", 1280), ("phone", PHONE)):
        for handle, path in (("ada", "/admin/mail"), ("asha", f"/requests/{request_id}")):
            tab = person(handle, width=width)
            tab.goto(path)
            tab.wait_for_load_state("networkidle")
            found = wcag_violations(tab)
            if found:
                problems[f"{name} {path}"] = found
            if name == "phone":
                assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE, path
    assert problems == {}

    asha = person("asha")
    asha.goto(f"/requests/{request_id}")
    expect(asha.get_by_text("Mail to this address is paused until fixed.")).to_be_visible()

    ada = person("ada", width=PHONE)
    ada.goto("/admin/mail")
    row = ada.locator(f"#service-{small_world.services['correct_policy']}")
    row.get_by_text("Change").click()
    row.get_by_label("Tag").fill("policy")
    row.get_by_role("button", name="Save").click()
    expect(ada.get_by_text("Mail address saved.")).to_be_visible()
    expect(ada.get_by_text("desk+s-policy@")).to_be_visible()
    ada.get_by_role("button", name="Mark fixed asha@example.com").click()
    expect(ada.get_by_text("No address bounces")).to_be_visible()
    with sqlite_db.unit_of_work(readonly=True) as session:
        saved = session.get(ServiceMailAddress, small_world.services["correct_policy"])
        assert saved is not None
        assert saved.slug == "policy"
        mark = session.get(BouncingAddress, "asha@example.com")
        assert mark is not None
        assert mark.fixed_by_id == small_world.people["ada"]
