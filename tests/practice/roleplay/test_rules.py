from __future__ import annotations

import pytest

from followthrough.errors import InvalidInput
from followthrough.practice.roleplay import rules
from followthrough.practice.roleplay.rubric import Behaviour
from followthrough.practice.roleplay.scenario import read_scenario
from tests.practice.roleplay.test_scenario import SMALL

SCENARIO = read_scenario(SMALL)


def test_a_choice_moves_on_and_changes_the_state() -> None:
    position = rules.choose(SCENARIO, rules.start(SCENARIO), 0)
    assert position.node == "second"
    assert position.values == {"trust": 50}


def test_a_reply_changes_the_state_per_point_and_branches_on_a_deflection() -> None:
    at_reply = rules.choose(SCENARIO, rules.start(SCENARIO), 0)
    deflected = rules.answer(SCENARIO, at_reply, frozenset({Behaviour.DEFLECTS}), -1)
    assert deflected.node == "bad"
    assert deflected.values == {"trust": 45}
    owned = rules.answer(SCENARIO, at_reply, frozenset({Behaviour.TAKES_OWNERSHIP}), 3)
    assert owned.node == "good"
    assert owned.values == {"trust": 65}
    assert owned.ended(SCENARIO)


def test_values_stay_within_0_and_100() -> None:
    at_reply = rules.Position("second", {"trust": 95})
    assert rules.answer(SCENARIO, at_reply, frozenset(), 5).values == {"trust": 100}
    assert rules.answer(
        SCENARIO, rules.Position("second", {"trust": 3}), frozenset(), -2
    ).values == {"trust": 0}


def test_the_wrong_kind_of_turn_and_an_ended_attempt_are_refused() -> None:
    with pytest.raises(InvalidInput):
        rules.answer(SCENARIO, rules.start(SCENARIO), frozenset(), 1)
    with pytest.raises(InvalidInput):
        rules.choose(SCENARIO, rules.start(SCENARIO), 5)
    with pytest.raises(InvalidInput):
        rules.choose(SCENARIO, rules.Position("second", {"trust": 1}), 0)
    with pytest.raises(rules.AttemptOver):
        rules.choose(SCENARIO, rules.Position("good", {"trust": 1}), 0)
