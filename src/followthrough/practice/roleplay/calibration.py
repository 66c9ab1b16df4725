"""The labelled replies, agreement with their labels (Cohen's kappa), and threshold fitting.

A fixed quarter of the set is held out from fitting: a reply is held out when the CRC-32 of its
text is divisible by 4 (stable across runs and machines, and independent of its labels). Replies
after a '# @fresh' line were written after the phrase rules of their time and are kept out of
fitting too ("fresh 1"). Later fresh sets are files of their own (`data/fresh_replies_N.txt`:
"fresh 2", "fresh 3", ...), each written and committed before the rules were changed in answer
to the one before it. Once a fresh set has been scored and the rules changed for it, it is spent
(FITTED_FRESH): the learned cues are fitted on the fitting part and the spent sets; the newest
set is never fitted. The report gives agreement on each part.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from followthrough.practice.roleplay.learned import LearnedCue, LearnedCues, fit_cue
from followthrough.practice.roleplay.rubric import Behaviour, Rubric
from followthrough.practice.roleplay.scoring import (
    ENGAGING,
    ScoringModel,
    TurnScore,
    meaning_allowed,
    score_reply,
    sentences,
)

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


class InvalidLabelledSet(ValueError):
    """A line of the labelled set that cannot be read; says the file and line."""


@dataclass(frozen=True)
class LabelledReply:
    line: int
    text: str
    shows: frozenset[Behaviour]
    # Written after the last change to the phrase rules: never used to fit or to tune.
    fresh: bool = False

    @property
    def held_out(self) -> bool:
        return zlib.crc32(self.text.encode("utf-8")) % 4 == 0

    @property
    def fitting(self) -> bool:
        return not self.held_out and not self.fresh


def read_labelled(
    text: str, source: str = "labelled_replies.txt", fresh: bool = False
) -> list[LabelledReply]:
    """Parse `CODES | reply` lines; '#' lines are comments. Errors name the source and line.
    `fresh`: every reply is fresh (a file of fresh replies), not only those after '# @fresh'."""
    replies = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("# @fresh"):
            fresh = True
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
        replies.append(LabelledReply(number, reply, frozenset(shows), fresh))
    return replies


def shipped_labelled() -> list[LabelledReply]:
    text = resources.files(__package__).joinpath("data/labelled_replies.txt").read_text("utf-8")
    return read_labelled(text)


# The fresh sets after the labelled set's own, oldest first: "fresh 2", "fresh 3", ...
FRESH_FILES = ("fresh_replies_2.txt", "fresh_replies_3.txt", "fresh_replies_4.txt")
# Those scored once and tuned on since: the learned cues are fitted on them too.
FITTED_FRESH = ("fresh_replies_2.txt", "fresh_replies_3.txt")


def shipped_fresh(name: str) -> list[LabelledReply]:
    """One of the later fresh sets (FRESH_FILES): never fitted."""
    text = resources.files(__package__).joinpath(f"data/{name}").read_text("utf-8")
    return read_labelled(text, source=name, fresh=True)


def load_labelled(path: Path, fresh: bool = False) -> list[LabelledReply]:
    return read_labelled(path.read_text("utf-8"), source=str(path), fresh=fresh)


def parts(
    labelled: Sequence[LabelledReply], fresh: Sequence[Sequence[LabelledReply]]
) -> dict[str, list[LabelledReply]]:
    """The parts agreement is reported on: those never fitted (held out, fresh 1, then each
    later fresh set as fresh 2, 3...), then the fitting part."""
    found = {
        "held out": [r for r in labelled if r.held_out],
        "fresh 1": [r for r in labelled if r.fresh],
    }
    for number, replies in enumerate(fresh, start=2):
        found[f"fresh {number}"] = list(replies)
    found["fitting"] = [r for r in labelled if r.fitting]
    return found


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


STRENGTHS: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0)
CUE_THRESHOLDS: tuple[float, ...] = tuple(round(0.2 + i * 0.05, 2) for i in range(13))
FOLDS = 5
# The share of deflections the scorer must catch (issue 14), reported by `evaluate`.
DEFLECTION_RECALL = 0.9


@dataclass(frozen=True)
class Prepared:
    """A labelled reply made ready for fitting: its phrase results, sentences and vectors."""

    reply: LabelledReply
    phrase: frozenset[Behaviour]
    reply_vector: NDArray[np.float32]
    sentences: tuple[str, ...]
    vectors: NDArray[np.float32]
    allowed: dict[Behaviour, tuple[bool, ...]]

    @property
    def fold(self) -> int:
        return zlib.crc32(self.reply.text.encode("utf-8")) % FOLDS


def prepare_replies(replies: Sequence[LabelledReply], phrases_only: ScoringModel) -> list[Prepared]:
    prepared = []
    embedder = phrases_only.embedder
    for reply in replies:
        score = score_reply(reply.text, phrases_only)
        parts = sentences(reply.text)
        # With no learned cues, what is present was heard in so many words.
        engaged = any(s.present and s.behaviour in ENGAGING for s in score.behaviours)
        deflected = any(s.present and s.points < 0 for s in score.behaviours)
        prepared.append(
            Prepared(
                reply=reply,
                phrase=frozenset(s.behaviour for s in score.behaviours if s.present),
                reply_vector=embedder.embed([reply.text])[0],
                sentences=tuple(p.text for p in parts),
                vectors=embedder.embed([p.text for p in parts]),
                allowed={
                    rule.behaviour: tuple(
                        meaning_allowed(rule, p.text, engaged, deflected) for p in parts
                    )
                    for rule in phrases_only.rubric.behaviours
                },
            )
        )
    return prepared


def _best_probability(cue: LearnedCue, item: Prepared) -> float:
    """What scoring compares with the threshold: the whole reply's probability, when at least
    one of its sentences may count (scoring.score_reply)."""
    if not any(item.allowed[cue.behaviour]):
        return 0.0
    return cue.probability(item.reply.text, item.reply_vector)


def _fit(behaviour: Behaviour, items: Sequence[Prepared], strength: float) -> LearnedCue:
    return fit_cue(
        behaviour,
        [item.reply.text for item in items],
        np.vstack([item.reply_vector for item in items]),
        [behaviour in item.reply.shows for item in items],
        strength,
        threshold=0.5,
    )


@dataclass(frozen=True)
class CueChoice:
    """What cross-validation on the fitting replies chose for one behaviour, and why."""

    behaviour: Behaviour
    phrases_kappa: float
    phrases_recall: float
    kappa: float
    recall: float
    strength: float | None
    threshold: float | None


# A cue is kept only if, on its own, it agrees with the labels at least this well in
# cross-validation ("moderate" on Landis and Koch's scale is 0.41 to 0.60).
MIN_CUE_KAPPA = 0.4


def choose_cue(behaviour: Behaviour, items: Sequence[Prepared]) -> CueChoice:
    """Cross-validate each strength and threshold of the cue on its own; keep the best kappa.

    The cue is judged alone, not joined with the phrase rules: the rules were written while
    reading these same replies, so any cross-validation that includes them flatters them and
    would never let a cue in. A cue below MIN_CUE_KAPPA is not kept.
    """
    labels = [behaviour in item.reply.shows for item in items]
    base = agreement(behaviour, labels, [behaviour in item.phrase for item in items])
    best = CueChoice(behaviour, base.kappa, base.recall, -1.0, 0.0, None, None)
    if sum(labels) < FOLDS:
        return replace(best, kappa=0.0)
    for strength in STRENGTHS:
        probabilities = [0.0] * len(items)
        for fold in range(FOLDS):
            training = [item for item in items if item.fold != fold]
            cue = _fit(behaviour, training, strength)
            for index, item in enumerate(items):
                if item.fold == fold:
                    probabilities[index] = _best_probability(cue, item)
        for threshold in CUE_THRESHOLDS:
            found = agreement(behaviour, labels, [q >= threshold for q in probabilities])
            if found.kappa > best.kappa:
                best = CueChoice(
                    behaviour,
                    base.kappa,
                    base.recall,
                    found.kappa,
                    found.recall,
                    strength,
                    threshold,
                )
    if best.kappa < MIN_CUE_KAPPA:
        return replace(best, strength=None, threshold=None)
    return best


def fit_learned(items: Sequence[Prepared], rubric: Rubric) -> tuple[LearnedCues, list[CueChoice]]:
    """The learned cues worth keeping, each fitted on every fitting reply with its chosen settings."""
    choices = [choose_cue(rule.behaviour, items) for rule in rubric.behaviours]
    cues = {}
    for choice in choices:
        if choice.strength is None or choice.threshold is None:
            continue
        cue = _fit(choice.behaviour, items, choice.strength)
        cues[choice.behaviour] = replace(cue, threshold=choice.threshold)
    payload = json.dumps([cues[b].as_json() for b in sorted(cues)], sort_keys=True)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]
    return LearnedCues(digest, cues), choices


def learned_json(learned: LearnedCues, choices: Sequence[CueChoice], fitted_on: int) -> str:
    """The cues as JSON: what was chosen readable line by line, each cue's numbers on one line."""
    header = {
        "version": learned.version,
        "fitted_on": fitted_on,
        "choices": [
            {
                "behaviour": c.behaviour.value,
                "phrases_kappa": c.phrases_kappa,
                "phrases_recall": c.phrases_recall,
                "kappa": c.kappa,
                "recall": c.recall,
                "strength": c.strength,
                "threshold": c.threshold,
            }
            for c in choices
        ],
    }
    lines = json.dumps(header, indent=1)[:-2]
    cues = ",\n".join(
        json.dumps(learned.cues[b].as_json(), separators=(",", ":")) for b in sorted(learned.cues)
    )
    return f'{lines},\n "cues": [\n{cues}\n ]\n}}\n'


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
