"""Simulation benchmark: this engine against an equivalent SimPy model, in the same run.

Events are counted the same way in both: case arrivals, handoff offers and acceptances, work
starts and completions, customer updates, leavers (and, in the heapq engine, department
openings, which SimPy handles with timeouts instead).
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
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
ROUNDS = 3


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
        while True:
            yield self.env.timeout(self.expo() / self.leave_rate[department])
            self.events += 1
            self.env.process(self.vacancy(department))

    def vacancy(self, department: int) -> Generator[Any, Any, None]:
        with self.staff[department].request(priority=0) as seat:
            yield seat
            yield from self.wait_for_opening(department)
            yield self.env.timeout(self.b.vacancy_days * HOURS_PER_DAY)
            self.events += 1

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
            env.process(self.updates(owner, cadence, state))
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
        self, owner: int, cadence: float, state: dict[str, bool]
    ) -> Generator[Any, Any, None]:
        while True:
            yield self.env.timeout(cadence)
            if not state["open"]:
                return
            self.events += 1
            missed = self.uniform() >= self.keep[owner]
            if missed and self.uniform() < self.complain[owner] and self.complaint_service >= 0:
                self.env.process(self.request(self.complaint_service, owner))


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


def run(console: Console) -> None:
    """Print events/s of this engine and SimPy on the insurance scenario and on M/M/c."""
    scenario = load_scenario("insurance")
    days = float(scenario.days)
    console.rule("[bold]Simulation engine benchmark")

    # Alternate the two engines and keep each one's best time, so a busy machine
    # penalises neither.
    ours_seconds = simpy_seconds = math.inf
    for _ in range(ROUNDS):
        ours, seconds = _timed(lambda: simulate(scenario, np.random.default_rng(SEED)))
        ours_seconds = min(ours_seconds, seconds)
        company = SimpyCompany(scenario, np.random.default_rng(SEED))
        _, seconds = _timed(company.run_year)
        simpy_seconds = min(simpy_seconds, seconds)
    ours_rate = ours.events / ours_seconds
    simpy_rate = company.events / simpy_seconds
    simpy_days = sum(company.case_hours) / len(company.case_hours) / HOURS_PER_DAY
    ours_days = sum(j.mean_days * j.cases_closed for j in ours.journeys) / sum(
        j.cases_closed for j in ours.journeys
    )

    table = Table(title=f"Insurance scenario, one simulated year ({days:g} days), same seed")
    for column in ("Engine", "Events", "Seconds", "Events/s", "Mean case days"):
        table.add_column(column, justify="left" if column == "Engine" else "right")
    table.add_row(
        "followthrough (heapq)",
        f"{ours.events:,}",
        f"{ours_seconds:.2f}",
        f"{ours_rate:,.0f}",
        f"{ours_days:.2f}",
    )
    table.add_row(
        "SimPy (same model)",
        f"{company.events:,}",
        f"{simpy_seconds:.2f}",
        f"{simpy_rate:,.0f}",
        f"{simpy_days:.2f}",
    )
    console.print(table)
    console.print(
        f"Speed-up on the scenario: [bold]{ours_rate / simpy_rate:.1f}x[/] events/s "
        f"({simpy_seconds / ours_seconds:.1f}x wall time); target >= 5x."
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
