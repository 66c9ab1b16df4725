"""Live role-play rules, pure: join codes, who may do what, scores from ticked behaviours, and
the side-by-side comparison of participant, observer and automatic scores."""

from __future__ import annotations

import random
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from followthrough.practice.roleplay.rubric import BEHAVIOURS, Behaviour, Block

# No O/0 or I/1: a code read aloud or typed on a phone is not misread.
CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "O0I1")
CODE_LENGTH = 6
MAX_GROUPS = 20
MAX_NOTE = 1000


class Role(StrEnum):
    PARTICIPANT = "participant"
    CHARACTER = "character"
    OBSERVER = "observer"


class MarkKind(StrEnum):
    SCORE = "score"
    NOTE = "note"
    LINE = "line"


POINTS = {rule.behaviour: rule.points for rule in BEHAVIOURS}
BLOCK_OF = {rule.behaviour: rule.block for rule in BEHAVIOURS}


def new_code(rng: random.Random) -> str:
    return "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def cleaned_code(typed: str) -> str:
    """A code as typed (any case, spaces or dashes) in the form it is stored."""
    return "".join(c for c in typed.upper() if c.isalnum())


def may_take_role(taken: Iterable[Role], role: Role) -> bool:
    """A group has one participant and at most one character's player; observers are many
    (a trio is participant, character and observer; a pair leaves the character to the
    scenario)."""
    return role is Role.OBSERVER or role not in set(taken)


def may_mark(role: Role, kind: MarkKind) -> bool:
    """Observers score and note; participants score themselves; the character's player says
    lines (and notes)."""
    allowed = {
        Role.OBSERVER: {MarkKind.SCORE, MarkKind.NOTE},
        Role.PARTICIPANT: {MarkKind.SCORE},
        Role.CHARACTER: {MarkKind.LINE, MarkKind.NOTE},
    }
    return kind in allowed[role]


def block_points(heard: Iterable[Behaviour]) -> dict[Block, int]:
    """Points per block for the ticked behaviours, on the rubric's own points (a deflection
    ticked costs what it costs in the automatic score)."""
    points = dict.fromkeys(Block, 0)
    for behaviour in set(heard):
        points[BLOCK_OF[behaviour]] += POINTS[behaviour]
    return points


def heard_automatically(scores: Mapping[str, object] | None) -> frozenset[Behaviour]:
    """The behaviours the automatic scoring found in a stored turn's scores."""
    if not scores:
        return frozenset()
    rows = scores.get("behaviours", [])
    assert isinstance(rows, list)
    return frozenset(Behaviour(row["behaviour"]) for row in rows if row["present"])


@dataclass(frozen=True)
class Agreement:
    """How often two scorers agreed, behaviour by behaviour, over the turns both scored."""

    turns: int
    agreed: int  # behaviour decisions both made the same way
    decisions: int

    @property
    def share(self) -> float | None:
        return None if self.decisions == 0 else self.agreed / self.decisions


def agreement(pairs: Sequence[tuple[frozenset[Behaviour], frozenset[Behaviour]]]) -> Agreement:
    agreed = sum(
        (behaviour in one) == (behaviour in other)
        for one, other in pairs
        for behaviour in Behaviour
    )
    return Agreement(len(pairs), agreed, len(pairs) * len(Behaviour))


def mean(values: Sequence[float]) -> float | None:
    return None if not values else sum(values) / len(values)


SCORERS = ("participant", "observer", "automatic")


@dataclass(frozen=True)
class BehaviourSpread:
    """How often one scorer heard one behaviour over many people's replies, and how far apart
    the people were: each person's share of their replies in which it was heard, the lowest,
    the highest and the standard deviation of those shares (None with fewer than two people)."""

    behaviour: Behaviour
    scorer: str
    replies: int
    heard: int
    people: int
    low: float | None
    high: float | None
    spread: float | None

    @property
    def share(self) -> float | None:
        return None if self.replies == 0 else self.heard / self.replies


def behaviour_spread(
    scored: Iterable[tuple[int, str, frozenset[Behaviour]]],
) -> list[BehaviourSpread]:
    """From (person, scorer, behaviours heard in one reply) rows: one line per behaviour and
    scorer, in the rubric's and SCORERS' order (a scorer who scored nothing: zero replies)."""
    per_person: dict[tuple[str, int], list[frozenset[Behaviour]]] = {}
    for person, scorer, heard in scored:
        if scorer not in SCORERS:
            raise ValueError(f"unknown scorer {scorer!r}")
        per_person.setdefault((scorer, person), []).append(heard)
    lines = []
    for behaviour in Behaviour:
        for scorer in SCORERS:
            replies = [
                (person, rows) for (who, person), rows in per_person.items() if who == scorer
            ]
            shares = [sum(behaviour in r for r in rows) / len(rows) for _, rows in replies]
            total = sum(len(rows) for _, rows in replies)
            heard_count = sum(behaviour in r for _, rows in replies for r in rows)
            lines.append(
                BehaviourSpread(
                    behaviour,
                    scorer,
                    total,
                    heard_count,
                    len(shares),
                    min(shares) if shares else None,
                    max(shares) if shares else None,
                    _deviation(shares),
                )
            )
    return lines


def _deviation(values: Sequence[float]) -> float | None:
    """The population standard deviation: how far the people are from their mean."""
    if len(values) < 2:
        return None
    centre = sum(values) / len(values)
    return float((sum((v - centre) ** 2 for v in values) / len(values)) ** 0.5)


def block_means(replies: Iterable[frozenset[Behaviour]]) -> dict[Block, float | None]:
    """Mean points per reply on each block, on the rubric's points (no replies: None)."""
    points = [block_points(heard) for heard in replies]
    return {b: mean([p[b] for p in points]) for b in Block}
