"""Scoring a free-text turn against the rubric: which behaviours it shows, and where.

`score_reply(text, model)` is pure given its arguments: the same text, rubric and model give the
same scores (static embeddings and fixed weights, no sampling). Each behaviour is seen in one of
two ways, both explained by the sentence that earned or lost the point:

- a phrase rule matches (unless a negation right before it, sarcasm in the sentence, or for a
  deflection a refusal to deflect, cancels it);
- or the behaviour's learned cue (`learned`: words and embedding, fitted on the labelled set)
  gives the sentence at least its calibrated probability, with the same gates.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain
from typing import Any

from followthrough.practice.roleplay.embedding import Embedder, load_embedder
from followthrough.practice.roleplay.learned import LearnedCue, load_learned
from followthrough.practice.roleplay.rubric import (
    NEGATION,
    QUESTION_OPENING,
    REFUSED_DEFLECTION,
    SARCASM,
    SARCASTIC_OWNING,
    TIME,
    Behaviour,
    BehaviourRule,
    Block,
    Rubric,
    default_rubric,
)

SENTENCE = re.compile(r"[^.?!;\n]+(?:[.?!;]+|\n|$)")
# Where a negation's reach ends: a comma, colon or dash between clauses.
CLAUSE_BREAK = re.compile(r"[,:\u2013\u2014]|\s-\s")
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
    KEPT = "kept"
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
    # The learned cue's probability for the whole reply (0 to 1; 0 when the behaviour has no
    # learned cue or no sentence may count): shown "in other words" at its calibrated threshold.
    confidence: float

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
    Evidence.KEPT: "passed on in words, but the speaker takes it on",
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
                    "confidence": s.confidence,
                }
                for s in self.behaviours
            ],
        }


@dataclass(frozen=True)
class ScoringModel:
    """The rubric made ready to score: patterns compiled, with the embedder and learned cues."""

    rubric: Rubric
    embedder: Embedder
    cues: dict[Behaviour, tuple[re.Pattern[str], ...]]
    learned: dict[Behaviour, LearnedCue]
    # The rubric's version, and the learned cues' when there are any: kept with every score.
    version: str


def prepare(
    rubric: Rubric,
    embedder: Embedder,
    learned: dict[Behaviour, LearnedCue] | None = None,
    learned_version: str = "",
) -> ScoringModel:
    """Compile the rubric's phrases once, for many turns; no learned cues means phrases only."""
    cues = {
        rule.behaviour: tuple(re.compile(cue, re.IGNORECASE) for cue in rule.cues)
        for rule in rubric.behaviours
    }
    version = (
        f"{rubric.version}+{learned_version}" if learned and learned_version else rubric.version
    )
    return ScoringModel(rubric, embedder, cues, dict(learned or {}), version)


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
    # Within the phrase's own clause: "It's not the system's fault, it's mine" owns it.
    clause = CLAUSE_BREAK.split(sentence[:at])[-1]
    words = clause.split()[-NEGATION_WINDOW_WORDS:]
    return bool(NEGATION.search(" ".join(words)))


def _negated_after(sentence: str, end: int) -> bool:
    # "I will not call", "I'll never get": a negation straight after the cue's subject and verb.
    following = sentence[end:].split()[:1]
    return bool(following) and bool(NEGATION.fullmatch(following[0].strip(",.;:!?")))


@dataclass(frozen=True)
class _Finding:
    evidence: Evidence
    span: Span


# Between an ownership phrase and a later deflection in one sentence, these let the deflection
# stand: "I'll look at it, but really it was the night shift" passes it on after all.
CONTRAST = re.compile(r"\b(but|though|although|however|yet|except|only)\b", re.IGNORECASE)


def ownership_positions(model: ScoringModel, parts: Sequence[Span]) -> tuple[int, ...]:
    """Where the reply takes the problem on in so many words: the start (in the reply) of each
    ownership phrase that no negation or sarcasm turns around."""
    rule = next(
        (r for r in model.rubric.behaviours if r.behaviour is Behaviour.TAKES_OWNERSHIP), None
    )
    if rule is None:
        return ()
    positions = []
    for part in parts:
        if SARCASM.search(part.text):
            continue
        for pattern in model.cues[rule.behaviour]:
            for match in pattern.finditer(part.text):
                if rule.negatable and (
                    _negated_before(part.text, match.start())
                    or _negated_after(part.text, match.end())
                ):
                    continue
                positions.append(part.start + match.start())
    return tuple(sorted(positions))


def _kept(sentence: Span, at: int, owned: Sequence[int]) -> bool:
    """Whether a deflection phrase at `at` (in the sentence) is taken back by the speaker taking
    it on: "It's not my department, but I'll own it", "Finance usually handle payments, but
    I'll chase them myself". Ownership said after it takes it back; said before it, only in the
    same sentence and with no "but" between."""
    position = sentence.start + at
    for owning in owned:
        if owning > position:
            return True
        if owning >= sentence.start and not CONTRAST.search(
            sentence.text[owning - sentence.start : at]
        ):
            return True
    return False


def _phrase_finding(
    rule: BehaviourRule,
    patterns: Sequence[re.Pattern[str]],
    sentence: Span,
    owned: Sequence[int] = (),
) -> _Finding | None:
    """The best phrase evidence in one sentence: a clean match, else why a match did not count.
    `owned`: where the reply takes the problem on (`ownership_positions`), for a deflection."""
    blocked: _Finding | None = None
    text = sentence.text
    matches: Iterable[re.Match[str]] = (m for pattern in patterns for m in pattern.finditer(text))
    if rule.points < 0 and SARCASM.search(text):
        # Said sarcastically, "obviously part of my job" means it is not.
        matches = chain(matches, SARCASTIC_OWNING.finditer(text))
    for match in matches:
        if rule.points < 0:
            refusal = REFUSED_DEFLECTION.search(text[: match.end()])
            if (
                refusal
                and refusal.start() < match.start() + 1
                # "I wouldn't say no if it were up to me, but it's up to the panel": a refusal
                # before a "but" does not cover what comes after it.
                and not CONTRAST.search(text[refusal.end() : match.start()])
            ):
                blocked = blocked or _Finding(Evidence.REFUSED, sentence)
                continue
            if _kept(sentence, match.start(), owned):
                blocked = blocked or _Finding(Evidence.KEPT, sentence)
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


