"""The same replications on a Dask cluster as in this process: identical figures."""

from __future__ import annotations

import pytest

from followthrough.practice.sim.replications import dask_executor, run_replications
from followthrough.practice.sim.scenario import load_scenario

distributed = pytest.importorskip("distributed")


def test_a_dask_cluster_gives_the_same_summary_as_this_process() -> None:
    scenario = load_scenario("insurance")
    here = run_replications(scenario, 3, seed=11, days=30)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        executor = dask_executor(cluster.scheduler_address)
        try:
            on_dask = run_replications(scenario, 3, seed=11, days=30, executor=executor)
        finally:
            executor.shutdown()
            executor._client.close()  # type: ignore[attr-defined]
    assert on_dask == here
