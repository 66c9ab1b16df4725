"""The simulation engine: scenarios, one replication, many replications with intervals."""

from followthrough.practice.sim.engine import DepartmentResult, JourneyResult, RunResult, simulate
from followthrough.practice.sim.replications import (
    Summary,
    dask_executor,
    process_executor,
    run_replications,
)
from followthrough.practice.sim.scenario import (
    InvalidScenario,
    Scenario,
    load_scenario,
    parse_scenario,
)
from followthrough.practice.sim.stats import Estimate, estimate

__all__ = [
    "DepartmentResult",
    "Estimate",
    "InvalidScenario",
    "JourneyResult",
    "RunResult",
    "Scenario",
    "Summary",
    "dask_executor",
    "estimate",
    "load_scenario",
    "parse_scenario",
    "process_executor",
    "run_replications",
    "simulate",
]
