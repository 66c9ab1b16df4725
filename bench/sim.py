"""Simulation benchmark: this engine against an equivalent SimPy model, in the same run.

Events are counted the same way in both (`EVENTS_COUNTED`): only the model's events, never an
engine's bookkeeping (department openings in the heapq engine, process start-ups in SimPy).
Each engine is timed in CPU seconds of this process (both are single-threaded, so another
program on the machine slows neither) and in wall seconds, alternately, keeping each one's best
of `ROUNDS`; the speed-up is the ratio of events per CPU second.
"""

from __future__ import annotations

import gc
import math
import time
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy
from rich.console import Console
from rich.table import Table

from followthrough.practice.sim import draws
from followthrough.practice.sim.calendar import (
    HOURS_PER_DAY,
    HOURS_PER_YEAR,
    finish_time,
    next_opening,
)
from followthrough.practice.sim.engine import simulate, turnover_per_year
from followthrough.practice.sim.queueing import simulate_mmc, simulate_network
from followthrough.practice.sim.replications import process_executor, run_replications
from followthrough.practice.sim.scenario import Scenario, load_scenario

SEED = 2024
ROUNDS = 5
EVENTS_COUNTED = (
    "case arrivals, handoff offers (first and after a bounce) and acceptances, work starts and "
    "completions, updates owed to open cases, leavers and their places filled again"
)


