"""The trust scores the buddy pairing weighs are relationship health's, without the intervals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from followthrough.db import Database
from followthrough.insight import health
from tests.conftest import T0
from tests.factories import World
from tests.insight.conftest import Story

NOW = T0 + timedelta(days=6)  # Sunday 8 March, 09:00


def test_each_pairs_score_is_the_one_relationship_health_shows(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work(readonly=True) as session:
        shown = {
            (p.experienced_by, p.experience_of): p.trust.score
            for p in health.relationship_health(session, NOW)
        }
        scores = health.trust_scores(session, NOW)
    assert (
        set(scores)
        == set(shown)
        == {
            (world.teams["claims"], world.teams["admin"]),
            (world.teams["admin"], world.teams["claims"]),
        }
    )
    for pair, score in scores.items():
        assert score == pytest.approx(shown[pair])
    # Claims' experience of Policy Admin: 4 positives 5.875 days old, 1 negative 3.875 days
    # old (tests/insight/test_health.py), each halving every 30 days.
    r, s = 4 * 0.5 ** (5.875 / 30), 0.5 ** (3.875 / 30)
    assert scores[(world.teams["claims"], world.teams["admin"])] == pytest.approx(
        (r + 1) / (r + s + 2)
    )