def meaning_allowed(
    rule: BehaviourRule, sentence: str, engaged: bool = False, deflected: bool = False
) -> bool:
    """Whether a sentence may show the behaviour in other words: the phrase rules' gates. A
    deflection is not heard in other words in a reply that shows, in so many words, the speaker
    working on the problem (`engaged`: see ENGAGING); nor ownership in one that passes it on in
    so many words (`deflected`: "I'll forward your email to underwriting; after that it's over
    to them")."""
    if rule.points < 0:
        return not engaged and not REFUSED_DEFLECTION.search(sentence)
    if deflected and rule.behaviour is Behaviour.TAKES_OWNERSHIP:
        return False
    if SARCASM.search(sentence):
        return False
    if rule.negatable and NEGATION.search(sentence):
        return False
    if rule.needs_question and not (_is_question(sentence) or _imperative_ask(sentence)):
        return False
    return not (rule.needs_time and not TIME.search(sentence))


# Shown in so many words, these mean the speaker is working on the person's problem: owning it,
# saying it back, asking about it, meeting their feeling, bringing in the customer. A deflection
# is then heard only in so many words too, never from the learned cue alone, whose deflection
# cue is the weakest (it mistakes a restated runaround or a question about another team for one).
ENGAGING = frozenset(
    {
        Behaviour.TAKES_OWNERSHIP,
        Behaviour.RESTATES,
        Behaviour.ASKS_NEED,
        Behaviour.ACKNOWLEDGES_FEELING,
        Behaviour.CUSTOMER_VIEW,
    }
)


def score_reply(text: str, model: ScoringModel) -> TurnScore:
    """Score one reply on every behaviour of the model's rubric, each with its quoted sentence."""
    text = text[:MAX_REPLY_CHARS]
    parts = sentences(text)
    # One vector per sentence, and the whole reply's last: the learned cues were fitted on
    # whole replies, so they decide on the whole reply and quote its likeliest sentence.
    vectors = model.embedder.embed([part.text for part in parts] + [text])
    owned = ownership_positions(model, parts)
    # First what the phrase rules hear, then the learned cues (whose gates depend on it).
    heard: dict[Behaviour, tuple[_Finding | None, _Finding | None]] = {}
    for rule in model.rubric.behaviours:
        phrase: _Finding | None = None
        blocked: _Finding | None = None
        for part in parts:
            finding = _phrase_finding(rule, model.cues[rule.behaviour], part, owned)
            if finding is not None and finding.evidence is Evidence.PHRASE:
                phrase = phrase or finding
            elif finding is not None and blocked is None:
                blocked = finding
        heard[rule.behaviour] = (phrase, blocked)
    engaged = any(heard[b][0] is not None for b in ENGAGING if b in heard)
    deflected = any(
        heard[r.behaviour][0] is not None for r in model.rubric.behaviours if r.points < 0
    )
    scores = []
    for rule in model.rubric.behaviours:
        phrase, blocked = heard[rule.behaviour]
        cue = model.learned.get(rule.behaviour)
        likeliest: Span | None = None
        likeliest_probability = -1.0
        for index, part in enumerate(parts):
            if cue is not None and meaning_allowed(rule, part.text, engaged, deflected):
                probability = cue.probability(part.text, vectors[index])
                if probability > likeliest_probability:
                    likeliest, likeliest_probability = part, probability
        confidence = (
            cue.probability(text, vectors[-1]) if cue is not None and likeliest is not None else 0.0
        )
        if phrase is not None:
            scores.append(_score(rule, True, phrase, confidence))
        elif cue is not None and likeliest is not None and confidence >= cue.threshold:
            scores.append(_score(rule, True, _Finding(Evidence.MEANING, likeliest), confidence))
        else:
            scores.append(_score(rule, False, blocked, confidence))
    return TurnScore(model.version, model.embedder.name, tuple(scores))


def _score(
    rule: BehaviourRule, present: bool, finding: _Finding | None, confidence: float
) -> BehaviourScore:
    return BehaviourScore(
        behaviour=rule.behaviour,
        block=rule.block,
        title=rule.title,
        present=present,
        points=rule.points if present else 0,
        evidence=finding.evidence if finding else Evidence.NONE,
        span=finding.span if finding else None,
        confidence=round(confidence, 4),
    )


_shipped: list[ScoringModel] = []
_shipped_loading = threading.Lock()


def shipped_model() -> ScoringModel:
    """The shipped rubric, model and learned cues, loaded once per process (1-3 s the first time).

    Threads asking while it loads wait for that one load instead of each loading their own.
    Web endpoints get it through `roleplay.web.ShippedScorer`, which loads it before their unit
    of work opens: a load inside one would hold a transaction (and SQLite's write turn) for
    seconds.
    """
    if not _shipped:
        with _shipped_loading:
            if not _shipped:
                learned = load_learned()
                _shipped.append(
                    prepare(default_rubric(), load_embedder(), learned.cues, learned.version)
                )
    return _shipped[0]


def shipped_model_loaded() -> bool:
    """Whether `shipped_model()` answers at once (the model is loaded in this process)."""
    return bool(_shipped)
