"""Relationship health over the hand-made story: which interactions count for which pair."""

from __future__ import annotations

from datetime import timedelta

import pytest
from scipy.stats import beta

from followthrough.db import Database
from followthrough.insight import health
from tests.conftest import T0
from tests.factories import World
from tests.insight.conftest import Story

NOW = T0 + timedelta(days=6)  # Sunday 8 March, 09:00


def weight(days_old: float) -> float:
    return float(0.5 ** (days_old / 30))


def test_claims_experience_of_policy_admin_counts_quick_accepts_promises_and_praise(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work(readonly=True) as session:
        pair = health.pair_health(session, NOW, world.teams["claims"], world.teams["admin"])
    assert pair is not None
    # R1 and R3 accepted within the hour, R1's promise kept, the praise: 4 on Monday 2 March;
    # R2's promise broken on Wednesday 4 March. Each day counts from its noon.
    r = 4 * weight(5.875)
    s = weight(3.875)
    assert (pair.positives, pair.negatives) == (4, 1)
    assert pair.trust.positive == pytest.approx(r)
    assert pair.trust.negative == pytest.approx(s)
    assert pair.trust.score == pytest.approx((r + 1) / (r + s + 2))
    assert pair.trust.low == pytest.approx(beta.ppf(0.05, r + 1, s + 1))
    assert pair.trust.high == pytest.approx(beta.ppf(0.95, r + 1, s + 1))


def test_a_pair_is_directed_and_the_bounce_counts_against_the_team_that_sent_it_back(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work(readonly=True) as session:
        pair = health.pair_health(session, NOW, world.teams["admin"], world.teams["claims"])
    assert pair is not None
    # asha accepted cleo's handoff quickly (+), then sent it back (-).
    assert (pair.positives, pair.negatives) == (1, 1)


def test_a_decline_inside_one_team_is_not_a_relationship(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work(readonly=True) as session:
        pairs = health.relationship_health(session, NOW)
    assert {(p.experienced_by_name, p.experience_of_name) for p in pairs} == {
        ("Claims", "Policy Admin"),
        ("Policy Admin", "Claims"),
    }


def test_the_trend_starts_even_before_the_first_interaction(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work(readonly=True) as session:
        pair = health.pair_health(session, NOW, world.teams["claims"], world.teams["admin"])
    assert pair is not None
    assert len(pair.series) == health.TREND_POINTS
    assert pair.series[0][1].score == 0.5
    assert pair.series[-1][1] == pair.trust
    assert not pair.deteriorating
