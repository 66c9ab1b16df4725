"""A learned cue per behaviour: a linear model over a sentence's words and its embedding.

Phrase rules catch what they were written for and miss new wordings; this catches wordings the
labelled replies taught it. It is logistic regression over TF-IDF word unigrams and bigrams
(sublinear counts, unit length) joined with the sentence's WordLlama vector, fitted with
scikit-learn at calibration time and stored as plain numbers (`data/learned.json`); scoring
reimplements the arithmetic with numpy, so it needs no pickle and gives the same number for the
same text everywhere.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from followthrough.practice.roleplay.rubric import Behaviour

TOKEN = re.compile(r"(?u)\b[\w']+\b")


def terms(text: str) -> list[str]:
    """The words and two-word phrases a learned cue reads, lower-cased."""
    words = TOKEN.findall(text.lower())
    return words + [f"{a} {b}" for a, b in pairwise(words)]


@dataclass(frozen=True)
class LearnedCue:
    behaviour: Behaviour
    vocabulary: Mapping[str, int]
    idf: NDArray[np.float64]
    word_weights: NDArray[np.float64]
    embedding_weights: NDArray[np.float64]
    intercept: float
    threshold: float
    # Fitted with: C (inverse regularisation), and how many replies it learned from.
    strength: float
    fitted_on: int

    def probability(self, text: str, vector: NDArray[np.float32]) -> float:
        """How likely this sentence shows the behaviour (0 to 1), rounded to 4 places."""
        counts = Counter(t for t in terms(text) if t in self.vocabulary)
        score = self.intercept + float(vector.astype(np.float64) @ self.embedding_weights)
        if counts:
            index = np.fromiter((self.vocabulary[t] for t in counts), dtype=np.int64)
            tf = np.fromiter((1.0 + math.log(n) for n in counts.values()), dtype=np.float64)
            weights = tf * self.idf[index]
            norm = float(np.sqrt(weights @ weights))
            score += float(weights @ self.word_weights[index]) / norm
        return round(1.0 / (1.0 + math.exp(-score)), 4)

    def as_json(self) -> dict[str, Any]:
        ordered = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            "behaviour": self.behaviour.value,
            "terms": ordered,
            "idf": [round(float(v), 6) for v in self.idf],
            "word_weights": [round(float(v), 6) for v in self.word_weights],
            "embedding_weights": [round(float(v), 6) for v in self.embedding_weights],
            "intercept": round(self.intercept, 6),
            "threshold": self.threshold,
            "strength": self.strength,
            "fitted_on": self.fitted_on,
        }


def cue_from_json(raw: Mapping[str, Any]) -> LearnedCue:
    return LearnedCue(
        behaviour=Behaviour(raw["behaviour"]),
        vocabulary={term: i for i, term in enumerate(raw["terms"])},
        idf=np.asarray(raw["idf"], dtype=np.float64),
        word_weights=np.asarray(raw["word_weights"], dtype=np.float64),
        embedding_weights=np.asarray(raw["embedding_weights"], dtype=np.float64),
        intercept=float(raw["intercept"]),
        threshold=float(raw["threshold"]),
        strength=float(raw["strength"]),
        fitted_on=int(raw["fitted_on"]),
    )


@dataclass(frozen=True)
class LearnedCues:
    """The cues fitted together, and the name of that fitting (kept with every score)."""

    version: str
    cues: dict[Behaviour, LearnedCue]


def load_learned() -> LearnedCues:
    """The learned cues shipped with the package (none for a behaviour they did not help)."""
    text = resources.files(__package__).joinpath("data/learned.json").read_text("utf-8")
    raw = json.loads(text)
    return LearnedCues(
        str(raw["version"]), {Behaviour(c["behaviour"]): cue_from_json(c) for c in raw["cues"]}
    )


def fit_cue(
    behaviour: Behaviour,
    texts: Sequence[str],
    vectors: NDArray[np.float32],
    labels: Sequence[bool],
    strength: float,
    threshold: float,
) -> LearnedCue:
    """Fit one cue with scikit-learn (calibration only; scoring never imports it)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=terms, sublinear_tf=True, norm="l2")
    words = vectorizer.fit_transform(list(texts))
    features = hstack([words, csr_matrix(vectors.astype(np.float64))]).tocsr()
    model = LogisticRegression(C=strength, class_weight="balanced", max_iter=10_000)
    model.fit(features, np.asarray(labels, dtype=bool))
    n_words = words.shape[1]
    coefficients = model.coef_[0]
    return LearnedCue(
        behaviour=behaviour,
        vocabulary={t: int(i) for t, i in vectorizer.vocabulary_.items()},
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        word_weights=np.asarray(coefficients[:n_words], dtype=np.float64),
        embedding_weights=np.asarray(coefficients[n_words:], dtype=np.float64),
        intercept=float(model.intercept_[0]),
        threshold=threshold,
        strength=strength,
        fitted_on=len(texts),
    )
