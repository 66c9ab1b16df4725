"""Role-play scenario files: a small YAML format, read with every problem named by its line.

Why YAML and not ink: the maintained Python ink runtime on PyPI (bink 0.7.1, bindings to Blade
Ink) plays only *compiled* ink JSON; it has no compiler (its library exports story functions
only and rejects ink source with "Story not in JSON format"), and ink's compilers are inklecate
(.NET) and inkjs (Node), neither of which this Python service ships. Ink also has no notion of a
free-text turn or of scoring it. A scenario here is a few dozen lines of YAML that PyYAML (already
a dependency) reads with line numbers, checked by `followthrough roleplay validate`.

    scenario: missed-call-back        # its name (letters, digits, dashes)
    version: 2                        # raised on every change; kept with every attempt
    title: ...
    summary: ...
    you: Claims assessor              # the participant's role
    character: {name: Dana, role: Admin clerk}
    covers: [own, communicate]        # building blocks it practises
    themes: [the desk's own story]
    state: {trust: 40, customer: 30}  # starting values, each kept within 0..100
    start: opening
    nodes:
      opening:
        say: What the character says.
        choices:
          - text: What the participant may answer.
            change: {trust: 10}
            go: next_node
      next_node:
        say: ...
        reply:                        # a free-text turn, scored on the rubric
          prompt: What do you say?
          listen_for: [asks_need, takes_ownership]
          change_per_point: {trust: 8, customer: 5}
          then:                       # the first that applies
            - {if_shown: deflects, go: escalates}
            - {if_at_least: {trust: 60}, go: agrees}
            - {go: stuck}
      agrees:
        say: ...
        ending: {title: Agreed, outcome: good}   # good, mixed or poor
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from followthrough.practice.roleplay.rubric import Behaviour, Block

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")
SHIPPED = ("missed-call-back", "operations-peer", "bad-day", "feedback-conversation")


class Outcome(StrEnum):
    GOOD = "good"
    MIXED = "mixed"
    POOR = "poor"


class InvalidScenario(ValueError):
    """Every problem of a scenario file, one per line, each as 'file:line: problem'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Choice:
    text: str
    go: str
    change: Mapping[str, int]


@dataclass(frozen=True)
class Branch:
    go: str
    if_shown: Behaviour | None = None
    if_at_least: Mapping[str, int] | None = None


@dataclass(frozen=True)
class Reply:
    prompt: str
    listen_for: tuple[Behaviour, ...]
    change_per_point: Mapping[str, int]
    then: tuple[Branch, ...]


@dataclass(frozen=True)
class Ending:
    title: str
    outcome: Outcome


@dataclass(frozen=True)
class ScenarioNode:
    id: str
    say: str
    choices: tuple[Choice, ...] = ()
    reply: Reply | None = None
    ending: Ending | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    version: int
    title: str
    summary: str
    you: str
    character_name: str
    character_role: str
    covers: tuple[Block, ...]
    themes: tuple[str, ...]
    state: Mapping[str, int]
    start: str
    nodes: Mapping[str, ScenarioNode]
    source: str

    def node(self, node_id: str) -> ScenarioNode:
        return self.nodes[node_id]

    @property
    def endings(self) -> list[ScenarioNode]:
        return [node for node in self.nodes.values() if node.ending is not None]


