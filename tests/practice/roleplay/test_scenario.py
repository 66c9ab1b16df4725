from __future__ import annotations

import pytest

from followthrough.practice.roleplay.rubric import Block
from followthrough.practice.roleplay.scenario import (
    SHIPPED,
    InvalidScenario,
    Outcome,
    read_scenario,
    shipped_scenario,
    shipped_scenarios,
)

SMALL = """\
scenario: small
version: 3
title: Small
summary: A small one.
you: Assessor
character: {name: Dana, role: Clerk}
covers: [own]
state: {trust: 40}
start: first
nodes:
  first:
    say: Hello.
    choices:
      - {text: Hi, go: second, change: {trust: 10}}
  second:
    say: What now?
    reply:
      prompt: Say something.
      listen_for: [takes_ownership]
      change_per_point: {trust: 5}
      then:
        - {if_shown: deflects, go: bad}
        - {go: good}
  good:
    say: Thanks.
    ending: {title: Good, outcome: good}
  bad:
    say: Bye.
    ending: {title: Bad, outcome: poor}
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(InvalidScenario) as raised:
        read_scenario(text, source="s.yaml")
    return raised.value.problems


def test_a_small_scenario_reads() -> None:
    scenario = read_scenario(SMALL)
    assert scenario.version == 3
    assert scenario.state == {"trust": 40}
    assert [e.ending.outcome for e in scenario.endings if e.ending] == [Outcome.GOOD, Outcome.POOR]


def test_the_shipped_scenarios_cover_the_four_blocks_and_the_themes() -> None:
    scenarios = shipped_scenarios()
    assert len(scenarios) >= 4
    assert {block for s in scenarios for block in s.covers} == set(Block)
    themes = {theme for s in scenarios for theme in s.themes}
    for theme in (
        "courageous dialogue",
        "constructive feedback",
        "emotional intelligence",
        "the desk's own story",
    ):
        assert theme in themes
    for scenario in scenarios:
        assert len(scenario.endings) >= 2
        assert any(node.reply for node in scenario.nodes.values())
        assert any(node.choices for node in scenario.nodes.values())
        assert {"trust", "customer"} <= set(scenario.state)


def test_an_unknown_shipped_name_is_refused() -> None:
    with pytest.raises(KeyError):
        shipped_scenario("nope")
    assert "missed-call-back" in SHIPPED


def test_a_missing_target_is_named_with_its_line() -> None:
    text = SMALL.replace("go: good}", "go: nowhere}")
    problems = _problems(text)
    # In SMALL, the node "second" is declared on line 15 and "good" on line 24.
    assert "s.yaml:15: node 'second' goes to 'nowhere', which does not exist" in problems
    assert "s.yaml:24: node 'good' cannot be reached from 'first'" in problems


def test_an_unknown_behaviour_and_state_are_named_with_their_lines() -> None:
    text = SMALL.replace("listen_for: [takes_ownership]", "listen_for: [charm]").replace(
        "change_per_point: {trust: 5}", "change_per_point: {mood: 5}"
    )
    problems = _problems(text)
    assert any(p.startswith("s.yaml:19:") and "'charm' is not a behaviour" in p for p in problems)
    assert any(
        p.startswith("s.yaml:20:") and "'mood' is not in the scenario's state" in p
        for p in problems
    )


def test_broken_yaml_is_named_with_its_line() -> None:
    problems = _problems("scenario: x\nversion: [1\n")
    assert len(problems) == 1
    assert problems[0].startswith("s.yaml:")
    assert "not valid YAML" in problems[0]


def test_a_duplicate_node_and_a_last_conditional_branch_are_refused() -> None:
    text = SMALL.replace("        - {go: good}\n", "")
    text += "  good:\n    say: Again.\n    ending: {title: X, outcome: good}\n"
    problems = _problems(text)
    assert any("the last 'then' must have no condition" in p for p in problems)
    assert any("'good' appears twice" in p for p in problems)
