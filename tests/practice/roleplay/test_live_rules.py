"""Live role-play rules: codes, roles, and scores from ticked behaviours, computed by hand."""

from __future__ import annotations

import random

from followthrough.practice.roleplay import live_rules
from followthrough.practice.roleplay.live_rules import MarkKind, Role
from followthrough.practice.roleplay.rubric import Behaviour, Block


def test_codes_avoid_look_alike_characters_and_typing_is_forgiven() -> None:
    codes = {live_rules.new_code(random.Random(seed)) for seed in range(200)}
    assert all(len(c) == 6 and not set(c) & set("O0I1") for c in codes)
    assert live_rules.cleaned_code(" ab-c d2 ") == "ABCD2"


def test_a_group_has_one_participant_one_character_and_any_observers() -> None:
    assert live_rules.may_take_role([], Role.PARTICIPANT)
    assert not live_rules.may_take_role([Role.PARTICIPANT], Role.PARTICIPANT)
    assert not live_rules.may_take_role([Role.CHARACTER], Role.CHARACTER)
    assert live_rules.may_take_role([Role.OBSERVER, Role.OBSERVER], Role.OBSERVER)
    assert live_rules.may_mark(Role.OBSERVER, MarkKind.SCORE)
    assert not live_rules.may_mark(Role.OBSERVER, MarkKind.LINE)
    assert live_rules.may_mark(Role.CHARACTER, MarkKind.LINE)
    assert not live_rules.may_mark(Role.PARTICIPANT, MarkKind.NOTE)


def test_ticked_behaviours_score_on_the_rubric_and_a_deflection_costs() -> None:
    points = live_rules.block_points(
        [Behaviour.ASKS_NEED, Behaviour.RESTATES, Behaviour.DEFLECTS, Behaviour.ASKS_NEED]
    )
    assert points[Block.UNDERSTAND] == 2  # asks the need and restates: a point each, once
    assert points[Block.OWN] < 0  # "not my department" loses points
    assert points[Block.SERVE] == 0
    assert live_rules.block_points([]) == dict.fromkeys(Block, 0)


def test_agreement_counts_each_behaviour_decision() -> None:
    same = frozenset({Behaviour.ASKS_NEED})
    other = frozenset({Behaviour.ASKS_NEED, Behaviour.CHECKS_BACK})
    result = live_rules.agreement([(same, same), (same, other)])
    n = len(Behaviour)
    assert (result.turns, result.agreed, result.decisions) == (2, 2 * n - 1, 2 * n)
    assert live_rules.agreement([]).share is None


def test_behaviour_spread_counts_each_scorer_and_how_far_apart_the_people_are() -> None:
    need, feeling = Behaviour.ASKS_NEED, Behaviour.ACKNOWLEDGES_FEELING
    # Person 1: the observer heard the need in 1 of 2 replies; person 2: in 2 of 2;
    # person 3: in 0 of 1. The automatic scoring scored person 1 only, hearing it once.
    rows = [
        (1, "observer", frozenset({need})),
        (1, "observer", frozenset({feeling})),
        (2, "observer", frozenset({need})),
        (2, "observer", frozenset({need, feeling})),
        (3, "observer", frozenset()),
        (1, "automatic", frozenset({need})),
    ]
    lines = {(s.behaviour, s.scorer): s for s in live_rules.behaviour_spread(rows)}
    assert len(lines) == len(Behaviour) * 3
    observed = lines[(need, "observer")]
    assert (observed.replies, observed.heard, observed.people) == (5, 3, 3)
    assert observed.share == 3 / 5
    assert (observed.low, observed.high) == (0.0, 1.0)
    # The people's shares are 0.5, 1 and 0: their mean is 0.5, the deviations 0, 0.5, 0.5.
    assert observed.spread == ((0 + 0.25 + 0.25) / 3) ** 0.5
    alone = lines[(need, "automatic")]
    assert (alone.replies, alone.heard, alone.people, alone.spread) == (1, 1, 1, None)
    nobody = lines[(need, "participant")]
    assert (nobody.replies, nobody.share, nobody.low, nobody.spread) == (0, None, None, None)
    assert lines[(Behaviour.DEFLECTS, "observer")].high == 0.0


def test_block_means_are_points_per_reply() -> None:
    means = live_rules.block_means(
        [
            frozenset({Behaviour.ASKS_NEED, Behaviour.RESTATES}),
            frozenset({Behaviour.DEFLECTS}),
        ]
    )
    assert means[Block.UNDERSTAND] == 1.0  # 2 points, then none: one per reply
    assert means[Block.OWN] == live_rules.POINTS[Behaviour.DEFLECTS] / 2
    assert live_rules.block_means([]) == dict.fromkeys(Block)