class SimpyCompany:
    """The engine's company model written the SimPy way: one process per request and case."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self.env = simpy.Environment()
        self.events = 0
        self.case_hours: list[float] = []
        b = scenario.behaviour
        self.b = b
        self.days = float(scenario.days)
        self.workdays = frozenset(scenario.workdays)
        deps = scenario.departments
        index = {d.id: i for i, d in enumerate(deps)}
        self.hours = [(d.opens, d.closes) for d in deps]
        self.staff = [simpy.PriorityResource(self.env, capacity=d.staff) for d in deps]
        self.vacant = [0] * len(deps)
        self.accept_mean = [b.accept_hours.at(d.ownership) for d in deps]
        self.bounce = [
            [b.bounce.at((s.communication + r.communication) / 2) for r in deps] for s in deps
        ]
        care = [(d.ownership + d.communication) / 2 for d in deps]
        self.keep = [b.update_kept.at(q) for q in care]
        self.complain = [b.complaint_after_miss.at(d.emotional_intelligence) for d in deps]
        self.leave_rate = [
            d.staff * turnover_per_year(scenario, d.engagement) / HOURS_PER_YEAR for d in deps
        ]
        services = scenario.services
        sid = {s.id: i for i, s in enumerate(services)}
        self.service_department = [index[s.department] for s in services]
        self.error = [
            min(1.0, s.error_rate * b.error_factor.at(care[index[s.department]])) for s in services
        ]
        self.found = [s.found_downstream for s in services]
        self.complaint_service = (
            sid[scenario.complaint_service] if scenario.complaint_service else -1
        )
        journeys = scenario.journeys
        self.journeys = [
            (
                [(sid[st.service], [sid[x] for x in st.sub_requests]) for st in j.steps],
                index[j.owner],
                j.update_every_hours if j.external else None,
            )
            for j in journeys
        ]
        # Updates owed, per journey, as in the engine: (due, case state) in time order, walked
        # by one process per journey, so a closed case's reminder is dropped without a timeout.
        self.owed: list[deque[tuple[float, dict[str, bool]]]] = [deque() for _ in journeys]
        streams = rng.spawn(len(journeys) + len(services) + 2)
        self.between = [
            draws.exponential(streams[i], HOURS_PER_DAY / j.per_day) for i, j in enumerate(journeys)
        ]
        self.work = [
            draws.work_time(streams[len(journeys) + i], s.hours, s.cv)
            for i, s in enumerate(services)
        ]
        self.expo = draws.exponential(streams[-2], 1.0)
        self.uniform = draws.uniform(streams[-1])

    def run_year(self) -> None:
        self.run(self.days)

    def run(self, days: float) -> None:
        for journey in range(len(self.journeys)):
            self.env.process(self.arrivals(journey))
        for department, rate in enumerate(self.leave_rate):
            if rate > 0:
                self.env.process(self.leavers(department))
        self.env.run(until=days * HOURS_PER_DAY)

    def arrivals(self, journey: int) -> Generator[Any, Any, None]:
        while True:
            yield self.env.timeout(self.between[journey]())
            self.events += 1
            self.env.process(self.case(journey))

    def leavers(self, department: int) -> Generator[Any, Any, None]:
        # As in the engine: leavers at a full department's rate, each kept with the share of
        # places filled, so an empty place cannot leave again.
        staff = self.staff[department].capacity
        while True:
            yield self.env.timeout(self.expo() / self.leave_rate[department])
            if self.uniform() * staff < staff - self.vacant[department]:
                self.events += 1
                self.vacant[department] += 1
                self.env.process(self.vacancy(department))

    def vacancy(self, department: int) -> Generator[Any, Any, None]:
        with self.staff[department].request(priority=0) as seat:
            yield seat
            yield from self.wait_for_opening(department)
            yield self.env.timeout(self.b.vacancy_days * HOURS_PER_DAY)
            self.events += 1
            self.vacant[department] -= 1

    def wait_for_opening(self, department: int) -> Generator[Any, Any, None]:
        opens, closes = self.hours[department]
        start = next_opening(self.env.now, opens, closes, self.workdays)
        if start > self.env.now:
            yield self.env.timeout(start - self.env.now)

    def request(self, service: int, sender: int) -> Generator[Any, Any, bool]:
        """Offer, accept, queue and do one piece of work; returns whether it has an error."""
        env = self.env
        receiver = self.service_department[service]
        opens, closes = self.hours[receiver]
        while True:
            look = finish_time(
                env.now, self.accept_mean[receiver] * self.expo(), opens, closes, self.workdays
            )
            if self.uniform() < self.bounce[sender][receiver]:
                so, sc = self.hours[sender]
                again = finish_time(look, self.b.reroute_hours * self.expo(), so, sc, self.workdays)
                yield env.timeout(again - env.now)
                self.events += 1
                continue
            yield env.timeout(look - env.now)
            self.events += 1
            break
        with self.staff[receiver].request(priority=1) as seat:
            yield seat
            yield from self.wait_for_opening(receiver)
            self.events += 1
            effort = self.work[service]()
            yield env.timeout(finish_time(env.now, effort, opens, closes, self.workdays) - env.now)
            self.events += 1
        return self.uniform() < self.error[service]

    def case(self, journey: int) -> Generator[Any, Any, None]:
        env = self.env
        steps, owner, cadence = self.journeys[journey]
        opened = env.now
        state = {"open": True}
        if cadence:
            owed = self.owed[journey]
            owed.append((opened + cadence, state))
            if len(owed) == 1:  # no reminder process is running for this journey
                env.process(self.updates(owner, cadence, owed))
        errors: list[int] = []
        for service, subs in steps:
            if subs:
                finished = yield env.all_of([env.process(self.request(s, owner)) for s in subs])
                for sub, wrong in zip(subs, finished.values(), strict=True):
                    if wrong:
                        errors.append(sub)
            while True:
                wrong = yield env.process(self.request(service, owner))
                department = self.service_department[service]
                found = [e for e in errors if self.uniform() < self.found[e]]
                if not found:
                    if wrong:
                        errors.append(service)
                    break
                errors = [e for e in errors if e not in found]
                redone = yield env.all_of([env.process(self.request(e, department)) for e in found])
                for again, wrong_again in zip(found, redone.values(), strict=True):
                    if wrong_again:
                        errors.append(again)
        state["open"] = False
        self.case_hours.append(env.now - opened)

    def updates(
        self, owner: int, cadence: float, owed: deque[tuple[float, dict[str, bool]]]
    ) -> Generator[Any, Any, None]:
        """Give the updates owed to a journey's open cases, in time order, until none are owed.

        The front reminder stays in `owed` while its timeout runs, so an empty `owed` means
        this process has ended.
        """
        while owed:
            due, state = owed[0]
            if state["open"]:
                yield self.env.timeout(due - self.env.now)
            owed.popleft()
            if not state["open"]:
                continue
            self.events += 1
            missed = self.uniform() >= self.keep[owner]
            if missed and self.uniform() < self.complain[owner] and self.complaint_service >= 0:
                self.env.process(self.request(self.complaint_service, owner))
            owed.append((self.env.now + cadence, state))


def simpy_mmc(servers: int, arrival_rate: float, service_rate: float, customers: int) -> int:
    """Plain M/M/c in SimPy; returns the events (arrival, start, departure per customer)."""
    rng = np.random.default_rng(SEED)
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=servers)
    between = draws.exponential(rng, 1.0 / arrival_rate)
    service = draws.exponential(rng, 1.0 / service_rate)
    served = [0]

    def customer() -> Generator[Any, Any, None]:
        with desk.request() as seat:
            yield seat
            yield env.timeout(service())
            served[0] += 1

    def source() -> Generator[Any, Any, None]:
        for _ in range(customers):
            yield env.timeout(between())
            env.process(customer())

    env.process(source())
    env.run()
    return 3 * served[0]


def _timed(work: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def _timed_cpu(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """The result, CPU seconds of this process and wall seconds of one call.

    Garbage left by an earlier run (SimPy's processes and events form cycles) is collected
    first, so neither engine pays for the other's, and everything alive is then frozen out of
    the collector's scans, so neither pays for what this process happened to import.
    """
    gc.collect()
    gc.freeze()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        return result, time.process_time() - cpu, time.perf_counter() - wall
    finally:
        gc.unfreeze()


def run(console: Console) -> None:
    """Print events/s of this engine and SimPy on the insurance scenario and on M/M/c."""
    scenario = load_scenario("insurance")
    days = float(scenario.days)
    console.rule("[bold]Simulation engine benchmark")

    # Alternate the two engines and keep each one's best time, so a busy machine
    # penalises neither.
    ours_cpu = ours_wall = simpy_cpu = simpy_wall = math.inf
    for _ in range(ROUNDS):
        ours, cpu, wall = _timed_cpu(lambda: simulate(scenario, np.random.default_rng(SEED)))
        ours_cpu, ours_wall = min(ours_cpu, cpu), min(ours_wall, wall)
        company = SimpyCompany(scenario, np.random.default_rng(SEED))
        _, cpu, wall = _timed_cpu(company.run_year)
        simpy_cpu, simpy_wall = min(simpy_cpu, cpu), min(simpy_wall, wall)
    simpy_days = sum(company.case_hours) / len(company.case_hours) / HOURS_PER_DAY
    ours_days = sum(j.mean_days * j.cases_closed for j in ours.journeys) / sum(
        j.cases_closed for j in ours.journeys
    )

    table = Table(
        title=f"Insurance scenario, one simulated year ({days:g} days), same seed, "
        f"best of {ROUNDS} each"
    )
    for column in ("Engine", "Events", "CPU s", "Wall s", "Events/CPU s", "Case days"):
        table.add_column(column, justify="left" if column == "Engine" else "right")
    for name, events, cpu, wall, case_days in (
        ("followthrough", ours.events, ours_cpu, ours_wall, ours_days),
        ("SimPy, same model", company.events, simpy_cpu, simpy_wall, simpy_days),
    ):
        table.add_row(
            name,
            f"{events:,}",
            f"{cpu:.3f}",
            f"{wall:.3f}",
            f"{events / cpu:,.0f}",
            f"{case_days:.2f}",
        )
    console.print(table)
    console.print(f"Events counted in both: {EVENTS_COUNTED}.")
    cpu_ratio = (ours.events / ours_cpu) / (company.events / simpy_cpu)
    wall_ratio = (ours.events / ours_wall) / (company.events / simpy_wall)
    console.print(
        f"Speed-up on the scenario: [bold]{cpu_ratio:.2f}x[/] events per CPU second "
        f"({wall_ratio:.2f}x events per wall second, {simpy_cpu / ours_cpu:.2f}x CPU time "
        f"for the year); target >= 5x."
    )

    servers, arrival_rate, service_rate = 4, 3.2, 1.0
    mmc, mmc_seconds = _timed(
        lambda: simulate_mmc(
            servers, arrival_rate, service_rate, 1_000_000, np.random.default_rng(SEED)
        )
    )
    network, network_seconds = _timed(
        lambda: simulate_network(
            [servers], [service_rate], [arrival_rate], [[0.0]], 300_000, np.random.default_rng(SEED)
        )
    )
    simpy_events, simpy_mmc_seconds = _timed(
        lambda: simpy_mmc(servers, arrival_rate, service_rate, 200_000)
    )
    queue_table = Table(title=f"Plain M/M/{servers} queue (utilisation 0.8)")
    for column in ("Engine", "Events", "Seconds", "Events/s"):
        queue_table.add_column(column, justify="left" if column == "Engine" else "right")
    for name, events, seconds in (
        ("customer recursion (FIFO)", mmc.events, mmc_seconds),
        ("heapq event loop", network.events, network_seconds),
        ("SimPy", simpy_events, simpy_mmc_seconds),
    ):
        queue_table.add_row(name, f"{events:,}", f"{seconds:.2f}", f"{events / seconds:,.0f}")
    console.print(queue_table)
    console.print(
        f"M/M/c: heapq event loop {network.events / network_seconds / 1e6:.2f}M events/s, "
        f"{network.events / network_seconds / (simpy_events / simpy_mmc_seconds):.1f}x SimPy; "
        "target >= 1M events/s."
    )

    replications, workers = 100, 2
    with process_executor(workers) as executor:
        summary, seconds = _timed(
            lambda: run_replications(scenario, replications, SEED, executor=executor)
        )
    verdict = "[green]within[/]" if seconds < 30 else "[red]over[/]"
    console.print(
        f"{replications} replications of one simulated year with {workers} workers: "
        f"[bold]{seconds:.1f} s[/] ({summary.events:,} events), {verdict} the 30 s target."
    )
    case_days = summary.estimates["mean_case_days"]
    console.print(
        f"Mean case days {case_days.mean:.3f} ± {case_days.half_width:.3f} (95%); "
        f"profit {summary.estimates['profit'].mean:,.0f} ± "
        f"{summary.estimates['profit'].half_width:,.0f} {scenario.currency}."
    )
    if not math.isfinite(case_days.half_width):
        raise RuntimeError("replications did not produce an interval")


if __name__ == "__main__":
    run(Console())
