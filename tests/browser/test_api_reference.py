"""The API reference (/docs) works without internet: Swagger UI comes from the app's own /static
(npm through the Makefile's vendor step), and the page's policy blocks nothing it needs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Route

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_the_api_reference_lists_the_operations_with_every_other_host_blocked(
    browser: Browser, server: LiveServer
) -> None:
    context = browser.new_context(base_url=server.base_url)
    elsewhere: list[str] = []

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(server.base_url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    console_errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    page.on("console", on_console)
    page.goto("/docs")
    page.locator(".opblock").first.wait_for(timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    # Operations of several areas are listed, with their paths as the API declares them.
    assert any(p.replace("\u200b", "") == "/api/v1/requests" for p in paths), paths[:5]
    assert any("/api/v1/teams/{team_id}" in p.replace("\u200b", "") for p in paths)
    assert len(paths) > 50
    # One operation opens and shows its description of answers.
    page.locator(".opblock-summary-path").filter(has_text="/api/v1/health").first.click()
    page.get_by_text("Responses").first.wait_for()
    assert elsewhere == []
    assert [e for e in console_errors if "Content Security Policy" in e] == []
    context.close()
