"""What a programme changed on the desk: a staggered difference-in-differences report.

A programme (a training module, a buddy round, job shadowing) reaches people, teams or
departments in waves. For each outcome the desk already measures (promises kept, time to
accept an offer, bounces, updates on time, the requesters' ratings) the report compares how
the subjects who had taken part moved, week by week, with how those who had not (yet) moved
over the same weeks: Callaway and Sant'Anna's estimator (the `diff-diff` package), which
compares each wave only with subjects not yet reached, so an early wave's later weeks never
serve as another wave's baseline (the fault of a plain two-way fixed-effects regression).

It says what it can show and nothing more: an effect with its 95% interval at 30, 60 and 90
days, "no effect shown" when the interval includes no change, and "too little data" when
there are too few subjects on either side or too few weeks before the programme began.

The estimate is a pure function of a panel (`estimate`); `programme_effect` builds the panel
from the scorecard's weekly tallies, which read the event history.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from followthrough.insight import rules
from followthrough.insight.rules import Tally
from followthrough.insight.scorecard import Level, tallies
from followthrough.org.local_time import Clock

Better = Literal["higher", "lower"]
HORIZON_DAYS = (30, 60, 90)
# Fewer subjects than this on either side, or fewer weeks before the first wave: too little
# data for an interval worth printing.
MINIMUM_SUBJECTS = 3
MINIMUM_WEEKS_BEFORE = 2


@dataclass(frozen=True)
class Outcome:
    """A weekly figure per subject, from the scorecard's tally (None: nothing to measure)."""

    name: str
    label: str
    better: Better
    unit: str
    value: Callable[[Tally], float | None]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean_rating(t: Tally) -> float | None:
    if not t.ratings:
        return None
    return (t.understand + t.own + t.serve + t.communicate) / (4 * t.ratings)


OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "promises_kept",
        "Promises kept",
        "higher",
        "share",
        lambda t: _share(t.promises_kept, t.promises_kept + t.promises_broken),
    ),
    Outcome(
        "accept_hours",
        "Time to accept an offer",
        "lower",
        "hours",
        lambda t: t.accept_seconds / t.accepted / 3600 if t.accepted else None,
    ),
    Outcome(
        "bounce_rate",
        "Bounces per request handled",
        "lower",
        "share",
        lambda t: _share(t.bounces_caused, t.handled),
    ),
    Outcome(
        "updates_on_time",
        "Updates on time",
        "higher",
        "share",
        lambda t: _share(t.updates_on_time, t.updates_on_time + t.updates_missed),
    ),
    Outcome("rating", "Requesters' rating (1-5)", "higher", "points", _mean_rating),
)
OUTCOME_NAMES = {o.name: o for o in OUTCOMES}


@dataclass(frozen=True)
class Cell:
    """One subject's figure in one week (weeks numbered 1, 2, … from the report's start)."""

    subject: int
    week: int
    value: float


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def includes_no_change(self) -> bool:
        return self.low <= 0.0 <= self.high


@dataclass(frozen=True)
class HorizonEffect:
    days: int
    effect: Interval | None  # None: no subject was that far into the programme yet


@dataclass(frozen=True)
class OutcomeEffect:
    outcome: Outcome
    verdict: Literal["better", "worse", "no effect shown", "too little data"]
    overall: Interval | None
    horizons: tuple[HorizonEffect, ...]
    subjects_in: int  # subjects that took part, with weeks measured before and after
    subjects_not_yet: int  # subjects not reached by the end of the report
    summary: str


