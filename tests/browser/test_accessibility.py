"""Every main page passes axe-core's WCAG 2 A and AA rules (labels, names, contrast, structure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import People
from tests.browser.test_story import raise_request

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
