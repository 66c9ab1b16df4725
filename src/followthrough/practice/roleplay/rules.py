"""Playing a scenario: where a choice or a scored reply leads, and what it does to the state.

Pure functions over the scenario and a frozen position; the service stores what they return.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from followthrough.errors import Conflict, InvalidInput
from followthrough.practice.roleplay.rubric import Behaviour
from followthrough.practice.roleplay.scenario import Branch, Scenario, ScenarioNode

LOWEST, HIGHEST = 0, 100


class AttemptOver(Conflict):
    title = "This role play has ended"


@dataclass(frozen=True)
class Position:
    """Where an attempt stands: the node the character has just spoken, and the state values."""

    node: str
    values: Mapping[str, int] = field(default_factory=dict)

    def ended(self, scenario: Scenario) -> bool:
        return scenario.node(self.node).ending is not None


def start(scenario: Scenario) -> Position:
    return Position(scenario.start, dict(scenario.state))


def _changed(
    values: Mapping[str, int], change: Mapping[str, int], times: int = 1
) -> dict[str, int]:
    result = dict(values)
    for name, step in change.items():
        result[name] = min(HIGHEST, max(LOWEST, result.get(name, 0) + step * times))
    return result


def _current(scenario: Scenario, position: Position) -> ScenarioNode:
    node = scenario.node(position.node)
    if node.ending is not None:
        raise AttemptOver("The conversation is over; start again to play it another way.")
    return node


def choose(scenario: Scenario, position: Position, index: int) -> Position:
    """Take the choice at `index` of the current node."""
    node = _current(scenario, position)
    if not node.choices:
        raise InvalidInput("This turn is a reply in your own words, not a choice.", field="text")
    if not 0 <= index < len(node.choices):
        raise InvalidInput(f"Choose one of the {len(node.choices)} answers.", field="choice")
    choice = node.choices[index]
    return Position(choice.go, _changed(position.values, choice.change))


def _applies(branch: Branch, shown: frozenset[Behaviour], values: Mapping[str, int]) -> bool:
    if branch.if_shown is not None and branch.if_shown not in shown:
        return False
    if branch.if_at_least is not None:
        return all(values.get(name, 0) >= least for name, least in branch.if_at_least.items())
    return True


def answer(
    scenario: Scenario, position: Position, shown: frozenset[Behaviour], points: int
) -> Position:
    """Move on after a free-text reply that showed `shown` and earned `points` in all."""
    node = _current(scenario, position)
    if node.reply is None:
        raise InvalidInput("This turn is a choice; pick one of the answers.", field="choice")
    values = _changed(position.values, node.reply.change_per_point, points)
    branch = next(b for b in node.reply.then if _applies(b, shown, values))
    return Position(branch.go, values)
