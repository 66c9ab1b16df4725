"""Random numbers drawn from numpy in batches and handed out one at a time, fast.

`Streams` gives every department and kind of draw its own generator, found by a stable key
rather than by the order generators were made, so a change in one department cannot move the
numbers another department draws.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from itertools import chain, repeat

import numpy as np
import numpy.typing as npt

BATCH = 4096

Draw = Callable[[], float]


def _key_word(part: str) -> int:
    # A stable 64-bit number for a key part; Python's hash() changes between processes.
    return int.from_bytes(hashlib.blake2b(part.encode(), digest_size=8).digest(), "big")


class Streams:
    """Independent generators by key, e.g. `("claims", "accept")` or `("it", "work", "fix")`.

    Each key's generator is the root's child at a spawn key made from the key's words, so the
    same root and key always give the same numbers, whatever else was asked for before.
    """

    def __init__(self, root: np.random.SeedSequence) -> None:
        self._root = root

    @classmethod
    def from_generator(cls, rng: np.random.Generator) -> Streams:
        """Streams rooted in one draw from `rng` (so each call on the same `rng` differs)."""
        entropy = rng.integers(0, 2**63, size=2, dtype=np.uint64)
        return cls(np.random.SeedSequence([int(word) for word in entropy]))

    def generator(self, *key: str) -> np.random.Generator:
        """The generator of one (department, kind[, detail]) key."""
        words = tuple(_key_word(part) for part in key)
        child = np.random.SeedSequence(
            self._root.entropy, spawn_key=(*self._root.spawn_key, *words)
        )
        return np.random.default_rng(child)


def stream(sample: Callable[[int], npt.NDArray[np.float64]], size: int = BATCH) -> Draw:
    """A zero-argument function returning the next draw; numpy is called once per `size`.

    `chain.from_iterable` over lists hands out each draw in C; Python runs once per batch.
    """
    batches: Iterator[list[float]] = (sample(size).tolist() for _ in repeat(None))
    return chain.from_iterable(batches).__next__


def exponential(rng: np.random.Generator, mean: float, size: int = BATCH) -> Draw:
    """Exponential draws with the given mean."""
    return stream(lambda n: rng.exponential(mean, n), size)


def uniform(rng: np.random.Generator, size: int = BATCH) -> Draw:
    """Uniform draws on [0, 1)."""
    return stream(rng.random, size)


def work_time(rng: np.random.Generator, mean: float, cv: float, size: int = BATCH) -> Draw:
    """Service times with a mean and coefficient of variation.

    cv = 0 is a fixed time, cv = 1 exponential, anything else a gamma distribution with
    that mean and cv (gamma covers the skewed shapes seen in office work).
    """
    if mean <= 0:
        raise ValueError("a mean service time must be positive")
    if cv == 0:
        return stream(lambda n: np.full(n, mean), size)
    if cv == 1:
        return exponential(rng, mean, size)
    shape = 1.0 / (cv * cv)
    return stream(lambda n: rng.gamma(shape, mean / shape, n), size)


def resampled(
    rng: np.random.Generator, mean: float, values: Sequence[float], size: int = BATCH
) -> Draw:
    """Draws of one of `values` at a time, each equally likely, scaled so their mean is `mean`
    (an empirical distribution: any shape, however long its tail)."""
    if mean <= 0:
        raise ValueError("a mean time must be positive")
    table = np.asarray(values, dtype=np.float64)
    total = float(table.mean()) if table.size else 0.0
    if not total > 0:
        raise ValueError("a shape needs a value above 0")
    table = table * (mean / total)
    return stream(lambda n: table[rng.integers(0, table.size, n)], size)