def estimate(
    outcome: Outcome, cells: Sequence[Cell], first_week: Mapping[int, int | None]
) -> OutcomeEffect:
    """The programme's effect on `outcome` from weekly `cells`; `first_week[subject]` is the
    week the subject first took part (None: not by the end). Pure and deterministic."""
    weeks_of: dict[int, set[int]] = {}
    for cell in cells:
        weeks_of.setdefault(cell.subject, set()).add(cell.week)
    first_wave = min((w for w in first_week.values() if w is not None), default=None)
    treated = [
        s
        for s, w in first_week.items()
        if w is not None
        and any(x < w for x in weeks_of.get(s, ()))
        and any(x >= w for x in weeks_of.get(s, ()))
    ]
    never = [s for s, w in first_week.items() if w is None and weeks_of.get(s)]
    weeks_before = (
        len({c.week for c in cells if c.week < first_wave}) if first_wave is not None else 0
    )
    if (
        len(treated) < MINIMUM_SUBJECTS
        or len(never) + _later_waves(first_week, treated) < MINIMUM_SUBJECTS
        or weeks_before < MINIMUM_WEEKS_BEFORE
    ):
        return _too_little(outcome, len(treated), len(never), weeks_before)
    overall, by_week = _callaway_santanna(cells, first_week)
    if overall is None:
        return _too_little(outcome, len(treated), len(never), weeks_before)
    horizons = tuple(HorizonEffect(days, by_week.get(days // 7)) for days in HORIZON_DAYS)
    verdict = _verdict(outcome, overall)
    return OutcomeEffect(
        outcome,
        verdict,
        overall,
        horizons,
        len(treated),
        len(never),
        _summary(outcome, verdict, overall),
    )


def _later_waves(first_week: Mapping[int, int | None], treated: Sequence[int]) -> int:
    """Subjects reached in a later wave serve as "not yet" for the earlier ones."""
    waves = sorted({w for s in treated if (w := first_week[s]) is not None})
    return sum(1 for s in treated if waves and first_week[s] != waves[0])


def _callaway_santanna(
    cells: Sequence[Cell], first_week: Mapping[int, int | None]
) -> tuple[Interval | None, dict[int, Interval]]:
    import pandas as pd
    from diff_diff import CallawaySantAnna

    frame = pd.DataFrame(
        {
            "subject": [c.subject for c in cells],
            "week": [c.week for c in cells],
            "value": [c.value for c in cells],
            "first": [first_week.get(c.subject) or 0 for c in cells],
        }
    )
    weeks = frame["week"].nunique()
    balanced = bool((frame.groupby("subject")["week"].count() == weeks).all())
    estimator = CallawaySantAnna(
        control_group="not_yet_treated",
        estimation_method="reg",
        allow_unbalanced_panel=not balanced,
    )
    # The estimator warns about thin cells (a wave with one subject, a week with none); the
    # report's own thresholds decide what is shown, so its warnings are not the reader's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = estimator.fit(
            frame, outcome="value", unit="subject", time="week", first_treat="first"
        )
        study = result.aggregate("event_study").to_dataframe()
    overall = _interval(result.overall_att, *result.overall_conf_int)
    by_week: dict[int, Interval] = {}
    for row in study.itertuples(index=False):
        data: Any = row
        found = _interval(data.att, data.conf_int_lower, data.conf_int_upper)
        if found is not None and int(data.event_time) >= 0:
            by_week[int(data.event_time)] = found
    return overall, by_week


def _interval(estimate: Any, low: Any, high: Any) -> Interval | None:
    values = (float(estimate), float(low), float(high))
    if not all(math.isfinite(v) for v in values):
        return None
    return Interval(*values)


def _verdict(outcome: Outcome, overall: Interval) -> Literal["better", "worse", "no effect shown"]:
    if overall.includes_no_change:
        return "no effect shown"
    up = overall.estimate > 0
    return "better" if up == (outcome.better == "higher") else "worse"


def format_change(outcome: Outcome, value: float) -> str:
    if outcome.unit == "share":
        return f"{value * 100:+.1f} points"
    if outcome.unit == "hours":
        return f"{value:+.1f} h"
    return f"{value:+.2f}"


def _summary(outcome: Outcome, verdict: str, overall: Interval) -> str:
    between = f"{format_change(outcome, overall.low)} to {format_change(outcome, overall.high)}"
    if verdict == "no effect shown":
        return (
            f"No effect shown on {outcome.label.lower()}: the change lies between "
            f"{format_change(outcome, overall.low)} and {format_change(outcome, overall.high)}, "
            "which includes no change."
        )
    word = "better" if verdict == "better" else "worse"
    return (
        f"{outcome.label}: {format_change(outcome, overall.estimate)} ({word}), "
        f"95% interval {between}."
    )


def _too_little(outcome: Outcome, treated: int, never: int, weeks_before: int) -> OutcomeEffect:
    return OutcomeEffect(
        outcome,
        "too little data",
        None,
        tuple(HorizonEffect(days, None) for days in HORIZON_DAYS),
        treated,
        never,
        f"Too little data to tell for {outcome.label.lower()}: {treated} taking part with weeks "
        f"measured before and after, {never} not reached, {weeks_before} weeks before the "
        f"first wave (at least {MINIMUM_SUBJECTS}, {MINIMUM_SUBJECTS} and "
        f"{MINIMUM_WEEKS_BEFORE} are needed).",
    )


def programme_effect(
    session: Session,
    level: Level,
    started: Mapping[int, datetime | None],
    start: datetime,
    end: datetime,
    *,
    outcomes: Sequence[Outcome] = OUTCOMES,
    clock: Clock = rules.UTC_CLOCK,
) -> list[OutcomeEffect]:
    """The effect of a programme that reached each subject of `level` (person, team or
    department id) at `started[subject]` (None: not yet), measured on the weeks of
    [start, end) on `clock`'s calendar. Subjects not in `started` are left out."""
    by_bucket = tallies(session, level, start, end, unit="week", clock=clock)
    starts = rules.bucket_starts(start, end, "week", clock)
    week_of_label = {rules.bucket_label(at, clock): n for n, at in enumerate(starts, 1)}
    first_week: dict[int, int | None] = {}
    for subject, at in started.items():
        if at is None or at >= end:
            first_week[subject] = None
        else:
            first_week[subject] = 1 + sum(1 for s in starts[1:] if s <= at)
    report = []
    for outcome in outcomes:
        cells = []
        for key, tally in by_bucket.items():
            subject, label = key[0], key[1]
            week = week_of_label.get(str(label))
            if subject not in first_week or week is None:
                continue
            value = outcome.value(tally)
            if value is not None:
                cells.append(Cell(int(subject), week, value))
        report.append(estimate(outcome, cells, first_week))
    return report
