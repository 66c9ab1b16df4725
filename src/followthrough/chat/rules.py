"""Chat rules: which addresses a channel may have. Pure: no database, no network."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit


class Platform(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"


PLATFORM_NAMES = {Platform.SLACK: "Slack", Platform.TEAMS: "Microsoft Teams"}


def _host_fits(platform: Platform, host: str, path: str) -> bool:
    if platform is Platform.SLACK:
        return host == "hooks.slack.com" and path.startswith("/services/")
    # Teams Workflows ("Post to a channel when a webhook request is received") gives an address
    # on Power Automate's hosts: prod-NN.<region>.logic.azure.com/workflows/... or, newer,
    # <id>.environment.api.powerplatform.com/.../workflows/...
    return (host.endswith((".logic.azure.com", ".api.powerplatform.com"))) and "/workflows/" in path


def url_problem(platform: Platform, url: str, *, any_host: bool = False) -> str | None:
    """Why `url` is not an incoming webhook of `platform`, in words for the person setting it;
    None when it is. `any_host` accepts any http(s) address (a test receiver, or a chat
    server inside the organisation)."""
    parts = urlsplit(url.strip())
    name = PLATFORM_NAMES[platform]
    if len(url) > 2000:
        return "The address is longer than 2,000 characters."
    if any_host:
        if parts.scheme in ("http", "https") and parts.hostname:
            return None
        return "The address must start with https://."
    if parts.scheme != "https" or not parts.hostname:
        return "The address must start with https://."
    if not _host_fits(platform, parts.hostname.lower(), parts.path):
        if platform is Platform.SLACK:
            return (
                "This is not a Slack incoming webhook address: it starts with "
                "https://hooks.slack.com/services/."
            )
        return (
            f"This is not a {name} Workflows webhook address: copy it from the workflow "
            "'Post to a channel when a webhook request is received' (it contains /workflows/)."
        )
    return None
