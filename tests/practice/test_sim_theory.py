import pytest

from followthrough.practice.sim.theory import erlang_c, jackson_network, mmc_station


def test_single_server_waits_with_probability_equal_to_utilisation() -> None:
    assert erlang_c(1, 0.7, 1.0) == pytest.approx(0.7)


def test_mm1_mean_wait_is_rho_over_mu_minus_lambda() -> None:
    station = mmc_station(1, 0.8, 1.0)
    assert station.mean_wait == pytest.approx(0.8 / (1.0 - 0.8))


def test_erlang_c_matches_the_closed_formula_for_two_servers() -> None:
    # For c = 2: P(wait) = 2 rho^2 / (1 + rho), rho = lambda / (2 mu).
    rho = 1.5 / 2
    assert erlang_c(2, 1.5, 1.0) == pytest.approx(2 * rho**2 / (1 + rho))


def test_unstable_queue_is_refused() -> None:
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(2, 2.0, 1.0)


def test_tandem_jackson_network_adds_up_its_stations() -> None:
    network = jackson_network([1, 1], [2.0, 3.0], [1.0, 0.0], [[0.0, 1.0], [0.0, 0.0]])
    first, second = (mmc_station(1, 1.0, 2.0), mmc_station(1, 1.0, 3.0))
    assert network.mean_sojourn == pytest.approx(first.mean_sojourn + second.mean_sojourn)
    assert network.stations[1].arrival_rate == pytest.approx(1.0)


def test_feedback_raises_the_arrival_rate_by_the_traffic_equations() -> None:
    network = jackson_network([1], [4.0], [1.0], [[0.5]])
    assert network.stations[0].arrival_rate == pytest.approx(2.0)
