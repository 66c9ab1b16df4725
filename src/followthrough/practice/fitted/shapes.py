"""The shape of a team's times on its own working clock: how many of its working hours requests
wait to be accepted and take to be worked, as the simulation draws them.

A desk's times have long tails (a request waiting weeks on a sub-request or an outside party
beside many done within the hour), which no two-number distribution follows. So the times are
kept as they were seen: `BINS` equally likely values, each the mean of one slice of the
distribution, so the mean and the tail's weight both survive.

A period's requests still open at its end are not dropped but counted as lasting at least until
then (Kaplan-Meier): dropping them would leave out the longest times, most of all near the end.
Everything here is plain arithmetic over arrays; `history.py` reads the times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from followthrough.org.rules import WorkingCalendar

BINS = 100

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Shape:
    """Mean working hours and `BINS` equally likely values with mean 1 (empty: nothing seen)."""

    mean: float = 0.0
    values: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkingClock:
    """A calendar's working windows over a span, as seconds since the epoch, so the working
    seconds between many pairs of instants are found at once."""

    opens: Floats
    lengths: Floats
    # Working seconds of all the windows before each one.
    before: Floats

    def elapsed(self, at: Floats) -> Floats:
        """Working seconds from the span's start to each instant."""
        window = np.searchsorted(self.opens, at, side="right") - 1
        inside = np.clip(window, 0, None)
        into = np.clip(at - self.opens[inside], 0.0, self.lengths[inside])
        return np.where(window >= 0, self.before[inside] + into, 0.0)

    def hours_between(self, start: Floats, end: Floats) -> Floats:
        """Working hours in [start, end) for each pair (0 when end is not after start)."""
        return np.maximum(self.elapsed(end) - self.elapsed(start), 0.0) / 3600.0


def working_clock(calendar: WorkingCalendar, since: datetime, until: datetime) -> WorkingClock:
    """The calendar's working windows (holidays and daylight saving included) from the day
    before `since` to the day after `until`."""
    opens: list[float] = []
    lengths: list[float] = []
    day = since.astimezone(UTC).date() - timedelta(days=1)
    last = until.astimezone(UTC).date() + timedelta(days=1)
    while day <= last:
        hours = calendar.business_hours_on(day)
        if hours is not None:
            opens.append(hours[0].timestamp())
            lengths.append((hours[1] - hours[0]).total_seconds())
        day += timedelta(days=1)
    length = np.asarray(lengths, dtype=np.float64)
    before = np.concatenate(([0.0], np.cumsum(length)[:-1])) if length.size else length
    return WorkingClock(np.asarray(opens, dtype=np.float64), length, before)


def survival_shape(hours: Floats, ended: npt.NDArray[np.bool_], bins: int = BINS) -> Shape:
    """The shape of times of which some are still running (`ended` False: at least `hours`).

    Kaplan-Meier: each ended time takes its share of the requests still running at it; what is
    still running after the longest time seen is put at that time (a floor, not a guess)."""
    if hours.size == 0 or not ended.any():
        return Shape()
    # Ended times before running ones at a tie: a request seen running at t did not end by t.
    order = np.lexsort((~ended, hours))
    times, ends = hours[order], ended[order]
    at_risk = np.arange(times.size, 0, -1, dtype=np.float64)
    surviving = np.cumprod(1.0 - ends / at_risk)
    mass = np.concatenate(([1.0], surviving[:-1])) - surviving
    mass[-1] += surviving[-1]
    mean = float(np.dot(mass, times))
    if not mean > 0:
        return Shape()
    # Each bin is a 1/bins slice of probability; its value is the mean time over that slice.
    upper = np.cumsum(mass)
    lower = upper - mass
    edges = np.linspace(0.0, 1.0, bins + 1)
    overlap = np.clip(
        np.minimum(upper[None, :], edges[1:, None]) - np.maximum(lower[None, :], edges[:-1, None]),
        0.0,
        None,
    )
    values = overlap @ times * bins / mean
    return Shape(mean, tuple(round(float(v), 4) for v in values))


# Resamples for a mean's margin: its 2.5% and 97.5% points move by about a percent of the
# margin from one seed to the next at this many.
MARGIN_DRAWS = 400


def mean_margin(values: Floats, count: int, *, draws: int = MARGIN_DRAWS, seed: int = 0) -> float:
    """The 95% margin of the mean of `count` times, as a share of it, from `values`, a sample
    of them (all of them, or every n-th); inf when it cannot be told.

    Hours to accept or resolve are skewed: a mean of a few hundred is made largely by the few
    that waited days, so it comes out a little low most of the time and far too high now and
    then, and the normal margin (1.96 standard errors) covers less than 95%. The sample's mean
    is resampled (bootstrap) instead, and the margin is the wider of its two sides as seen from
    the mean, on the scale of ratios (a mean half as large is as far as one twice as large).
    From a sample of k of the `count` times, each side narrows by sqrt(k / count)."""
    size = values.size
    mean = float(values.mean()) if size else 0.0
    if size < 2 or count < 2 or not mean > 0:
        return math.inf
    # Sorted first, so the same times give the same margin whatever order the rows came in.
    ordered = np.sort(values)
    rng = np.random.default_rng(seed)
    means = ordered[rng.integers(0, size, size=(draws, size))].mean(axis=1)
    low, high = np.quantile(means, (0.025, 0.975)) / mean
    if not low > 0:
        return math.inf
    wider = max(-math.log(float(low)), math.log(float(high))) * math.sqrt(size / max(size, count))
    return math.expm1(wider)
