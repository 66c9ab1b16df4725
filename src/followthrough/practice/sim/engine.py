"""The company simulation: internal requests, customer cases, promises, people and money.

One replication is one call to `simulate`. It is a heapq event loop over plain tuples
`(time, kind, id)` with request and case state kept in parallel lists, because that is several
times faster in CPython than one object or generator per request (see bench/sim.py).

The model, in the users' words (docs/practice.md has the assumptions and their sources):
a case of a journey arrives; for each step its owner offers internal requests (sub-requests
first, then the step itself) to the department that provides the service. The receiving team
accepts after a delay set by its ownership, or bounces the handoff back (communication). Work
waits in the department's queue and is done in working hours. Work may contain an error; a
later step may find it and send it back for rework, after which the step is done again; errors
nobody finds reach the customer. While a case is open its owner owes the customer updates;
a missed update may become a complaint, which is more work. At the end the customer's
satisfaction decides whether they leave. Staff leave at a rate set by engagement and their
place stays empty until a replacement arrives.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, fields

import numpy as np

from followthrough.practice.sim import draws
from followthrough.practice.sim.calendar import (
    HOURS_PER_DAY,
    HOURS_PER_YEAR,
    ArrivalProfile,
    finish_time,
    next_opening,
    open_hours_between,
)
from followthrough.practice.sim.scenario import Scenario


@dataclass(frozen=True, slots=True)
class DepartmentResult:
    """What happened in one department over the run."""

    department: str
    requests_done: int
    utilisation: float
    mean_queue_hours: float
    errors_made: int
    errors_reaching_customers: int
    missed_updates: int
    complaints: int
    leavers: int
    # Mean hours from a handoff's first offer to its acceptance by this department.
    mean_accept_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class JourneyResult:
    """How long one kind of case took and how often its promise was kept."""

    journey: str
    cases_closed: int
    open_at_end: int
    mean_days: float
    promises_kept: float


@dataclass(frozen=True, slots=True)
class RunResult:
    """Every figure of one replication. Rates are shares between 0 and 1."""

    days: float
    # The model's events: case arrivals, handoff offers (first and after a bounce) and
    # acceptances, work starts and completions, updates owed to open cases, leavers and their
    # places filled again. Department openings and the end of the run are bookkeeping.
    events: int
    # Internal service
    handoffs: int
    mean_accept_hours: float
    bounce_rate: float
    ola_attainment: float
    reworks: int
    # Promises to customers
    updates_due: int
    updates_kept: float
    # External customers (internal journeys are counted only in `journeys`)
    cases_closed: int
    cases_open_at_end: int
    mean_case_days: float
    promises_kept: float
    mean_satisfaction: float
    complaints: int
    errors_reaching_customers: int
    customers_lost: float
    churn_rate: float
    # People
    leavers: int
    turnover_rate: float
    # Money
    revenue: float
    staff_cost: float
    hiring_cost: float
    cost: float
    profit: float
    departments: tuple[DepartmentResult, ...]
    journeys: tuple[JourneyResult, ...]

    def figures(self) -> dict[str, float]:
        """Every number by a dotted name (`departments.claims.utilisation`), for summaries."""
        flat: dict[str, float] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int | float):
                flat[field.name] = float(value)
        for group, rows, key in (
            ("departments", self.departments, "department"),
            ("journeys", self.journeys, "journey"),
        ):
            for row in rows:
                for field in fields(row):
                    if field.name != key:
                        flat[f"{group}.{getattr(row, key)}.{field.name}"] = float(
                            getattr(row, field.name)
                        )
        return flat


# Event kinds. Ties in time are broken by kind, then id, so runs are exactly repeatable.
# The id is a request for _DONE, _ACCEPT and _OFFER, a journey for _ARRIVE and _UPDATE and a
# department for _OPEN, _LEAVE and _REFILLED (a leaver's place is filled again).
_OPEN, _DONE, _ACCEPT, _OFFER, _ARRIVE, _UPDATE, _LEAVE, _REFILLED, _END = range(9)
# Request kinds.
_STEP, _SUB, _REWORK, _COMPLAINT = range(4)
# Stands in a department's queue for a leaver's empty place.
_VACANT = -1


def turnover_per_year(scenario: Scenario, engagement: float) -> float:
    """Annual turnover at an engagement level: compounding the published change per +0.10."""
    b = scenario.behaviour
    steps = (engagement - b.reference_engagement) / 0.1
    factor: float = (1.0 + b.turnover_change_per_10_points) ** steps
    return min(1.0, b.turnover_per_year * factor)


def simulate(scenario: Scenario, rng: np.random.Generator, days: float | None = None) -> RunResult:
    """One replication of `days` (default: the scenario's) from an empty company."""
    horizon = (days if days is not None else scenario.days) * HOURS_PER_DAY
    years = horizon / HOURS_PER_YEAR
    # The clock is hours since Monday 00:00 of the first week; the run is [start, end).
    start = scenario.starts_at
    end = start + horizon
    b = scenario.behaviour
    workdays = frozenset(scenario.workdays)
    push, pop = heapq.heappush, heapq.heappop

    departments = scenario.departments
    index_of = {d.id: i for i, d in enumerate(departments)}
    n_departments = len(departments)
    opens = [d.opens for d in departments]
    closes = [d.closes for d in departments]
    # Each department's own week and time zone: its calendar is read on its local clock
    # (the scenario's clock + ahead); requests arrive on the scenario's week.
    week = [frozenset(d.workdays) if d.workdays is not None else workdays for d in departments]
    ahead = [d.hours_ahead for d in departments]
    off = [frozenset(d.holidays) for d in departments]
    capacity = [d.staff for d in departments]
    accept_mean = [b.accept_hours.at(d.ownership) for d in departments]
    counted_from = [d.accept_counted_from for d in departments]
    bounce = [
        [b.bounce.at((s.communication + r.communication) / 2) for r in departments]
        for s in departments
    ]
    care = [(d.ownership + d.communication) / 2 for d in departments]
    keep_update = [b.update_kept.at(q) for q in care]
    complain = [b.complaint_after_miss.at(d.emotional_intelligence) for d in departments]
    leave_rate = [
        d.staff * turnover_per_year(scenario, d.engagement) / HOURS_PER_YEAR for d in departments
    ]
    vacancy_hours = b.vacancy_days * HOURS_PER_DAY
    per_late_day, per_missed_update = b.satisfaction_per_late_day, b.satisfaction_per_missed_update
    per_error, per_complaint = b.satisfaction_per_error, b.satisfaction_per_complaint
    churn_when_unhappy = b.churn_when_unhappy
    reroute_mean = b.reroute_hours

    services = scenario.services
    service_of = {s.id: i for i, s in enumerate(services)}
    service_department = [index_of[s.department] for s in services]
    error_chance = [
        min(1.0, s.error_rate * b.error_factor.at(care[index_of[s.department]])) for s in services
    ]
    found_chance = [s.found_downstream for s in services]
    no_target = math.inf
    target = [s.target_hours if s.target_hours is not None else no_target for s in services]
    complaint_service = (
        service_of[scenario.complaint_service] if scenario.complaint_service is not None else -1
    )

    journeys = scenario.journeys
    steps = [
        [(service_of[st.service], [service_of[x] for x in st.sub_requests]) for st in j.steps]
        for j in journeys
    ]
    owner = [index_of[j.owner] for j in journeys]
    external = [j.external for j in journeys]
    promise_hours = [j.promise_days * HOURS_PER_DAY for j in journeys]
    cadence = [j.update_every_hours or 0.0 for j in journeys]

    # One stream per department and kind of draw (and per journey or service where a
    # department has several), so a decision in one department leaves the numbers every
    # unrelated department draws untouched: teams then differ only by their decisions.
    streams = draws.Streams.from_generator(rng)

    def unit_exponential(*key: str) -> draws.Draw:
        return draws.exponential(streams.generator(*key), 1.0)

    def uniform(*key: str) -> draws.Draw:
        return draws.uniform(streams.generator(*key))

    between = [
        draws.exponential(streams.generator(j.owner, "arrivals", j.id), HOURS_PER_DAY / j.per_day)
        for j in journeys
    ]
    work = [
        draws.resampled(streams.generator(s.department, "work", s.id), s.hours, s.shape)
        if s.shape
        else draws.work_time(streams.generator(s.department, "work", s.id), s.hours, s.cv)
        for s in services
    ]
    # A handoff's draws belong to the receiving department: it is where the offer queues.
    accept_delay = [
        draws.resampled(streams.generator(d.id, "accept"), 1.0, d.accept_shape)
        if d.accept_shape
        else unit_exponential(d.id, "accept")
        for d in departments
    ]
    bounce_draw = [uniform(d.id, "bounce") for d in departments]
    reroute_delay = [unit_exponential(d.id, "reroute") for d in departments]
    leave_gap = [unit_exponential(d.id, "leave") for d in departments]
    leave_draw = [uniform(d.id, "leave", "present") for d in departments]
    error_draw = [uniform(s.department, "errors", s.id) for s in services]
    found_draw = [uniform(s.department, "found", s.id) for s in services]
    update_draw = [uniform(j.owner, "updates", j.id) for j in journeys]
    complaint_draw = [uniform(j.owner, "complaints", j.id) for j in journeys]
    churn_draw = [uniform(j.owner, "churn", j.id) for j in journeys]

    # Request and case state in parallel lists of numbers, indexed by id: cheaper than an
    # object per request, and numbers leave the garbage collector nothing to scan. A request
    # is its kind, service, department, sender, case and when it was first offered.
    r_kind: list[int] = []
    r_service: list[int] = []
    r_department: list[int] = []
    r_sender: list[int] = []
    r_case: list[int] = []
    r_offered: list[float] = []
    c_journey: list[int] = []
    c_opened: list[float] = []
    c_step: list[int] = []
    c_waiting: list[int] = []
    c_errors: list[tuple[int, ...]] = []  # services whose errors nobody has found yet
    c_missed: list[int] = []
    c_complaints: list[int] = []
    c_closed: list[bool] = []

    # Departments' queues of (request or _VACANT, accepted at).
    queues: list[deque[tuple[int, float]]] = [deque() for _ in departments]
    # Updates owed, per journey: (due, case) in time order, because every case of a journey
    # has the same cadence. Only the front one is in the event heap, so a closed case's
    # reminder is dropped when it reaches the front instead of being scheduled for nothing.
    owed: list[deque[tuple[float, int]]] = [deque() for _ in journeys]
    busy = [0] * n_departments
    # When each department's current working day ends (in the past while it is closed) and
    # when its next one begins, kept by the _OPEN events: most work ends today or on the next
    # working day, and these two times settle that without walking the calendar.
    open_until = [-math.inf] * n_departments
    reopens = [
        next_opening(start + ahead[i], d.opens, d.closes, week[i], off[i]) - ahead[i]
        for i, d in enumerate(departments)
    ]
    day_hours = [d.closes - d.opens for d in departments]
    work_hours = [0.0] * n_departments
    queued_hours = [0.0] * n_departments
    done = [0] * n_departments
    errors_made = [0] * n_departments
    errors_reached = [0] * n_departments
    missed = [0] * n_departments
    complaints_at = [0] * n_departments
    leavers = [0] * n_departments
    vacant = [0] * n_departments  # places emptied by leavers and not yet filled again
    journey_closed = [0] * len(journeys)
    journey_hours = [0.0] * len(journeys)
    journey_kept = [0] * len(journeys)
    journey_open = [0] * len(journeys)

    handoffs = bounces = offers_again = starts = refilled = 0
    accept_hours = 0.0
    accepted_hours = [0.0] * n_departments
    accepted = [0] * n_departments
    ola_due = ola_met = reworks = 0
    updates_due = updates_kept = 0
    closed = kept_promises = complaints = reached = 0
    satisfaction = 0.0
    lost = 0
    lost_years = 0.0

    def hand_off(kind: int, service: int, case: int, sender: int, now: float, request: int) -> None:
        # Offer a new request (request < 0) or offer a bounced one again.
        nonlocal bounces
        receiver = service_department[service]
        if request < 0:
            request = len(r_kind)
            r_kind.append(kind)
            r_service.append(service)
            r_department.append(receiver)
            r_sender.append(sender)
            r_case.append(case)
            r_offered.append(now)
        look = working_hours_later(receiver, now, accept_mean[receiver] * accept_delay[receiver]())
        if bounce_draw[receiver]() < bounce[sender][receiver]:
            bounces += 1
            again = (
                finish_time(
                    look + ahead[sender],
                    reroute_mean * reroute_delay[receiver](),
                    opens[sender],
                    closes[sender],
                    week[sender],
                    off[sender],
                )
                - ahead[sender]
            )
            push(events, (again, _OFFER, request))
        else:
            push(events, (look, _ACCEPT, request))

    def working_hours_later(department: int, now: float, hours: float) -> float:
        # When `hours` of the department's working time from `now` have passed.
        today = open_until[department] - now
        if hours <= today:
            return now + hours
        if today < 0.0:
            today = 0.0
        if hours - today <= day_hours[department]:
            return reopens[department] + (hours - today)
        local = ahead[department]
        return (
            finish_time(
                now + local,
                hours,
                opens[department],
                closes[department],
                week[department],
                off[department],
            )
            - local
        )

    def begin_step(case: int, now: float) -> None:
        journey = c_journey[case]
        service, subs = steps[journey][c_step[case]]
        if subs:
            c_waiting[case] = len(subs)
            for sub in subs:
                hand_off(_SUB, sub, case, owner[journey], now, -1)
        else:
            hand_off(_STEP, service, case, owner[journey], now, -1)

    def start_work(department: int, now: float) -> None:
        nonlocal starts
        closing = open_until[department]
        if now >= closing:
            return  # closed: the department's next opening starts its queue
        queue = queues[department]
        while queue and busy[department] < capacity[department]:
            request, accepted = queue.popleft()
            busy[department] += 1
            if request == _VACANT:
                push(events, (now + vacancy_hours, _REFILLED, department))
                continue
            starts += 1
            effort = work[r_service[request]]()
            work_hours[department] += effort
            queued_hours[department] += now - accepted
            end = now + effort
            if end > closing:
                end = working_hours_later(department, now, effort)
            push(events, (end, _DONE, request))

    def close_case(case: int, now: float) -> None:
        nonlocal closed, kept_promises, reached, satisfaction, lost, lost_years
        c_closed[case] = True
        journey = c_journey[case]
        took = now - c_opened[case]
        journey_closed[journey] += 1
        journey_hours[journey] += took
        late_days = (took - promise_hours[journey]) / HOURS_PER_DAY
        if late_days <= 0.0:
            late_days = 0.0
            journey_kept[journey] += 1
        if not external[journey]:
            return
        closed += 1
        if late_days == 0.0:
            kept_promises += 1
        wrong = c_errors[case]
        reached += len(wrong)
        for service in wrong:
            errors_reached[service_department[service]] += 1
        happy = 1.0 - (
            per_late_day * late_days
            + per_missed_update * c_missed[case]
            + per_error * len(wrong)
            + per_complaint * c_complaints[case]
        )
        if happy < 0.0:
            happy = 0.0
        satisfaction += happy
        if churn_draw[journey]() < churn_when_unhappy * (1.0 - happy):
            lost += 1
            lost_years += (end - now) / HOURS_PER_YEAR

    events: list[tuple[float, int, int]] = [(end, _END, 0)]
    for d in range(n_departments):
        events.append((reopens[d], _OPEN, d))
        if leave_rate[d] > 0:
            events.append((start + leave_gap[d]() / leave_rate[d], _LEAVE, d))
    # A journey raised only in working hours draws the same gaps, squeezed into its owner's
    # working time (the same mean per calendar day).
    in_hours = [
        (
            departments[owner[j]].opens,
            departments[owner[j]].closes,
            (departments[owner[j]].closes - departments[owner[j]].opens)
            * len(workdays)
            / (7 * HOURS_PER_DAY),
            ahead[owner[j]],
        )
        if journey.working_hours_only
        else None
        for j, journey in enumerate(journeys)
    ]

    profile = ArrivalProfile(scenario.arrival_profile) if scenario.arrival_profile else None

    def next_arrival(journey: int, now: float) -> float:
        hours = in_hours[journey]
        if hours is None:
            return now + between[journey]()
        # Nobody raises a request on the raising department's holidays.
        closed = off[owner[journey]]
        opens_at, closes_at, squeeze, local = hours
        if profile is not None:
            at = profile.after(now, between[journey]())
            while closed and int((at + local) // HOURS_PER_DAY) in closed:
                at = profile.after(at, between[journey]())
            return at
        gap = between[journey]() * squeeze
        return finish_time(now + local, gap, opens_at, closes_at, workdays, closed) - local

    for j in range(len(journeys)):
        events.append((next_arrival(j, start), _ARRIVE, j))
    heapq.heapify(events)

    # The branches are in order of how often they run.
    while True:
        now, kind, ident = pop(events)
        if kind == _DONE:
            request_kind, department = r_kind[ident], r_department[ident]
            busy[department] -= 1
            done[department] += 1
            service, case = r_service[ident], r_case[ident]
            if target[service] < no_target:
                ola_due += 1
                if now - r_offered[ident] <= target[service]:
                    ola_met += 1
            if queues[department]:  # a person has just become free
                start_work(department, now)
            if request_kind == _COMPLAINT:
                continue
            if request_kind == _STEP:
                found = 0
                if c_errors[case]:
                    unfound = []
                    for wrong in c_errors[case]:
                        if found_draw[wrong]() < found_chance[wrong]:
                            found += 1
                            hand_off(_REWORK, wrong, case, department, now, -1)
                        else:
                            unfound.append(wrong)
                    c_errors[case] = tuple(unfound)
                if found:
                    c_waiting[case] = found
                    continue
                if error_draw[service]() < error_chance[service]:
                    c_errors[case] += (service,)
                    errors_made[department] += 1
                c_step[case] += 1
                if c_step[case] == len(steps[c_journey[case]]):
                    close_case(case, now)
                else:
                    begin_step(case, now)
                continue
            if request_kind == _REWORK:
                reworks += 1
            if error_draw[service]() < error_chance[service]:
                c_errors[case] += (service,)
                errors_made[department] += 1
            c_waiting[case] -= 1
            if c_waiting[case] == 0:
                journey = c_journey[case]
                step_service = steps[journey][c_step[case]][0]
                hand_off(_STEP, step_service, case, owner[journey], now, -1)
        elif kind == _ACCEPT:
            handoffs += 1
            department = r_department[ident]
            accept_hours += now - r_offered[ident]
            if r_offered[ident] >= counted_from[department]:
                accepted_hours[department] += now - r_offered[ident]
                accepted[department] += 1
            queues[department].append((ident, now))
            if busy[department] < capacity[department]:
                start_work(department, now)
        elif kind == _UPDATE:
            reminders = owed[ident]
            _, case = reminders.popleft()
            # A case that closed while its reminder was at the front is owed nothing.
            if not c_closed[case]:
                keeper = owner[ident]
                updates_due += 1
                if update_draw[ident]() < keep_update[keeper]:
                    updates_kept += 1
                else:
                    missed[keeper] += 1
                    c_missed[case] += 1
                    if complaint_draw[ident]() < complain[keeper]:
                        complaints += 1
                        complaints_at[keeper] += 1
                        c_complaints[case] += 1
                        if complaint_service >= 0:
                            hand_off(_COMPLAINT, complaint_service, case, keeper, now, -1)
                reminders.append((now + cadence[ident], case))
            # Drop closed cases' reminders from the front; the next open one goes in the heap.
            while reminders and c_closed[reminders[0][1]]:
                reminders.popleft()
            if reminders:
                push(events, (reminders[0][0], _UPDATE, ident))
        elif kind == _ARRIVE:
            push(events, (next_arrival(ident, now), _ARRIVE, ident))
            case = len(c_journey)
            c_journey.append(ident)
            c_opened.append(now)
            c_step.append(0)
            c_waiting.append(0)
            c_errors.append(())
            c_missed.append(0)
            c_complaints.append(0)
            c_closed.append(False)
            if external[ident] and cadence[ident] > 0:
                owed[ident].append((now + cadence[ident], case))
                if len(owed[ident]) == 1:
                    push(events, (now + cadence[ident], _UPDATE, ident))
            begin_step(case, now)
        elif kind == _OFFER:
            offers_again += 1
            hand_off(r_kind[ident], r_service[ident], r_case[ident], r_sender[ident], now, ident)
        elif kind == _OPEN:
            local = ahead[ident]
            closing = int((now + local) // HOURS_PER_DAY) * HOURS_PER_DAY + closes[ident] - local
            open_until[ident] = closing
            start_work(ident, now)
            reopens[ident] = (
                next_opening(closing + local, opens[ident], closes[ident], week[ident], off[ident])
                - local
            )
            push(events, (reopens[ident], _OPEN, ident))
        elif kind == _LEAVE:
            # Leavers come at the rate of a full department; a draw keeps each one with the
            # share of places actually filled (thinning), so only people present leave and
            # an empty place cannot leave again. The leaver's place is held empty: it goes
            # first in the queue, so it takes the next person to become free, and stays
            # empty for the vacancy time.
            if leave_draw[ident]() * capacity[ident] < capacity[ident] - vacant[ident]:
                leavers[ident] += 1
                vacant[ident] += 1
                queues[ident].appendleft((_VACANT, now))
                start_work(ident, now)
            push(events, (now + leave_gap[ident]() / leave_rate[ident], _LEAVE, ident))
        elif kind == _REFILLED:
            refilled += 1
            vacant[ident] -= 1
            busy[ident] -= 1
            if queues[ident]:
                start_work(ident, now)
        else:
            break

    staff_cost = sum(d.staff * d.cost_per_person_per_year for d in departments) * years
    hiring_cost = sum(n * d.hiring_cost for n, d in zip(leavers, departments, strict=True))
    customers = scenario.customers
    background_lost = customers.base * customers.background_churn_per_year * years
    # Customers lost in the background leave evenly through the run: half the run's revenue.
    customer_years = customers.base * years - background_lost * years / 2 - lost_years
    revenue = customers.revenue_per_year * customer_years
    cost = staff_cost + hiring_cost
    headcount = sum(capacity)
    # A run can fall wholly on a department's days off (a weekend, a holiday): no capacity.
    open_hours = [
        open_hours_between(start + ahead[i], end + ahead[i], d.opens, d.closes, week[i], off[i])
        for i, d in enumerate(departments)
    ]
    department_results = tuple(
        DepartmentResult(
            department=d.id,
            requests_done=done[i],
            utilisation=work_hours[i] / (d.staff * open_hours[i]) if open_hours[i] > 0 else 0.0,
            mean_queue_hours=queued_hours[i] / done[i] if done[i] else 0.0,
            errors_made=errors_made[i],
            errors_reaching_customers=errors_reached[i],
            missed_updates=missed[i],
            complaints=complaints_at[i],
            leavers=leavers[i],
            mean_accept_hours=accepted_hours[i] / accepted[i] if accepted[i] else 0.0,
        )
        for i, d in enumerate(departments)
    )
    for case, is_closed in enumerate(c_closed):
        if not is_closed:
            journey_open[c_journey[case]] += 1
    journey_results = tuple(
        JourneyResult(
            journey=j.id,
            cases_closed=journey_closed[i],
            open_at_end=journey_open[i],
            mean_days=journey_hours[i] / journey_closed[i] / HOURS_PER_DAY
            if journey_closed[i]
            else 0.0,
            promises_kept=journey_kept[i] / journey_closed[i] if journey_closed[i] else 0.0,
        )
        for i, j in enumerate(journeys)
    )
    external_hours = sum(h for h, e in zip(journey_hours, external, strict=True) if e)
    return RunResult(
        days=horizon / HOURS_PER_DAY,
        events=len(c_journey)  # arrivals
        + offers_again
        + handoffs
        + starts
        + sum(done)
        + refilled
        + updates_due
        + sum(leavers),
        handoffs=handoffs,
        mean_accept_hours=accept_hours / handoffs if handoffs else 0.0,
        bounce_rate=bounces / (handoffs + bounces) if handoffs + bounces else 0.0,
        ola_attainment=ola_met / ola_due if ola_due else 1.0,
        reworks=reworks,
        updates_due=updates_due,
        updates_kept=updates_kept / updates_due if updates_due else 1.0,
        cases_closed=closed,
        cases_open_at_end=sum(n for n, e in zip(journey_open, external, strict=True) if e),
        mean_case_days=external_hours / closed / HOURS_PER_DAY if closed else 0.0,
        promises_kept=kept_promises / closed if closed else 1.0,
        mean_satisfaction=satisfaction / closed if closed else 1.0,
        complaints=complaints,
        errors_reaching_customers=reached,
        customers_lost=lost + background_lost,
        churn_rate=(lost + background_lost) / customers.base,
        leavers=sum(leavers),
        turnover_rate=sum(leavers) / headcount / years,
        revenue=revenue,
        staff_cost=staff_cost,
        hiring_cost=hiring_cost,
        cost=cost,
        profit=revenue - cost,
        departments=department_results,
        journeys=journey_results,
    )
