"""Plain queueing models: FIFO M/M/c and open networks of M/M/c stations.

These are the engine's calibration points: their exact answers are known (see `theory`), so
they prove the event loop and the random streams are right, and they measure raw speed.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from followthrough.practice.sim import draws


@dataclass(frozen=True, slots=True)
class QueueRun:
    """Measured figures of one M/M/c run (after the warm-up customers)."""

    customers: int
    mean_wait: float
    probability_of_wait: float
    mean_sojourn: float
    events: int


def simulate_mmc(
    servers: int,
    arrival_rate: float,
    service_rate: float,
    customers: int,
    rng: np.random.Generator,
    warmup_customers: int = 0,
) -> QueueRun:
    """A FIFO M/M/c queue, customer by customer.

    With FIFO and identical servers each customer simply takes the earliest-free server, so
    no event list is needed; each customer still stands for three events (arrival, start,
    departure), which is how `events` is counted. The first `warmup_customers` are not
    measured, so at least one customer must come after them.
    """
    if not 0 <= warmup_customers < customers:
        raise ValueError(
            f"the warm-up ({warmup_customers} customers) must leave at least one of the "
            f"{customers} customers to measure"
        )
    arrivals = np.cumsum(rng.exponential(1.0 / arrival_rate, customers)).tolist()
    services = rng.exponential(1.0 / service_rate, customers).tolist()
    free_at = [0.0] * servers
    replace = heapq.heapreplace
    total_wait = 0.0
    total_service = 0.0
    waited = 0
    for index, (arrival, service) in enumerate(zip(arrivals, services, strict=True)):
        first_free = free_at[0]
        if first_free > arrival:
            replace(free_at, first_free + service)
            if index >= warmup_customers:
                total_wait += first_free - arrival
                total_service += service
                waited += 1
        else:
            replace(free_at, arrival + service)
            if index >= warmup_customers:
                total_service += service
    counted = customers - warmup_customers
    return QueueRun(
        customers=counted,
        mean_wait=total_wait / counted,
        probability_of_wait=waited / counted,
        mean_sojourn=(total_wait + total_service) / counted,
        events=3 * customers,
    )


@dataclass(frozen=True, slots=True)
class NetworkRun:
    """Measured figures of one open-network run over the window after the warm-up."""

    mean_in_system: tuple[float, ...]
    mean_sojourn_at: tuple[float, ...]
    throughput: tuple[float, ...]
    mean_sojourn: float
    completed: int
    events: int


_ARRIVE, _DEPART, _WARM, _END = 0, 1, 2, 3


def simulate_network(
    servers: Sequence[int],
    service_rates: Sequence[float],
    external_rates: Sequence[float],
    routing: Sequence[Sequence[float]],
    duration: float,
    rng: np.random.Generator,
    warmup: float = 0.0,
) -> NetworkRun:
    """An open network of FIFO M/M/c stations with Markov routing, as a heapq event loop.

    `routing[i][j]` is the chance a customer leaving station i joins station j; the rest of
    the probability leaves the network. Figures cover (warmup, warmup + duration].
    """
    size = len(servers)
    streams = rng.spawn(2 * size + 1)
    service = [draws.exponential(streams[i], 1.0 / service_rates[i]) for i in range(size)]
    # A station without outside arrivals never schedules one, so its stream is never drawn.
    between = [
        draws.exponential(streams[size + i], 1.0 / rate if rate > 0 else math.inf)
        for i, rate in enumerate(external_rates)
    ]
    uniform = draws.uniform(streams[2 * size])
    # Each station's exits as (cumulative chance, next station); -1 means leaving.
    exits: list[list[tuple[float, int]]] = []
    for row in routing:
        cumulative, choices = 0.0, []
        for target, chance in enumerate(row):
            if chance > 0:
                cumulative += chance
                choices.append((cumulative, target))
        choices.append((math.inf, -1))
        exits.append(choices)

    end = warmup + duration
    events: list[tuple[float, int, int, float, float]] = [(warmup, _WARM, -1, 0.0, 0.0)]
    events.append((end, _END, -1, 0.0, 0.0))
    for station, rate in enumerate(external_rates):
        if rate > 0:
            first = between[station]()
            events.append((first, _ARRIVE, station, first, first))
    heapq.heapify(events)
    push, pop = heapq.heappush, heapq.heappop

    capacity = list(servers)
    busy = [0] * size
    in_system = [0] * size
    area = [0.0] * size
    changed_at = [0.0] * size
    sojourn_at = [0.0] * size
    departed = [0] * size
    waiting: list[deque[tuple[float, float]]] = [deque() for _ in range(size)]
    counting = warmup <= 0.0
    network_time = 0.0
    completed = 0
    arrivals = starts = departures = 0

    while True:
        now, kind, station, entered, here = pop(events)
        if kind == _DEPART:
            departures += 1
            area[station] += in_system[station] * (now - changed_at[station])
            changed_at[station] = now
            in_system[station] -= 1
            if counting:
                sojourn_at[station] += now - here
                departed[station] += 1
            queue = waiting[station]
            if queue:
                starts += 1
                next_entered, next_here = queue.popleft()
                push(events, (now + service[station](), _DEPART, station, next_entered, next_here))
            else:
                busy[station] -= 1
            u = uniform()
            target = -1
            for cumulative, choice in exits[station]:
                if u < cumulative:
                    target = choice
                    break
            if target < 0:
                if counting and entered >= warmup:
                    network_time += now - entered
                    completed += 1
                continue
            station = target
        elif kind == _ARRIVE:
            following = now + between[station]()
            push(events, (following, _ARRIVE, station, following, following))
        elif kind == _WARM:
            counting = True
            for i in range(size):
                area[i] = 0.0
                changed_at[i] = now
            continue
        else:
            for i in range(size):
                area[i] += in_system[i] * (now - changed_at[i])
            break
        # A customer joins `station`, from outside or from the station it just left.
        arrivals += 1
        area[station] += in_system[station] * (now - changed_at[station])
        changed_at[station] = now
        in_system[station] += 1
        if busy[station] < capacity[station]:
            busy[station] += 1
            starts += 1
            push(events, (now + service[station](), _DEPART, station, entered, now))
        else:
            waiting[station].append((entered, now))

    return NetworkRun(
        mean_in_system=tuple(a / duration for a in area),
        mean_sojourn_at=tuple(
            s / d if d else math.nan for s, d in zip(sojourn_at, departed, strict=True)
        ),
        throughput=tuple(d / duration for d in departed),
        mean_sojourn=network_time / completed if completed else math.nan,
        completed=completed,
        events=arrivals + starts + departures,
    )
