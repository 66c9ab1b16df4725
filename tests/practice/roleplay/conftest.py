from __future__ import annotations

import pytest

from followthrough.practice.roleplay.embedding import load_embedder
from followthrough.practice.roleplay.rubric import default_rubric
from followthrough.practice.roleplay.scoring import ScoringModel, prepare


@pytest.fixture(scope="session")
def model() -> ScoringModel:
    # The real shipped model, loaded from the wheel with downloads disabled.
    return prepare(default_rubric(), load_embedder())
