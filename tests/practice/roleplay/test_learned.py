from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from followthrough.practice.roleplay.learned import (
    cue_from_json,
    fit_cue,
    load_learned,
    terms,
)
from followthrough.practice.roleplay.rubric import Behaviour

TEXTS = [
    "Not my department, ask claims.",
    "That's one for finance, not us.",
    "Leave it with me, I'll sort it.",
    "I'll call you back at three.",
    "You'll have to ring the broker.",
    "Thanks, I'll take it from here.",
]
LABELS = [True, True, False, False, True, False]


def test_terms_are_words_and_word_pairs() -> None:
    assert terms("Not my JOB.") == ["not", "my", "job", "not my", "my job"]


def test_a_cue_gives_what_scikit_learn_gives_for_the_same_model() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(len(TEXTS), 4)).astype(np.float32)
    cue = fit_cue(Behaviour.DEFLECTS, TEXTS, vectors, LABELS, strength=5.0, threshold=0.5)
    # The same model built directly with scikit-learn, predicting on new text.
    vectorizer = TfidfVectorizer(analyzer=terms, sublinear_tf=True)
    words = vectorizer.fit_transform(TEXTS)
    model = LogisticRegression(C=5.0, class_weight="balanced", max_iter=10_000)
    model.fit(hstack([words, csr_matrix(vectors.astype(np.float64))]).tocsr(), LABELS)
    new = ["Ask claims, not my job at all.", "Something else entirely."]
    new_vectors = rng.normal(size=(2, 4)).astype(np.float32)
    expected = model.predict_proba(
        hstack([vectorizer.transform(new), csr_matrix(new_vectors.astype(np.float64))]).tocsr()
    )[:, 1]
    got = [cue.probability(text, new_vectors[i]) for i, text in enumerate(new)]
    assert got == pytest.approx(list(expected), abs=1e-4)


def test_a_cue_survives_its_json() -> None:
    vectors = np.eye(len(TEXTS), 3, dtype=np.float32)
    cue = fit_cue(Behaviour.DEFLECTS, TEXTS, vectors, LABELS, strength=1.0, threshold=0.4)
    again = cue_from_json(cue.as_json())
    for i, text in enumerate(TEXTS):
        assert again.probability(text, vectors[i]) == pytest.approx(
            cue.probability(text, vectors[i]), abs=2e-4
        )
    assert again.threshold == 0.4


def test_the_shipped_cues_load_with_a_version() -> None:
    learned = load_learned()
    assert len(learned.version) == 8
    for behaviour, cue in learned.cues.items():
        assert cue.behaviour is behaviour
        assert 0 < cue.threshold < 1
        assert len(cue.embedding_weights) == 256