class _Reader:
    """Turns YAML nodes into a Scenario, collecting problems with their lines."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def problem(self, node: Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(f"{self.source}:{line}: {message}")

    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what} must be a mapping of names to values")
            return {}
        found: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, ScalarNode) else ""
            if name in found:
                self.problem(key, f"{what}: '{name}' appears twice")
                continue
            found[name] = (key, value)
        return found

    def text(self, fields: dict[str, tuple[Node, Node]], name: str, owner: Node, what: str) -> str:
        if name not in fields:
            self.problem(owner, f"{what}: '{name}' is missing")
            return ""
        node = fields[name][1]
        if not isinstance(node, ScalarNode) or not str(node.value).strip():
            self.problem(node, f"{what}: '{name}' must be some text")
            return ""
        return str(node.value).strip()

    def integer(self, node: Node, what: str) -> int:
        if isinstance(node, ScalarNode) and re.fullmatch(r"[+-]?\d{1,4}", str(node.value)):
            return int(node.value)
        self.problem(node, f"{what} must be a whole number")
        return 0

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.problem(node, f"{what} must be a list")
            return []
        return list(node.value)

    def numbers(self, node: Node, what: str, known: Mapping[str, int] | None) -> dict[str, int]:
        values = {}
        for name, (key, value) in self.mapping(node, what).items():
            if known is not None and name not in known:
                self.problem(key, f"{what}: '{name}' is not in the scenario's state")
                continue
            values[name] = self.integer(value, f"{what}: '{name}'")
        return values

    def behaviour(self, node: Node, what: str) -> Behaviour | None:
        value = str(node.value) if isinstance(node, ScalarNode) else ""
        try:
            return Behaviour(value)
        except ValueError:
            known = ", ".join(b.value for b in Behaviour)
            self.problem(node, f"{what}: '{value}' is not a behaviour of the rubric ({known})")
            return None


def _check_keys(
    reader: _Reader, fields: dict[str, tuple[Node, Node]], allowed: set[str], what: str
) -> None:
    for name, (key, _) in fields.items():
        if name not in allowed:
            reader.problem(
                key, f"{what}: unknown field '{name}' (expected {', '.join(sorted(allowed))})"
            )


def _read_node(reader: _Reader, node_id: str, node: Node, state: Mapping[str, int]) -> ScenarioNode:
    what = f"node '{node_id}'"
    fields = reader.mapping(node, what)
    _check_keys(reader, fields, {"say", "choices", "reply", "ending"}, what)
    say = reader.text(fields, "say", node, what)
    kinds = [name for name in ("choices", "reply", "ending") if name in fields]
    if len(kinds) != 1:
        reader.problem(node, f"{what} needs exactly one of choices, reply or ending")
    choices: list[Choice] = []
    if "choices" in fields:
        items = reader.sequence(fields["choices"][1], f"{what}: choices")
        if not items and isinstance(fields["choices"][1], SequenceNode):
            reader.problem(fields["choices"][1], f"{what}: choices must not be empty")
        for item in items:
            choice = reader.mapping(item, f"{what}: a choice")
            _check_keys(reader, choice, {"text", "go", "change"}, f"{what}: a choice")
            change = (
                reader.numbers(choice["change"][1], f"{what}: change", state)
                if "change" in choice
                else {}
            )
            choices.append(
                Choice(
                    reader.text(choice, "text", item, f"{what}: a choice"),
                    reader.text(choice, "go", item, f"{what}: a choice"),
                    change,
                )
            )
    reply = None
    if "reply" in fields:
        reply = _read_reply(reader, what, fields["reply"][1], state)
    ending = None
    if "ending" in fields:
        end = reader.mapping(fields["ending"][1], f"{what}: ending")
        _check_keys(reader, end, {"title", "outcome"}, f"{what}: ending")
        outcome_text = reader.text(end, "outcome", fields["ending"][1], f"{what}: ending")
        try:
            outcome = Outcome(outcome_text)
        except ValueError:
            if outcome_text:
                reader.problem(end["outcome"][1], f"{what}: outcome must be good, mixed or poor")
            outcome = Outcome.MIXED
        ending = Ending(reader.text(end, "title", fields["ending"][1], f"{what}: ending"), outcome)
    return ScenarioNode(node_id, say, tuple(choices), reply, ending)


def _read_reply(reader: _Reader, what: str, node: Node, state: Mapping[str, int]) -> Reply:
    fields = reader.mapping(node, f"{what}: reply")
    _check_keys(
        reader, fields, {"prompt", "listen_for", "change_per_point", "then"}, f"{what}: reply"
    )
    listen_for = []
    if "listen_for" in fields:
        for item in reader.sequence(fields["listen_for"][1], f"{what}: listen_for"):
            behaviour = reader.behaviour(item, f"{what}: listen_for")
            if behaviour is not None:
                listen_for.append(behaviour)
    change = (
        reader.numbers(fields["change_per_point"][1], f"{what}: change_per_point", state)
        if "change_per_point" in fields
        else {}
    )
    branches: list[Branch] = []
    if "then" not in fields:
        reader.problem(node, f"{what}: reply needs 'then', the list of where it goes")
    else:
        items = reader.sequence(fields["then"][1], f"{what}: then")
        for item in items:
            branch = reader.mapping(item, f"{what}: then")
            _check_keys(reader, branch, {"go", "if_shown", "if_at_least"}, f"{what}: then")
            shown = (
                reader.behaviour(branch["if_shown"][1], f"{what}: if_shown")
                if "if_shown" in branch
                else None
            )
            at_least = (
                reader.numbers(branch["if_at_least"][1], f"{what}: if_at_least", state)
                if "if_at_least" in branch
                else None
            )
            branches.append(
                Branch(reader.text(branch, "go", item, f"{what}: then"), shown, at_least)
            )
        if items and (branches[-1].if_shown or branches[-1].if_at_least):
            reader.problem(items[-1], f"{what}: the last 'then' must have no condition")
    prompt = reader.text(fields, "prompt", node, f"{what}: reply")
    return Reply(prompt, tuple(listen_for), change, tuple(branches))


def read_scenario(text: str, source: str = "scenario") -> Scenario:
    """Read and check a scenario; raises InvalidScenario listing every problem with its line."""
    reader = _Reader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise InvalidScenario([f"{source}:{line}: not valid YAML: {error.problem}"]) from error
    if root is None:
        raise InvalidScenario([f"{source}:1: the file is empty"])
    top = reader.mapping(root, "the scenario")
    allowed = {
        "scenario",
        "version",
        "title",
        "summary",
        "you",
        "character",
        "covers",
        "themes",
        "state",
        "start",
        "nodes",
    }
    _check_keys(reader, top, allowed, "the scenario")
    name = reader.text(top, "scenario", root, "the scenario")
    if name and not NAME.match(name):
        reader.problem(
            top["scenario"][1], "the scenario's name: lower-case letters, digits and dashes"
        )
    version = reader.integer(top["version"][1], "version") if "version" in top else 0
    if "version" not in top:
        reader.problem(root, "the scenario: 'version' is missing")
    elif version < 1:
        reader.problem(top["version"][1], "version must be 1 or more")
    character = reader.mapping(top["character"][1], "character") if "character" in top else {}
    if "character" not in top:
        reader.problem(root, "the scenario: 'character' is missing")
    covers: list[Block] = []
    for item in reader.sequence(top["covers"][1], "covers") if "covers" in top else []:
        try:
            covers.append(Block(str(item.value)))
        except ValueError:
            reader.problem(
                item, f"covers: '{item.value}' is not understand, own, serve or communicate"
            )
    themes = [
        str(item.value)
        for item in (reader.sequence(top["themes"][1], "themes") if "themes" in top else [])
    ]
    state = reader.numbers(top["state"][1], "state", None) if "state" in top else {}
    for variable, value in state.items():
        if not 0 <= value <= 100:
            reader.problem(top["state"][1], f"state: '{variable}' must start between 0 and 100")
    nodes: dict[str, ScenarioNode] = {}
    node_lines: dict[str, Node] = {}
    if "nodes" not in top:
        reader.problem(root, "the scenario: 'nodes' is missing")
    else:
        for node_id, (key, body) in reader.mapping(top["nodes"][1], "nodes").items():
            if not NAME.match(node_id):
                reader.problem(
                    key, f"node '{node_id}': ids are lower-case letters, digits, _ and -"
                )
            nodes[node_id] = _read_node(reader, node_id, body, state)
            node_lines[node_id] = key
    start = reader.text(top, "start", root, "the scenario")
    if start and start not in nodes:
        reader.problem(top["start"][1], f"start: there is no node '{start}'")
    _check_graph(reader, nodes, node_lines, start)
    if reader.problems:
        raise InvalidScenario(reader.problems)
    return Scenario(
        name=name,
        version=version,
        title=reader.text(top, "title", root, "the scenario"),
        summary=reader.text(top, "summary", root, "the scenario"),
        you=reader.text(top, "you", root, "the scenario"),
        character_name=reader.text(character, "name", top["character"][1], "character"),
        character_role=reader.text(character, "role", top["character"][1], "character"),
        covers=tuple(covers),
        themes=tuple(themes),
        state=state,
        start=start,
        nodes=nodes,
        source=text,
    )


def _targets(node: ScenarioNode) -> list[str]:
    targets = [choice.go for choice in node.choices]
    if node.reply is not None:
        targets += [branch.go for branch in node.reply.then]
    return targets


def _check_graph(
    reader: _Reader,
    nodes: Mapping[str, ScenarioNode],
    lines: Mapping[str, Node],
    start: str,
) -> None:
    for node_id, node in nodes.items():
        for target in _targets(node):
            if target and target not in nodes:
                reader.problem(
                    lines[node_id], f"node '{node_id}' goes to '{target}', which does not exist"
                )
    if not nodes or start not in nodes:
        return
    seen = {start}
    frontier = [start]
    while frontier:
        for target in _targets(nodes[frontier.pop()]):
            if target in nodes and target not in seen:
                seen.add(target)
                frontier.append(target)
    for node_id in nodes:
        if node_id not in seen:
            reader.problem(lines[node_id], f"node '{node_id}' cannot be reached from '{start}'")
    endings = [n for n in nodes.values() if n.ending is not None and n.id in seen]
    if len(endings) < 2:
        reader.problem(lines[start], "a scenario needs at least two endings")
    if not any(n.reply is not None for n in nodes.values()):
        reader.problem(lines[start], "a scenario needs at least one free-text reply")


def load_scenario_file(path: Path) -> Scenario:
    return read_scenario(path.read_text("utf-8"), source=str(path))


def shipped_scenario(name: str) -> Scenario:
    """One of the scenarios shipped with the package, by name."""
    if name not in SHIPPED:
        raise KeyError(name)
    text = resources.files(__package__).joinpath(f"scenarios/{name}.yaml").read_text("utf-8")
    return read_scenario(text, source=f"{name}.yaml")


def shipped_scenarios() -> list[Scenario]:
    return [shipped_scenario(name) for name in SHIPPED]


def describe(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "version": scenario.version,
        "title": scenario.title,
        "summary": scenario.summary,
        "you": scenario.you,
        "character": {"name": scenario.character_name, "role": scenario.character_role},
        "covers": [block.value for block in scenario.covers],
        "themes": list(scenario.themes),
    }
