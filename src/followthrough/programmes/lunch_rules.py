"""Lunch-and-learn topics suggested from the silo map, as a pure function.

A bounce on the department pair (A, B) is a request A handed to B that B sent back: B needed
something A did not give. So the suggested session is from B, for A, on what B needs. Where
nothing bounces but B is slow to accept what A hands over, a session from B on how its queue
works helps A know what to expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from followthrough.insight.silo import PairFigures

# Accepting slower than this on average (hours) is worth a session even without bounces.
SLOW_ACCEPT_HOURS = 24.0


@dataclass(frozen=True)
class TopicSuggestion:
    presenter: str  # the department that would explain its work
    audience: str  # the department that hands it work
    reason: str
    topic: str


def _key(pair: PairFigures) -> tuple[int, float, str, str]:
    return (-pair.bounces, -(pair.bounce_rate or 0.0), pair.target_name, pair.source_name)


def suggest_topics(pairs: Sequence[PairFigures], limit: int = 3) -> list[TopicSuggestion]:
    """Up to `limit` sessions, the department pairs with the most bounces first (then the
    slowest to accept), one per pair of departments whichever way the work went."""
    across = [p for p in pairs if p.source != p.target]
    chosen: list[TopicSuggestion] = []
    seen: set[frozenset[int]] = set()

    def take(pair: PairFigures, reason: str, topic: str) -> None:
        both = frozenset((pair.source, pair.target))
        if both in seen or len(chosen) >= limit:
            return
        seen.add(both)
        chosen.append(TopicSuggestion(pair.target_name, pair.source_name, reason, topic))

    for pair in sorted((p for p in across if p.bounces > 0), key=_key):
        came_back = "request" if pair.bounces == 1 else "requests"
        take(
            pair,
            f"{pair.source_name} and {pair.target_name} bounce most: {pair.bounces} "
            f"{came_back} {pair.source_name} handed to {pair.target_name} came back.",
            f"A session from {pair.target_name} on what they need in a request from "
            f"{pair.source_name}.",
        )
    slow = [
        p
        for p in across
        if p.mean_accept_hours is not None and p.mean_accept_hours >= SLOW_ACCEPT_HOURS
    ]
    for pair in sorted(slow, key=lambda p: (-(p.mean_accept_hours or 0.0), p.target_name)):
        take(
            pair,
            f"{pair.target_name} takes {pair.mean_accept_hours:.0f} hours on average to accept "
            f"what {pair.source_name} hands over.",
            f"A session from {pair.target_name} on how their queue works and what gets a "
            "request picked up sooner.",
        )
    return chosen


# What a proposal may say: sessions over lunch, a room for at most a few hundred.
MINUTES = (15, 120)
CAPACITY = (1, 500)
RATINGS = (1, 5)
TITLE_LIMIT = 200
# A room's name or a meeting link; a notes or recording link (browsers keep to about 2,000).
PLACE_LIMIT = 500
LINK_LIMIT = 2_000
FEEDBACK_LIMIT = 2000


def check_proposal(
    title: str, minutes: int, place: str, capacity: int, starts_at: datetime, now: datetime
) -> dict[str, str]:
    """What is wrong with a proposed session, by field (empty: nothing)."""
    wrong: dict[str, str] = {}
    if not title.strip():
        wrong["title"] = "give the session a title"
    elif len(title) > TITLE_LIMIT:
        wrong["title"] = f"keep the title under {TITLE_LIMIT} characters"
    if not MINUTES[0] <= minutes <= MINUTES[1]:
        wrong["minutes"] = f"a session lasts {MINUTES[0]} to {MINUTES[1]} minutes"
    if not place.strip():
        wrong["place"] = "say where it is: a room or a meeting link"
    elif len(place) > PLACE_LIMIT:
        wrong["place"] = f"keep the place under {PLACE_LIMIT} characters"
    if not CAPACITY[0] <= capacity <= CAPACITY[1]:
        wrong["capacity"] = f"room for {CAPACITY[0]} to {CAPACITY[1]} people"
    if starts_at <= now:
        wrong["starts_at"] = "choose a time in the future"
    return wrong


def may_sign_up(taken: int, capacity: int, starts_at: datetime, now: datetime) -> str | None:
    """Why a person may not take a place (None: they may)."""
    if starts_at <= now:
        return "this session has already started"
    if taken >= capacity:
        return "this session is full"
    return None


def is_link(text: str) -> bool:
    """A notes or recording link: a web address, on one line with no spaces (it is shown as a
    link and put in mail)."""
    return (
        text.startswith(("https://", "http://"))
        and 8 < len(text) <= LINK_LIMIT
        and all(c.isprintable() and not c.isspace() for c in text)
    )
