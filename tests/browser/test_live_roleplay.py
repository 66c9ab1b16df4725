"""A live role-play session on three browsers: the facilitator on a laptop, the participant and
the observer on phones. Free-text turns, the observer's live scoring and notes reaching the other
screens without a reload, and the debrief."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import People, screenshot
from tests.browser.test_accessibility import wcag_violations

pytestmark = pytest.mark.browser

REPLY = "That sounds really stressful, I'm sorry. What does Mr Patel need from us today?"


def test_a_facilitator_a_participant_and_an_observer_play_a_live_session(
    person: People,
) -> None:
    lee = person("lee")
    lee.goto("/practice/role-plays/live")
    expect(lee.get_by_role("heading", name="Live role plays")).to_be_visible()
    assert wcag_violations(lee) == []
    lee.get_by_label("Conversation to practise").select_option(
        label="The call-back that never came"
    )
    lee.get_by_role("button", name="Open a session").click()
    code = lee.locator("[data-code]").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{6}", code)

    asha = person("asha", width=390)
    asha.goto("/practice/role-plays/live")
    asha.get_by_label("Code from your facilitator").fill(code.lower())
    asha.get_by_label("Group number").fill("1")
    asha.get_by_label("Participant: you have the conversation").check()
    asha.get_by_role("button", name="Join").click()
    expect(asha.get_by_text("You are participant in group 1.")).to_be_visible()

    cleo = person("cleo", width=390)
    cleo.goto("/practice/role-plays/live")
    cleo.get_by_label("Code from your facilitator").fill(code)
    cleo.get_by_label("Group number").fill("1")
    cleo.get_by_label("Observer: you score what you hear").check()
    cleo.get_by_role("button", name="Join").click()
    expect(cleo.get_by_text("Score each answer once the participant")).to_be_visible()
    assert wcag_violations(cleo) == []

    # The facilitator's board shows both people without reloading.
    expect(lee.locator("#board")).to_contain_text("Cleo Clerk (observer)")

    asha.get_by_role("button", name="The broker rang me about Mr Patel this morning.").click()
    reply = asha.get_by_label("What do you say to Dana?")
    reply.fill(REPLY)
    asha.get_by_role("button", name="Say it").click()
    expect(asha.locator("#board")).to_contain_text(REPLY)
    assert wcag_violations(asha) == []

    # The observer's phone follows by itself and offers the newest turn to score.
    expect(cleo.locator("#board")).to_contain_text(REPLY)
    expect(cleo.get_by_label("Turn", exact=True)).to_have_value("2")
    cleo.get_by_label("Asks about the true need (Understand, +1)").check()
    cleo.get_by_label("Note (kept with the time you save it)").fill("Named the customer early")
    cleo.get_by_role("button", name="Save score").click()
    expect(cleo.get_by_text("Score saved.")).to_be_visible()
    assert wcag_violations(cleo) == []
    assert cleo.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The facilitator sees the note and the observer's points beside the automatic ones.
    board = lee.locator("#board")
    expect(board).to_contain_text("Named the customer early")
    understand = board.locator(
        "table.rp-side tr", has=lee.get_by_role("rowheader", name="Understand")
    )
    expect(understand.locator("td").nth(1)).to_have_text("+1")
    expect(understand.locator("td").nth(2)).to_have_text("+1")
    screenshot(lee, "roleplay-live-facilitator")

    # The participant scores themselves; it reaches the facilitator too.
    asha.get_by_label("Acknowledges how they feel (Communicate, +1)").check()
    asha.get_by_role("button", name="Save my score").click()
    communicate = board.locator(
        "table.rp-side tr", has=lee.get_by_role("rowheader", name="Communicate")
    )
    expect(communicate.locator("td").nth(0)).to_have_text("+1")

    lee.get_by_role("button", name="End the session and open the debrief").click()
    expect(lee.get_by_role("heading", name=re.compile("^Debrief"))).to_be_visible()
    expect(lee.get_by_text("agreed on")).to_be_visible()
    expect(lee.get_by_role("heading", name="Group 1")).to_be_visible()
    assert wcag_violations(lee) == []
    # The participant's open page learns the session ended.
    expect(asha.locator("[data-live-status]")).to_contain_text("ended")
    asha.goto(lee.url.replace(lee.url.split("/practice")[0], ""))
    expect(asha.get_by_text("Named the customer early")).to_be_visible()
    screenshot(asha, "roleplay-live-debrief-phone")
