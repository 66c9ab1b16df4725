"""Independent replications, in this process, in worker processes, or on a Dask cluster."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np

from followthrough.practice.sim.engine import RunResult, simulate
from followthrough.practice.sim.scenario import Scenario
from followthrough.practice.sim.stats import Estimate, estimate


@dataclass(frozen=True, slots=True)
class Summary:
    """Replications of one scenario and a confidence interval for every figure."""

    scenario: str
    seed: int
    runs: tuple[RunResult, ...]
    estimates: Mapping[str, Estimate]

    @property
    def events(self) -> int:
        return sum(run.events for run in self.runs)


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """Independent seed sequences, one per replication, all derived from `seed`."""
    return np.random.SeedSequence(seed).spawn(replications)


def run_one(scenario: Scenario, seed: np.random.SeedSequence, days: float | None) -> RunResult:
    """One replication from its own seed; top level so worker processes can import it."""
    return simulate(scenario, np.random.default_rng(seed), days)


def run_replications(
    scenario: Scenario,
    replications: int,
    seed: int = 0,
    *,
    days: float | None = None,
    executor: Executor | None = None,
    on_done: Callable[[int], None] | None = None,
    confidence: float = 0.95,
) -> Summary:
    """Run `replications` independent runs and summarise them.

    Results do not depend on the executor or on completion order: replication i always uses
    the i-th child of `seed`. `on_done(count)` is called as runs finish (for progress bars).
    """
    if replications < 1:
        raise ValueError("at least one replication is needed")
    seeds = replication_seeds(seed, replications)
    results: list[RunResult | None] = [None] * replications
    if executor is None:
        for index, child in enumerate(seeds):
            results[index] = run_one(scenario, child, days)
            if on_done:
                on_done(index + 1)
    else:
        futures: dict[Future[RunResult], int] = {
            executor.submit(run_one, scenario, child, days): index
            for index, child in enumerate(seeds)
        }
        for count, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if on_done:
                on_done(count)
    runs = tuple(r for r in results if r is not None)
    return Summary(scenario.name, seed, runs, summarise(runs, confidence))


def summarise(runs: tuple[RunResult, ...], confidence: float = 0.95) -> dict[str, Estimate]:
    """A t-interval for each figure over the runs."""
    tables = [run.figures() for run in runs]
    return {
        name: estimate([t.get(name, math.nan) for t in tables], confidence) for name in tables[0]
    }


def process_executor(workers: int) -> ProcessPoolExecutor:
    """Worker processes for replications on this machine."""
    return ProcessPoolExecutor(max_workers=workers)


def dask_executor(address: str | None = None) -> Executor:
    """An executor backed by a Dask distributed cluster (`pip install followthrough[cluster]`).

    With no address a local cluster is started. The same `run_replications` call then runs
    each replication as a Dask task.
    """
    try:
        from distributed import Client
    except ImportError as error:  # pragma: no cover - depends on the optional extra
        raise RuntimeError(
            "Dask is not installed; install the cluster extra: pip install 'followthrough[cluster]'"
        ) from error
    client: Any = Client(address) if address else Client(processes=True)
    executor: Executor = client.get_executor()
    return executor
