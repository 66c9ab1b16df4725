"""Action links, webhooks and chat pages in Chromium: used by label, on a phone too, and clean
under axe-core's WCAG 2 A/AA rules."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, expect

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.links.service import action_link
from followthrough.requests import service
from followthrough.requests.models import Request
from followthrough.requests.service import NewRequest
from followthrough.webhooks import service as webhooks
from tests.browser.conftest import People
from tests.browser.test_accessibility import wcag_violations
from tests.conftest import Clock, LiveServer, serving
from tests.factories import World

pytestmark = pytest.mark.browser
SECRET = "browser-test-secret"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(sqlite_db: Database, small_world: World, clock: Clock) -> Iterator[LiveServer]:
    with serving(sqlite_db, clock, secret_key=SECRET) as live:
        yield live


def test_an_offer_accepted_from_its_link_and_the_admin_and_chat_pages_pass_axe(
    person: People,
    browser: Browser,
    server: LiveServer,
    sqlite_db: Database,
    small_world: World,
    clock: Clock,
) -> None:
    world = small_world
    with sqlite_db.unit_of_work() as session:
        request = service.open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(
                title="Wrong address", need="Fix it", service_id=world.services["correct_policy"]
            ),
            clock(),
        )
        offer = service.open_offer_of(session, request.id)
        assert offer is not None
        subscription = webhooks.create_subscription(
            session,
            world.actor(session, "ada"),
            url="https://example.com/in",
            kinds=["opened"],
            team_id=None,
            description="Warehouse",
            now=clock(),
        )
        request_id, offer_id, subscription_id = request.id, offer.id, subscription.id
    settings = Settings(secret_key=SECRET, public_url=server.base_url)
    link = action_link(settings, world.people["dan"], "accept_offer", offer_id, clock())
    assert link is not None
    path = urlsplit(link).path
    declined = action_link(settings, world.people["dan"], "decline_offer", offer_id, clock())
    assert declined is not None

    # Nobody signed in: the link's page shows first, acts on the button.
    stranger = browser.new_context(base_url=server.base_url, viewport=PHONE, is_mobile=True)
    phone = stranger.new_page()
    problems = {}
    for shown in (path, urlsplit(declined).path, "/act/broken.link"):
        phone.goto(shown)
        found = wcag_violations(phone)
        if found:
            problems[f"phone {shown}"] = found
    phone.goto(path)
    expect(phone.get_by_role("heading", name="Accept this request")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.get_by_role("button", name="Accept it").click()
    expect(phone.get_by_text("You accepted the request.")).to_be_visible()
    found = wcag_violations(phone)
    if found:
        problems["phone done"] = found
    phone.goto(path)
    expect(phone.get_by_text("already used")).to_be_visible()
    stranger.close()
    with sqlite_db.unit_of_work(readonly=True) as session:
        accepted = session.get(Request, request_id)
        assert accepted is not None
        assert accepted.owner_id == world.people["dan"]

    admin = person("ada")
    lead = person("lee")
    for name, tab, paths in (
        (
            "admin",
            admin,
            ["/admin/webhooks", f"/admin/webhooks/{subscription_id}", "/account/chat"],
        ),
        ("lead", lead, [f"/teams/{world.teams['admin']}/chat", "/profile"]),
    ):
        for shown in paths:
            tab.goto(shown)
            tab.wait_for_load_state("networkidle")
            found = wcag_violations(tab)
            if found:
                problems[f"{name} {shown}"] = found
    lead.goto("/profile")
    lead.get_by_role("link", name="Post my notifications in chat").click()
    lead.get_by_label("Microsoft Teams").check()
    lead.get_by_label("Webhook address").fill("https://example.com/not-teams")
    lead.get_by_role("button", name="Save").click()
    expect(lead.get_by_text("not a Microsoft Teams Workflows webhook address")).to_be_visible()
    found = wcag_violations(lead)
    if found:
        problems["lead chat error"] = found
    assert problems == {}
