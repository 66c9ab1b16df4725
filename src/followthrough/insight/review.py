"""The service review of one team pair (A's experience of B) for a "review and discuss" session:
the flow between them, their relationship health and its trend, and B's scorecard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from followthrough.insight import health, rules, scorecard, silo
from followthrough.insight.health import PairHealth
from followthrough.insight.scorecard import Scorecard
from followthrough.org.actors import Actor
from followthrough.org.local_time import Clock
from followthrough.org.service import get_team


@dataclass(frozen=True)
class PairReview:
    a: int
    b: int
    a_name: str
    b_name: str
    start: datetime
    end: datetime
    requests: int
    handoffs: int
    accepted: int
    declined: int
    mean_accept_hours: float | None
    p90_accept_hours: float | None
    bounces: int
    health: PairHealth | None
    scorecard: Scorecard


def pair_review(
    session: Session,
    viewer: Actor,
    a: int,
    b: int,
    start: datetime,
    end: datetime,
    now: datetime,
    clock: Clock = rules.UTC_CLOCK,
    *,
    minimum_group_size: int = 5,
) -> PairReview:
    """Everything the review of A→B needs, over [start, end); B's scorecard follows the privacy
    rule for the viewer."""
    team_a, team_b = get_team(session, a), get_team(session, b)
    edges = {(e.source, e.target): e for e in silo.team_edges(session, start, end)}
    edge = edges.get((a, b))
    all_answers = silo.offer_answers(session, start, end)
    answers = [x for x in all_answers if (x.sender, x.receiver) == (a, b)]
    waits = [x.waited_seconds for x in answers if x.accepted]
    p90 = rules.quantile(waits, 0.9)
    # B sent the request back to A, where it had been: a bounce A suffered from B.
    bounces = sum(1 for x in all_answers if x.bounce and (x.sender, x.receiver) == (b, a))
    return PairReview(
        a,
        b,
        team_a.name,
        team_b.name,
        start,
        end,
        0 if edge is None else edge.requests,
        0 if edge is None else edge.handoffs,
        len(waits),
        sum(1 for x in answers if not x.accepted),
        None if not waits else float(np.mean(waits)) / 3600,
        None if p90 is None else p90 / 3600,
        bounces,
        health.pair_health(session, min(now, end), a, b),
        scorecard.scorecard(
            session,
            viewer,
            "team",
            b,
            start,
            end,
            unit="week",
            minimum_group_size=minimum_group_size,
            clock=clock,
        ),
    )
