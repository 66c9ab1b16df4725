"""The SimPy model in bench/sim.py is the same model as the engine, so the speed-up it reports
compares like with like: same case times, same kinds and numbers of events."""

import math

import numpy as np
import pytest
from bench.sim import SimpyCompany

from followthrough.practice.sim.calendar import HOURS_PER_DAY
from followthrough.practice.sim.engine import RunResult, simulate
from followthrough.practice.sim.scenario import Scenario, load_scenario
from followthrough.practice.sim.stats import Estimate, estimate, t_quantile

DAYS, REPLICATIONS = 60.0, 20


@pytest.fixture(scope="module")
def insurance() -> Scenario:
    return load_scenario("insurance")


def mean_days(result: RunResult) -> float:
    closed = sum(j.cases_closed for j in result.journeys)
    return sum(j.mean_days * j.cases_closed for j in result.journeys) / closed


def within_each_other(first: Estimate, second: Estimate) -> bool:
    """The two means do not differ at the 5% level (Welch's two-sample t test).

    Each half-width is t(n-1) standard errors; the difference of the means has the root sum of
    squares of the two, with Welch-Satterthwaite's degrees of freedom (rounded down).
    """
    n = first.replications
    assert second.replications == n
    t_each = t_quantile(0.975, n - 1)
    se_first, se_second = first.half_width / t_each, second.half_width / t_each
    variance = se_first**2 + se_second**2
    df = variance**2 / ((se_first**4 + se_second**4) / (n - 1))
    return abs(first.mean - second.mean) <= t_quantile(0.975, int(df)) * math.sqrt(variance)


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
