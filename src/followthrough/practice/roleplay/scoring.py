"""Scoring a free-text turn against the rubric: which behaviours it shows, and where.

`score_reply(text, model)` is pure given its arguments: the same text, rubric and model give the
same scores (the model is static embeddings, with no sampling). Each behaviour is seen in one of
two ways, both explained by the sentence that earned or lost the point:

- a phrase rule matches (unless a negation right before it, sarcasm in the sentence, or for a
  deflection a refusal to deflect, cancels it);
- or the sentence is close in meaning to one of the behaviour's examples (cosine similarity of
  the embeddings at least the calibrated threshold), with the same gates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from followthrough.practice.roleplay.embedding import Embedder
from followthrough.practice.roleplay.rubric import (
    NEGATION,
    QUESTION_OPENING,
    REFUSED_DEFLECTION,
    SARCASM,
    TIME,
    Behaviour,
    BehaviourRule,
    Block,
    Rubric,
)

SENTENCE = re.compile(r"[^.?!;\n]+(?:[.?!;]+|\n|$)")
# How far back a negation turns a phrase around: "I won't be able to call" but not a "no" three
# clauses earlier.
NEGATION_WINDOW_WORDS = 4
MAX_REPLY_CHARS = 4000


class Evidence(StrEnum):
    PHRASE = "phrase"
    MEANING = "meaning"
    NEGATED = "negated"
    SARCASM = "sarcasm"
    REFUSED = "refused"
    MISSING_TIME = "missing_time"
    NONE = "none"


@dataclass(frozen=True)
class Span:
    """A quoted part of the reply: characters [start, end) of the text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class BehaviourScore:
    behaviour: Behaviour
    block: Block
    title: str
    present: bool
    # What it earned: +1 for a behaviour shown, -1 for a deflection, 0 otherwise.
    points: int
    evidence: Evidence
    span: Span | None
    # The closest any sentence that may count came to the behaviour's examples (0 to 1): the
    # behaviour is shown "in other words" when this reaches the rubric's threshold.
    similarity: float

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self.evidence]


_EXPLANATIONS = {
    Evidence.PHRASE: "said in so many words",
    Evidence.MEANING: "said in other words",
    Evidence.NEGATED: "said, but turned around by a negation",
    Evidence.SARCASM: "said, but sarcastically",
    Evidence.REFUSED: "mentioned only to refuse it",
    Evidence.MISSING_TIME: "a next step, but no time",
    Evidence.NONE: "not heard",
}


@dataclass(frozen=True)
class TurnScore:
    rubric_version: str
    model_name: str
    behaviours: tuple[BehaviourScore, ...]

    def present(self, behaviour: Behaviour) -> bool:
        return any(s.present for s in self.behaviours if s.behaviour is behaviour)

    def block_points(self, block: Block) -> int:
        return sum(s.points for s in self.behaviours if s.block is block)

    @property
    def total(self) -> int:
        return sum(s.points for s in self.behaviours)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rubric_version": self.rubric_version,
            "model": self.model_name,
            "total": self.total,
            "blocks": {block.value: self.block_points(block) for block in Block},
            "behaviours": [
                {
                    "behaviour": s.behaviour.value,
                    "block": s.block.value,
                    "title": s.title,
                    "present": s.present,
                    "points": s.points,
                    "evidence": s.evidence.value,
                    "explanation": s.explanation,
                    "span": None
                    if s.span is None
                    else {"start": s.span.start, "end": s.span.end, "text": s.span.text},
                    "similarity": s.similarity,
                }
                for s in self.behaviours
            ],
        }


@dataclass(frozen=True)
class ScoringModel:
    """The rubric made ready to score: patterns compiled, example phrasings embedded."""

    rubric: Rubric
    embedder: Embedder
    cues: dict[Behaviour, tuple[re.Pattern[str], ...]]
    examples: dict[Behaviour, NDArray[np.float32]]


def prepare(rubric: Rubric, embedder: Embedder) -> ScoringModel:
    """Compile the rubric's phrases and embed its examples once, for many turns."""
    cues = {
        rule.behaviour: tuple(re.compile(cue, re.IGNORECASE) for cue in rule.cues)
        for rule in rubric.behaviours
    }
    examples = {rule.behaviour: embedder.embed(rule.examples) for rule in rubric.behaviours}
    return ScoringModel(rubric, embedder, cues, examples)


def sentences(text: str) -> list[Span]:
    """The reply cut into sentences (and clauses ended by ';'), with their positions."""
    spans = []
    for match in SENTENCE.finditer(text):
        raw = match.group()
        stripped = raw.strip()
        if not stripped or not any(ch.isalnum() for ch in stripped):
            continue
        start = match.start() + (len(raw) - len(raw.lstrip()))
        spans.append(Span(start, start + len(stripped), stripped))
    return spans


