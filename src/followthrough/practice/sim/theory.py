"""Exact queueing results the engine is validated against: Erlang C and Jackson networks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class StationTheory:
    """Steady-state figures of one M/M/c station."""

    arrival_rate: float
    utilisation: float
    probability_of_wait: float
    mean_wait: float
    mean_sojourn: float
    mean_in_system: float


def erlang_c(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Probability that an arrival to a stable M/M/c queue has to wait (Erlang C)."""
    load = arrival_rate / service_rate
    if servers < 1 or load >= servers:
        raise ValueError("the queue is unstable: arrival rate must be below servers x service rate")
    # The Erlang B recursion avoids the factorials that overflow for large c.
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    utilisation = load / servers
    return blocking / (1.0 - utilisation + utilisation * blocking)


def mmc_station(servers: int, arrival_rate: float, service_rate: float) -> StationTheory:
    """Mean wait, sojourn and number in system of an M/M/c queue in steady state."""
    waiting = erlang_c(servers, arrival_rate, service_rate)
    mean_wait = waiting / (servers * service_rate - arrival_rate)
    mean_sojourn = mean_wait + 1.0 / service_rate
    return StationTheory(
        arrival_rate=arrival_rate,
        utilisation=arrival_rate / (servers * service_rate),
        probability_of_wait=waiting,
        mean_wait=mean_wait,
        mean_sojourn=mean_sojourn,
        mean_in_system=arrival_rate * mean_sojourn,
    )


@dataclass(frozen=True, slots=True)
class JacksonTheory:
    """Product-form solution of an open Jackson network."""

    stations: tuple[StationTheory, ...]
    mean_in_network: float
    mean_sojourn: float


def jackson_network(
    servers: Sequence[int],
    service_rates: Sequence[float],
    external_rates: Sequence[float],
    routing: Sequence[Sequence[float]],
) -> JacksonTheory:
    """Solve the traffic equations and treat each station as an independent M/M/c queue.

    `routing[i][j]` is the chance a customer leaving station i goes to j; the rest leave.
    """
    size = len(servers)
    matrix = np.asarray(routing, dtype=float).reshape(size, size)
    gamma = np.asarray(external_rates, dtype=float)
    # Traffic equations: lambda = gamma + P^T lambda.
    rates = np.linalg.solve(np.eye(size) - matrix.T, gamma)
    stations = tuple(
        mmc_station(servers[i], float(rates[i]), service_rates[i]) for i in range(size)
    )
    in_network = math.fsum(s.mean_in_system for s in stations)
    return JacksonTheory(stations, in_network, in_network / float(gamma.sum()))
