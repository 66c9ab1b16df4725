"""A role play played alone in Chromium, on a phone: choices, a reply, its scores and words."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import People, screenshot
from tests.browser.test_accessibility import wcag_violations

pytestmark = pytest.mark.browser


def test_a_role_play_on_a_phone_shows_each_reply_scored_with_its_words(person: People) -> None:
    page = person("asha", width=390)
    page.goto("/practice/role-plays")
    expect(page.get_by_role("heading", name="Role plays", exact=True)).to_be_visible()
    assert wcag_violations(page) == []
    page.get_by_role("button", name="Start “The call-back that never came”").click()
    expect(page.get_by_role("heading", name="The call-back that never came")).to_be_visible()
    page.get_by_role("button", name="The broker rang me about Mr Patel this morning.").click()
    reply = page.get_by_label("What do you say to Dana?")
    expect(reply).to_be_visible()
    assert wcag_violations(page) == []
    reply.fill(
        "That sounds really stressful, I'm sorry. What does Mr Patel need from us today? "
        "It's not my department though."
    )
    page.get_by_role("button", name="Say it").click()
    latest = page.locator("#latest")
    expect(latest).to_contain_text("Acknowledges how they feel")
    expect(latest.locator("q", has_text="That sounds really stressful, I'm sorry.")).to_be_visible()
    expect(latest.locator("q", has_text="It's not my department though.")).to_be_visible()
    expect(latest.locator(".lost .pts")).to_have_text("-1")
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert wcag_violations(page) == []
    screenshot(page, "roleplay-reply-scored")