def _is_question(sentence: str) -> bool:
    # "What I'm hearing is..." opens like a question but ends as a statement.
    ending = sentence.rstrip()[-1:]
    return ending == "?" or (ending not in ".!" and bool(QUESTION_OPENING.match(sentence)))


def _negated_before(sentence: str, at: int) -> bool:
    words = sentence[:at].split()[-NEGATION_WINDOW_WORDS:]
    return bool(NEGATION.search(" ".join(words)))


def _negated_after(sentence: str, end: int) -> bool:
    # "I will not call", "I'll never get": a negation straight after the cue's subject and verb.
    following = sentence[end:].split()[:1]
    return bool(following) and bool(NEGATION.fullmatch(following[0].strip(",.;:!?")))


@dataclass(frozen=True)
class _Finding:
    evidence: Evidence
    span: Span


def _phrase_finding(
    rule: BehaviourRule, patterns: Sequence[re.Pattern[str]], sentence: Span
) -> _Finding | None:
    """The best phrase evidence in one sentence: a clean match, else why a match did not count."""
    blocked: _Finding | None = None
    text = sentence.text
    for pattern in patterns:
        for match in pattern.finditer(text):
            if rule.points < 0:
                refusal = REFUSED_DEFLECTION.search(text[: match.end()])
                if refusal and refusal.start() < match.start() + 1:
                    blocked = blocked or _Finding(Evidence.REFUSED, sentence)
                    continue
            else:
                if SARCASM.search(text):
                    blocked = blocked or _Finding(Evidence.SARCASM, sentence)
                    continue
                if rule.negatable and (
                    _negated_before(text, match.start()) or _negated_after(text, match.end())
                ):
                    blocked = blocked or _Finding(Evidence.NEGATED, sentence)
                    continue
            if rule.needs_question and not _is_question(text) and not _imperative_ask(text):
                continue
            if rule.needs_time and not TIME.search(text):
                blocked = blocked or _Finding(Evidence.MISSING_TIME, sentence)
                continue
            return _Finding(Evidence.PHRASE, sentence)
    return blocked


def _imperative_ask(sentence: str) -> bool:
    return bool(re.match(r"\s*(please )?(tell|talk|walk|help) me\b", sentence, re.IGNORECASE))


def _meaning_allowed(rule: BehaviourRule, sentence: str) -> bool:
    if rule.points < 0:
        return not REFUSED_DEFLECTION.search(sentence)
    if SARCASM.search(sentence):
        return False
    if rule.negatable and NEGATION.search(sentence):
        return False
    if rule.needs_question and not (_is_question(sentence) or _imperative_ask(sentence)):
        return False
    return not (rule.needs_time and not TIME.search(sentence))


def score_reply(text: str, model: ScoringModel) -> TurnScore:
    """Score one reply on every behaviour of the model's rubric, each with its quoted sentence."""
    text = text[:MAX_REPLY_CHARS]
    parts = sentences(text)
    vectors = model.embedder.embed([part.text for part in parts])
    scores = []
    for rule in model.rubric.behaviours:
        threshold = model.rubric.thresholds.get(rule.behaviour, 2.0)
        # Rounded so that the last bits of a float sum never decide a point.
        similarities = (
            np.round(vectors @ model.examples[rule.behaviour].T, 4).max(axis=1)
            if len(parts)
            else np.zeros(0, dtype=np.float32)
        )
        phrase: _Finding | None = None
        blocked: _Finding | None = None
        closest: Span | None = None
        closest_similarity = 0.0
        for index, part in enumerate(parts):
            finding = _phrase_finding(rule, model.cues[rule.behaviour], part)
            if finding is not None and finding.evidence is Evidence.PHRASE:
                phrase = phrase or finding
            elif finding is not None and blocked is None:
                blocked = finding
            similarity = float(similarities[index])
            if similarity > closest_similarity and _meaning_allowed(rule, part.text):
                closest, closest_similarity = part, similarity
        if phrase is not None:
            scores.append(_score(rule, True, phrase, closest_similarity))
        elif closest is not None and closest_similarity >= threshold:
            scores.append(
                _score(rule, True, _Finding(Evidence.MEANING, closest), closest_similarity)
            )
        else:
            scores.append(_score(rule, False, blocked, closest_similarity))
    return TurnScore(model.rubric.version, model.embedder.name, tuple(scores))


def _score(
    rule: BehaviourRule, present: bool, finding: _Finding | None, similarity: float
) -> BehaviourScore:
    return BehaviourScore(
        behaviour=rule.behaviour,
        block=rule.block,
        title=rule.title,
        present=present,
        points=rule.points if present else 0,
        evidence=finding.evidence if finding else Evidence.NONE,
        span=finding.span if finding else None,
        similarity=round(similarity, 4),
    )
