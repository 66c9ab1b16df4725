"""The labelled replies, agreement with their labels (Cohen's kappa), and threshold fitting.

A fixed quarter of the set is held out from fitting: a reply is held out when the CRC-32 of its
text is divisible by 4 (stable across runs and machines, and independent of its labels). The
thresholds are fitted on the rest; the report gives agreement on both parts.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from followthrough.practice.roleplay.rubric import Behaviour, Rubric
from followthrough.practice.roleplay.scoring import ScoringModel, TurnScore, score_reply

CODES: dict[str, Behaviour] = {
    "A": Behaviour.ASKS_NEED,
    "R": Behaviour.RESTATES,
    "O": Behaviour.TAKES_OWNERSHIP,
    "D": Behaviour.DEFLECTS,
    "N": Behaviour.NEXT_STEP_AND_TIME,
    "C": Behaviour.CUSTOMER_VIEW,
    "K": Behaviour.CHECKS_BACK,
    "F": Behaviour.ACKNOWLEDGES_FEELING,
}
# Candidate thresholds: 0.30 to 0.95 by 0.01, and "never by meaning alone".
THRESHOLD_GRID: tuple[float, ...] = (*(round(0.30 + i / 100, 2) for i in range(66)), 2.0)


class InvalidLabelledSet(ValueError):
    """A line of the labelled set that cannot be read; says the file and line."""


@dataclass(frozen=True)
class LabelledReply:
    line: int
    text: str
    shows: frozenset[Behaviour]

    @property
    def held_out(self) -> bool:
        return zlib.crc32(self.text.encode("utf-8")) % 4 == 0


def read_labelled(text: str, source: str = "labelled_replies.txt") -> list[LabelledReply]:
    """Parse `CODES | reply` lines; '#' lines are comments. Errors name the source and line."""
    replies = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        codes, bar, reply = line.partition("|")
        reply = reply.strip()
        if not bar or not reply:
            raise InvalidLabelledSet(f"{source}:{number}: expected 'CODES | reply'")
        shows = set()
        for code in codes.split():
            if code == "-":
                continue
            if code not in CODES:
                raise InvalidLabelledSet(f"{source}:{number}: unknown behaviour code {code!r}")
            shows.add(CODES[code])
        if reply in seen:
            raise InvalidLabelledSet(
                f"{source}:{number}: the same reply is already on line {seen[reply]}"
            )
        seen[reply] = number
        replies.append(LabelledReply(number, reply, frozenset(shows)))
    return replies


def shipped_labelled() -> list[LabelledReply]:
    text = resources.files(__package__).joinpath("data/labelled_replies.txt").read_text("utf-8")
    return read_labelled(text)


def load_labelled(path: Path) -> list[LabelledReply]:
    return read_labelled(path.read_text("utf-8"), source=str(path))


def cohens_kappa(first: Sequence[bool], second: Sequence[bool]) -> float:
    """Cohen's kappa of two binary ratings of the same items (1 = perfect, 0 = chance).

    When both raters give one value to every item, agreement by chance is 1 and kappa is
    undefined; it is reported as 1.0 if they agree on everything, else 0.0.
    """
    if len(first) != len(second):
        raise ValueError("the two ratings must cover the same items")
    n = len(first)
    if n == 0:
        return 0.0
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    p_first = sum(first) / n
    p_second = sum(second) / n
    chance = p_first * p_second + (1 - p_first) * (1 - p_second)
    if chance == 1:
        return 1.0 if observed == 1 else 0.0
    return (observed - chance) / (1 - chance)


@dataclass(frozen=True)
class Agreement:
    behaviour: Behaviour
    replies: int
    labelled: int
    kappa: float
    precision: float
    recall: float


def agreement(behaviour: Behaviour, labels: Sequence[bool], predicted: Sequence[bool]) -> Agreement:
    true_positive = sum(a and b for a, b in zip(labels, predicted, strict=True))
    precision = true_positive / sum(predicted) if any(predicted) else 0.0
    recall = true_positive / sum(labels) if any(labels) else 0.0
    return Agreement(
        behaviour,
        len(labels),
        sum(labels),
        round(cohens_kappa(labels, predicted), 3),
        round(precision, 3),
        round(recall, 3),
    )


@dataclass(frozen=True)
class Scored:
    reply: LabelledReply
    score: TurnScore


def score_all(replies: Iterable[LabelledReply], model: ScoringModel) -> list[Scored]:
    return [Scored(reply, score_reply(reply.text, model)) for reply in replies]


def _predicted(scored: Scored, behaviour: Behaviour, threshold: float) -> bool:
    found = next(s for s in scored.score.behaviours if s.behaviour is behaviour)
    from_phrase = found.present and found.evidence.value == "phrase"
    return from_phrase or found.similarity >= threshold


def fit_thresholds(scored: Sequence[Scored], rubric: Rubric) -> dict[Behaviour, float]:
    """For each behaviour, the grid threshold with the best kappa on these replies.

    `scored` must come from a model whose thresholds are all above 1 (phrases only), so the
    similarity recorded is the one a threshold would be compared with. Ties go to the higher
    threshold: fewer points earned by meaning alone.
    """
    fitted = {}
    for rule in rubric.behaviours:
        labels = [rule.behaviour in s.reply.shows for s in scored]
        best = (-2.0, 0.0)
        for threshold in THRESHOLD_GRID:
            predicted = [_predicted(s, rule.behaviour, threshold) for s in scored]
            kappa = round(cohens_kappa(labels, predicted), 6)
            if kappa >= best[0]:
                best = (kappa, threshold)
        fitted[rule.behaviour] = best[1]
    return fitted


def agreements(scored: Sequence[Scored], rubric: Rubric) -> list[Agreement]:
    """Agreement of the scores as given (the rubric's own thresholds) with the labels."""
    return [
        agreement(
            rule.behaviour,
            [rule.behaviour in s.reply.shows for s in scored],
            [s.score.present(rule.behaviour) for s in scored],
        )
        for rule in rubric.behaviours
    ]
