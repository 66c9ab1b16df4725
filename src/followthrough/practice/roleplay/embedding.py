"""The small embedding model: WordLlama's static token embeddings, shipped inside its wheel.

No network and no torch: the weights (`wordllama/weights/*.safetensors`, 16 MB) and the
tokenizer come with the PyPI package, and downloads are disabled when loading. WordLlama 0.4
looks for its own tokenizer under `tokenizer/` while the wheel ships it under `tokenizers/`;
passing the package folder as the cache folder makes its second lookup find it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

MODEL_NAME = "wordllama l2_supercat 256"


class Embedder(Protocol):
    """Turns sentences into unit vectors (one row per sentence)."""

    name: str

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class WordLlamaEmbedder:
    """WordLlama's inference object, answering with unit-length float32 rows."""

    name = MODEL_NAME

    def __init__(self, inference: Any) -> None:
        self._inference = inference

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, 256), dtype=np.float32)
        vectors = self._inference.embed(list(texts), norm=True)
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=1)
def load_embedder() -> WordLlamaEmbedder:
    """Load the shipped model once per process (about 1-2 s); never downloads anything."""
    # Imported here, not at the top, so only processes that score load it; and wordllama's
    # __init__ calls logging.basicConfig(level=INFO), which would start printing every
    # library's INFO lines: the root logger is put back as it was.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import wordllama

    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)

    package_folder = Path(wordllama.__file__).parent
    inference = wordllama.WordLlama.load(
        "l2_supercat", cache_dir=package_folder, dim=256, disable_download=True
    )
    return WordLlamaEmbedder(inference)
