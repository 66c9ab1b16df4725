"""What a chat post says, and how each platform wants it. Pure: plain data in, JSON out.

Slack: an incoming webhook takes Block Kit `blocks` and a plain `text` (the notification's and
the screen reader's fallback). Teams: a Workflows webhook takes a message whose attachment is an
Adaptive Card. Either way the post says what happened and on which request, and carries the
buttons for the reader's one action (an offer: accept, or decline with a reason), plus a link to the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from followthrough.chat.rules import Platform


@dataclass(frozen=True)
class PostContent:
    headline: str  # what happened, one sentence
    request_title: str
    request_url: str
    facts: tuple[tuple[str, str], ...] = ()  # (label, value): state, owner, next update
    # (label, url): the reader's one action (an offer's is two: accept, or decline with a reason)
    actions: tuple[tuple[str, str], ...] = ()

    @property
    def fallback(self) -> str:
        return f"{self.headline} {self.request_title} {self.request_url}"


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup; anything else is shown as typed.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(post: PostContent) -> dict[str, Any]:
    title = _slack_escape(post.request_title)
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"{_slack_escape(post.headline)}\n*<{post.request_url}|{title}>*",
            },
        }
    ]
    if post.facts:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"{_slack_escape(k)}: {_slack_escape(v)}"}
                    for k, v in post.facts
                ],
            }
        )
    buttons: list[dict[str, Any]] = [
        {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
        | ({"style": "primary"} if n == 0 else {})
        for n, (label, url) in enumerate(post.actions)
    ]
    buttons.append(
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open the request"},
            "url": post.request_url,
        }
    )
    blocks.append({"type": "actions", "elements": buttons})
    return {"text": post.fallback, "blocks": blocks}


def _plain(*runs: tuple[str, bool]) -> dict[str, Any]:
    """Text shown as typed: a TextBlock (and a FactSet's fact) reads Markdown, so a title such
    as "[Renew here](https://…)" would be a link in the channel, looking as if the desk sent
    it; a RichTextBlock's runs read none. Each run is (text, bold)."""
    return {
        "type": "RichTextBlock",
        "inlines": [
            {"type": "TextRun", "text": text} | ({"weight": "Bolder"} if bold else {})
            for text, bold in runs
        ],
    }


def teams_message(post: PostContent) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        _plain((post.headline, False)),
        _plain((post.request_title, True)),
        *(_plain((f"{label}: ", True), (value, False)) for label, value in post.facts),
    ]
    actions: list[dict[str, Any]] = [
        {"type": "Action.OpenUrl", "title": label, "url": url}
        | ({"style": "positive"} if n == 0 else {})
        for n, (label, url) in enumerate(post.actions)
    ]
    actions.append({"type": "Action.OpenUrl", "title": "Open the request", "url": post.request_url})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
        "fallbackText": post.fallback,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def message_for(platform: Platform, post: PostContent) -> dict[str, Any]:
    return slack_message(post) if platform is Platform.SLACK else teams_message(post)
