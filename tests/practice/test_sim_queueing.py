"""The event engine against exact queueing theory. Long runs, fixed seeds.

Each check asks for the estimate within 2% of the exact value and for a confidence interval
narrow enough that the 2% check has teeth.
"""

import numpy as np
import pytest

from followthrough.practice.sim.queueing import simulate_mmc, simulate_network
from followthrough.practice.sim.stats import estimate
from followthrough.practice.sim.theory import jackson_network, mmc_station

pytestmark = pytest.mark.slow  # long runs: started first (tests/conftest.py)

SERVERS, ARRIVAL_RATE, SERVICE_RATE = 3, 2.1, 1.0

NETWORK = {
    "servers": [2, 3, 1],
    "service_rates": [1.0, 1.5, 2.0],
    "external_rates": [1.0, 0.5, 0.3],
    "routing": [[0.0, 0.5, 0.3], [0.0, 0.0, 0.6], [0.2, 0.0, 0.0]],
}


def assert_close(values: list[float], exact: float) -> None:
    measured = estimate(values)
    assert measured.half_width < 0.0125 * exact
    assert measured.mean == pytest.approx(exact, rel=0.02)


@pytest.fixture(scope="module")
def mmc_runs() -> list:
    streams = np.random.default_rng(20240601).spawn(16)
    return [simulate_mmc(SERVERS, ARRIVAL_RATE, SERVICE_RATE, 500_000, g, 5_000) for g in streams]


@pytest.fixture(scope="module")
def network_runs() -> list:
    streams = np.random.default_rng(20240602).spawn(8)
    return [simulate_network(**NETWORK, duration=400_000, rng=g, warmup=1_000) for g in streams]


def test_mmc_mean_wait_matches_erlang_c(mmc_runs: list) -> None:
    exact = mmc_station(SERVERS, ARRIVAL_RATE, SERVICE_RATE)
    assert_close([r.mean_wait for r in mmc_runs], exact.mean_wait)


def test_mmc_chance_of_waiting_matches_erlang_c(mmc_runs: list) -> None:
    exact = mmc_station(SERVERS, ARRIVAL_RATE, SERVICE_RATE)
    assert_close([r.probability_of_wait for r in mmc_runs], exact.probability_of_wait)


def test_event_loop_station_matches_erlang_c() -> None:
    exact = mmc_station(SERVERS, ARRIVAL_RATE, SERVICE_RATE)
    streams = np.random.default_rng(7).spawn(6)
    runs = [
        simulate_network([SERVERS], [SERVICE_RATE], [ARRIVAL_RATE], [[0.0]], 300_000, g, 500)
        for g in streams
    ]
    assert_close([r.mean_sojourn for r in runs], exact.mean_sojourn)


@pytest.mark.parametrize("station", [0, 1, 2])
def test_jackson_network_number_in_system_matches_product_form(
    network_runs: list, station: int
) -> None:
    exact = jackson_network(**NETWORK).stations[station].mean_in_system
    assert_close([r.mean_in_system[station] for r in network_runs], exact)


def test_jackson_network_mean_sojourn_matches_product_form(network_runs: list) -> None:
    exact = jackson_network(**NETWORK).mean_sojourn
    assert_close([r.mean_sojourn for r in network_runs], exact)


@pytest.mark.parametrize("station", [0, 1, 2])
def test_littles_law_holds_at_every_station(network_runs: list, station: int) -> None:
    for run in network_runs:
        little = run.throughput[station] * run.mean_sojourn_at[station]
        assert run.mean_in_system[station] == pytest.approx(little, rel=0.01)


def test_same_seed_gives_identical_runs() -> None:
    first = simulate_network(**NETWORK, duration=2_000, rng=np.random.default_rng(3))
    second = simulate_network(**NETWORK, duration=2_000, rng=np.random.default_rng(3))
    assert first == second
    assert simulate_mmc(2, 1.0, 1.0, 5_000, np.random.default_rng(3)) == simulate_mmc(
        2, 1.0, 1.0, 5_000, np.random.default_rng(3)
    )


def test_different_seeds_give_different_runs() -> None:
    first = simulate_network(**NETWORK, duration=2_000, rng=np.random.default_rng(3))
    second = simulate_network(**NETWORK, duration=2_000, rng=np.random.default_rng(4))
    assert first.mean_sojourn != second.mean_sojourn


def test_each_customer_counts_arrival_start_and_departure() -> None:
    run = simulate_mmc(2, 1.0, 1.0, 1_000, np.random.default_rng(1))
    assert run.events == 3_000
