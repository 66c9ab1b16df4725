"""Every main page passes axe-core's WCAG 2 A and AA rules (labels, names, contrast, structure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import People
from tests.browser.test_story import raise_request
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def wcag_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page, one line each."""
    # Evaluated through the DevTools protocol: the pages' CSP (script-src 'self') rightly blocks
    # the inline <script> that add_script_tag would insert.
    page.evaluate(AXE.read_text())
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            });
            return result.violations.map(v =>
                `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`);
        }"""
    )
    return list(found)


def test_the_main_pages_meet_wcag_aa(person: People) -> None:
    asha = person("asha")
    rid = raise_request(asha, "policy document", "Correct a policy document", "Wrong address")
    pages = {
        "asha": [
            "/",
            "/requests/new",
            "/requests",
            f"/requests/{rid}",
            "/account/tokens",
            "/insight",
        ],
        "cleo": ["/team", f"/requests/{rid}"],
        "lee": ["/board"],
        "ada": ["/admin", "/practice"],
    }
    problems = {}
    for handle, paths in pages.items():
        page = person(handle)
        for path in paths:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            violations = wcag_violations(page)
            if violations:
                problems[f"{handle} {path}"] = violations
    assert problems == {}


def test_the_check_catches_an_unlabelled_field_and_poor_contrast(person: People) -> None:
    page = person("asha")
    page.evaluate(
        """() => {
            const main = document.querySelector('main');
            main.insertAdjacentHTML('beforeend',
                '<input type="text" name="x">' +
                '<p style="color:#bbb;background:#fff">faint text</p>');
        }"""
    )
    rules = {line.split(":", 1)[0] for line in wcag_violations(page)}
    assert {"label", "color-contrast"} <= rules


@pytest.mark.parametrize("width", [1280, 390])
def test_the_api_reference_meets_wcag_aa_on_desktop_and_phone(
    browser: Browser, server: LiveServer, width: int
) -> None:
    """Swagger UI's own styles fail contrast and name rules; our override (static, no CDN)
    makes /docs pass: closed, with an operation and a model opened, trying an operation out
    and in the sign-in dialog."""
    context = browser.new_context(
        base_url=server.base_url,
        viewport={"width": width, "height": 900},
        is_mobile=width < 600,
        has_touch=width < 600,
    )
    page = context.new_page()
    page.goto("/docs")
    page.locator(".opblock").first.wait_for(timeout=20_000)
    problems = {}
    found = wcag_violations(page)
    if found:
        problems["closed"] = found
    page.locator(".opblock-summary-path").filter(has_text="/api/v1/requests").first.click()
    page.get_by_text("Responses").first.wait_for()
    page.locator(".models-control, .models h4").first.click()
    page.wait_for_timeout(300)
    found = wcag_violations(page)
    if found:
        problems["opened"] = found
    page.get_by_role("button", name="Try it out").first.click()
    page.get_by_role("button", name="Execute").first.wait_for()
    found = wcag_violations(page)
    if found:
        problems["trying it out"] = found
    page.get_by_role("button", name="Authorize").first.click()
    page.get_by_role("button", name="Close").first.wait_for()
    found = wcag_violations(page)
    if found:
        problems["signing in"] = found
    context.close()
    assert problems == {}
