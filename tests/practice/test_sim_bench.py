"""The SimPy model in bench/sim.py is the same model as the engine, so the speed-up it reports
compares like with like: same case times, same kinds and numbers of events."""

import numpy as np
import pytest
from bench.sim import SimpyCompany

from followthrough.practice.sim.calendar import HOURS_PER_DAY
from followthrough.practice.sim.engine import RunResult, simulate
from followthrough.practice.sim.scenario import Scenario, load_scenario
from followthrough.practice.sim.stats import Estimate, estimate

DAYS, REPLICATIONS = 60.0, 20


@pytest.fixture(scope="module")
def insurance() -> Scenario:
    return load_scenario("insurance")


def mean_days(result: RunResult) -> float:
    closed = sum(j.cases_closed for j in result.journeys)
    return sum(j.mean_days * j.cases_closed for j in result.journeys) / closed


def within_each_other(first: Estimate, second: Estimate) -> bool:
    return (
        abs(first.mean - second.mean) <= first.half_width
        and abs(first.mean - second.mean) <= second.half_width
    )


@pytest.mark.slow
def test_simpy_model_gives_the_engines_case_days_and_events(insurance: Scenario) -> None:
    ours: list[RunResult] = [
        simulate(insurance, g, days=DAYS) for g in np.random.default_rng(31).spawn(REPLICATIONS)
    ]
    theirs: list[SimpyCompany] = []
    for g in np.random.default_rng(32).spawn(REPLICATIONS):
        company = SimpyCompany(insurance, g)
        company.run(DAYS)
        theirs.append(company)

    assert within_each_other(
        estimate([mean_days(r) for r in ours]),
        estimate([sum(c.case_hours) / len(c.case_hours) / HOURS_PER_DAY for c in theirs]),
    )
    assert within_each_other(
        estimate([float(r.events) for r in ours]), estimate([float(c.events) for c in theirs])
    )
