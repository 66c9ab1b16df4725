"""Expected resolution time from history, with still-open requests counted as censored.

Durations are business hours of the owning team, excluding paused time. Dropping open requests
would bias the estimate toward the quick ones (the slow ones are exactly those still open), so
the survival curve is the Kaplan-Meier estimator over resolved (events) and open (censored).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from followthrough.org.rules import WorkingCalendar, business_seconds_between

Step = tuple[float, float]


@dataclass(frozen=True)
class Observation:
    """Business hours a request has taken so far, and whether it is resolved (else still open)."""

    hours: float
    resolved: bool


def kaplan_meier(observations: Iterable[Observation]) -> list[Step]:
    """Survival steps [(t, S(t))]: the probability a request is still unresolved after t hours.

    Only times with at least one resolution appear; S is non-increasing and starts below 1.
    At tied times, resolutions are counted before censorings (the usual convention).
    """
    ordered = sorted(observations, key=lambda o: (o.hours, not o.resolved))
    at_risk = len(ordered)
    survival = 1.0
    steps: list[Step] = []
    i = 0
    while i < len(ordered):
        t = ordered[i].hours
        resolved_here = 0
        leaving = 0
        while i < len(ordered) and ordered[i].hours == t:
            resolved_here += ordered[i].resolved
            leaving += 1
            i += 1
        if resolved_here:
            survival *= 1.0 - resolved_here / at_risk
            steps.append((t, survival))
        at_risk -= leaving
    return steps


def survival_at(steps: Sequence[Step], hours: float) -> float:
    """S(hours) from the step function (right-continuous)."""
    value = 1.0
    for t, s in steps:
        if t > hours:
            break
        value = s
    return value


def conditional_quantile(steps: Sequence[Step], q: float, elapsed: float = 0.0) -> float | None:
    """Smallest t >= elapsed with P(T <= t | T > elapsed) >= q; None if history can't say.

    None means the curve never falls far enough (too many still open for that long), which is
    the honest answer rather than a guess.
    """
    if not 0.0 < q < 1.0:
        raise ValueError("q must be between 0 and 1")
    base = survival_at(steps, elapsed)
    if base <= 0.0:
        return None
    threshold = (1.0 - q) * base
    for t, s in steps:
        if t < elapsed:
            continue
        if s <= threshold + 1e-12:
            return t
    return None


def describe_hours(hours: float, hours_per_day: float) -> str:
    """'3 business hours' or '2 business days', rounded up so the promise errs on the safe side."""
    if hours < hours_per_day:
        whole = max(1, int(-(-hours // 1)))
        return f"{whole} business hour{'s' if whole != 1 else ''}"
    days = int(-(-hours // hours_per_day))
    return f"{days} business day{'s' if days != 1 else ''}"


def worked_hours(
    calendar: WorkingCalendar,
    opened_at: datetime,
    until: datetime,
    paused_business_seconds: float,
    clock_paused_at: datetime | None,
) -> float:
    """Business hours a request has spent with its clock running, never negative."""
    stop = clock_paused_at if clock_paused_at is not None and clock_paused_at < until else until
    seconds = business_seconds_between(calendar, opened_at, stop) - paused_business_seconds
    return max(0.0, seconds) / 3600.0


class EstimateBasis(StrEnum):
    """Where an estimate comes from, and so what its sentence may claim."""

    # A calibrated bound: 8 in 10 within it, kept honest online.
    CALIBRATED = "calibrated"
    # The service's Kaplan-Meier curve reaches 8 in 10.
    HISTORY = "history"
    # The history cannot certify 8 in 10: only "more than X" is known, and no date is promised.
    TOO_LITTLE_HISTORY = "too_little_history"
    # Too few similar requests resolved: the team's target is shown instead, and says so.
    TARGET = "target"


TOO_LITTLE_HISTORY = "too little history to be sure"

# What each source is called wherever an estimate is shown: the raise page, the request, the
# case, the lists and the API's `source_name`. A sentence that does not already say where it
# comes from ends with its source's name in brackets (`with_source`).
SOURCE_NAMES: dict[EstimateBasis, str] = {
    EstimateBasis.CALIBRATED: "forecast for this request",
    EstimateBasis.HISTORY: "this service's record",
    EstimateBasis.TOO_LITTLE_HISTORY: TOO_LITTLE_HISTORY,
    EstimateBasis.TARGET: "the team's target",
}
# How bases were marked before the names above, still found in requests estimated then.
_EARLIER_MARKS = {
    "(calibrated model)": EstimateBasis.CALIBRATED,
    "(from history)": EstimateBasis.HISTORY,
}


def with_source(sentence: str, kind: EstimateBasis) -> str:
    """The sentence as shown, naming its source unless it already says it."""
    name = SOURCE_NAMES[kind]
    return sentence if name in sentence else f"{sentence} ({name})"


def source_of(basis: str | None) -> EstimateBasis | None:
    """Which source a shown sentence came from (None when there is no estimate)."""
    if basis is None:
        return None
    for kind in (EstimateBasis.CALIBRATED, EstimateBasis.HISTORY, EstimateBasis.TARGET):
        if basis.endswith(f"({SOURCE_NAMES[kind]})"):
            return kind
    if TOO_LITTLE_HISTORY in basis:
        return EstimateBasis.TOO_LITTLE_HISTORY
    for mark, earlier in _EARLIER_MARKS.items():
        if basis.endswith(mark):
            return earlier
    return EstimateBasis.TARGET if basis.startswith("Not enough history") else None


def too_little_history_sentence(at_least_hours: float, hours_per_day: float) -> str:
    """What to say when fewer than 8 in 10 are known to finish within `at_least_hours`."""
    return f"More than {describe_hours(at_least_hours, hours_per_day)}; {TOO_LITTLE_HISTORY}"


@dataclass(frozen=True)
class Estimate:
    """Remaining business hours to the median and to the 8-in-10 bound, and how we know.

    With `kind` TOO_LITTLE_HISTORY there is no bound: `likely_hours` is then the remaining time
    to what the history rules out ("more than …"), not a time to promise.
    """

    median_hours: float | None
    likely_hours: float
    basis: str
    from_history: bool
    kind: EstimateBasis = EstimateBasis.HISTORY

    @property
    def promised(self) -> bool:
        """True when `likely_hours` is an 8-in-10 bound a date may be shown for."""
        return self.kind is not EstimateBasis.TOO_LITTLE_HISTORY


def estimate_remaining(
    steps: Sequence[Step] | None,
    resolved_count: int,
    min_history: int,
    elapsed: float,
    target_hours: float | None,
    hours_per_day: float,
) -> Estimate | None:
    """Remaining time for a request that has already used `elapsed` business hours.

    Uses the service's own history when at least `min_history` similar requests have been
    resolved: its 8-in-10 point when the curve reaches 80%, else "more than" the longest
    resolution seen (too many are still open to say more). With fewer resolved, falls back to
    the OLA target and says so.
    """
    if steps is not None and resolved_count >= min_history:
        likely = conditional_quantile(steps, 0.8, elapsed)
        if likely is None:
            # The curve stays above 20% after its last resolution: the 8-in-10 point lies
            # beyond it, by how much the history cannot tell.
            at_least = max([elapsed, *(t for t, _ in steps)])
            return Estimate(
                median_hours=None,
                likely_hours=max(0.0, at_least - elapsed),
                basis=too_little_history_sentence(at_least, hours_per_day),
                from_history=True,
                kind=EstimateBasis.TOO_LITTLE_HISTORY,
            )
        median = conditional_quantile(steps, 0.5, elapsed)
        total = conditional_quantile(steps, 0.8, 0.0)
        span = describe_hours(total if total is not None else likely, hours_per_day)
        return Estimate(
            median_hours=None if median is None else max(0.0, median - elapsed),
            likely_hours=max(0.0, likely - elapsed),
            basis=f"8 in 10 similar requests were resolved within {span}",
            from_history=True,
        )
    if target_hours is None:
        return None
    thin = f"only {resolved_count} similar requests resolved so far"
    return Estimate(
        median_hours=None,
        likely_hours=max(0.0, target_hours - elapsed),
        basis=f"Not enough history ({thin}); showing the team's target of "
        f"{describe_hours(target_hours, hours_per_day)}",
        from_history=False,
        kind=EstimateBasis.TARGET,
    )
