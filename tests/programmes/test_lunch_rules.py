"""Lunch-and-learn topics from the silo map: the pairs that bounce most first, the department
that sends work back presenting to the one that hands it over, slow accepts next, one session
per pair of departments."""

from __future__ import annotations

from followthrough.insight.silo import PairFigures
from followthrough.programmes.lunch_rules import SLOW_ACCEPT_HOURS, suggest_topics

NAMES = {1: "Claims", 2: "Finance", 3: "Operations", 4: "People"}


def pair(
    source: int, target: int, bounces: int = 0, handoffs: int = 10, accept: float | None = 2.0
) -> PairFigures:
    return PairFigures(
        source,
        target,
        NAMES[source],
        NAMES[target],
        volume=handoffs,
        accepted=handoffs,
        mean_accept_hours=accept,
        declined=0,
        decline_rate=0.0,
        handoffs=handoffs,
        bounces=bounces,
        bounce_rate=bounces / handoffs if handoffs else None,
        bounce_extra_hours=None,
        p90_accept_hours=None,
        p90_work_hours=None,
    )


def test_the_pair_that_bounces_most_gets_a_session_from_the_department_that_sends_back() -> None:
    topics = suggest_topics([pair(3, 4, bounces=2), pair(1, 2, bounces=7), pair(1, 1, bounces=9)])
    first = topics[0]
    assert (first.presenter, first.audience) == ("Finance", "Claims")
    assert first.reason == (
        "Claims and Finance bounce most: 7 requests Claims handed to Finance came back."
    )
    assert first.topic == "A session from Finance on what they need in a request from Claims."
    # Within a department is no silo: the 9 bounces inside Claims suggest nothing.
    assert [(t.presenter, t.audience) for t in topics] == [
        ("Finance", "Claims"),
        ("People", "Operations"),
    ]


def test_one_session_per_pair_of_departments_and_slow_accepts_after_bounces() -> None:
    topics = suggest_topics(
        [
            pair(1, 2, bounces=1),
            pair(2, 1, bounces=1, handoffs=2),  # same pair, the other way: a higher rate
            pair(3, 4, accept=SLOW_ACCEPT_HOURS + 6),
            pair(4, 3, accept=SLOW_ACCEPT_HOURS - 1),  # not slow enough
        ]
    )
    assert [(t.presenter, t.audience) for t in topics] == [
        ("Claims", "Finance"),
        ("People", "Operations"),
    ]
    assert topics[0].reason.endswith("1 request Finance handed to Claims came back.")
    assert (
        topics[1].reason == "People takes 30 hours on average to accept what Operations hands over."
    )


def test_at_most_the_limit_and_nothing_when_nothing_is_wrong() -> None:
    many = [pair(1, 2, bounces=3), pair(1, 3, bounces=2), pair(2, 4, bounces=1)]
    assert len(suggest_topics(many, limit=2)) == 2
    assert suggest_topics([pair(1, 2), pair(3, 4)]) == []
    assert suggest_topics([]) == []
