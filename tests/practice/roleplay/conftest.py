from __future__ import annotations

import pytest

from followthrough.practice.roleplay.scoring import ScoringModel, shipped_model


@pytest.fixture(scope="session")
def model() -> ScoringModel:
    # The real shipped model and learned cues, loaded from the wheels with downloads disabled.
    return shipped_model()
