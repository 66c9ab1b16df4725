"""Random numbers drawn from numpy in batches and handed out one at a time, fast."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain, repeat

import numpy as np
import numpy.typing as npt

BATCH = 4096

Draw = Callable[[], float]


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
