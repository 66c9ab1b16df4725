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
