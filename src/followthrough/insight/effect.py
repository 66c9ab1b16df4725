"""What a programme changed on the desk: a staggered difference-in-differences report.

A programme (a training module, a buddy round, job shadowing) reaches people, teams or
departments in waves. For each outcome the desk already measures (promises kept, time to
accept an offer, bounces, updates on time, the requesters' ratings) the report compares how
the subjects who had taken part moved, week by week, with how those who had not (yet) moved
over the same weeks: Borusyak, Jaravel and Spiess's imputation estimator (the `diff-diff`
package). It learns each subject's level and each week's shift from the weeks in which the
subject had not (yet) taken part only, and reads the effect as the gap between what a subject
did after taking part and what those would predict; so an early wave's later weeks never serve
as another wave's baseline (the fault of a plain two-way fixed-effects regression). It uses
every week before a subject took part, not only the last one as Callaway and Sant'Anna's
estimator does, which is what makes its intervals narrow enough to read with a few subjects:
the seven departments of the demo's buddy programme left that estimator unable to tell even
halved bounces and accept times from chance. Its interval is the paper's conservative one.

It says what it can show and nothing more: an effect with its 95% interval at 30, 60 and 90
days, "no effect shown" when the interval includes no change, and "too little data" when
there are too few subjects on either side or too few weeks before the programme began.

The estimate is a pure function of a panel (`estimate`); `programme_effect` builds the panel
from the scorecard's weekly tallies and relationship health's interactions, both read from the
event history.
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from followthrough.insight import rules
from followthrough.insight.health import DayCount, interaction_counts
from followthrough.insight.rules import Tally
from followthrough.insight.scorecard import Level, tallies
from followthrough.insight.silo import load_org
from followthrough.org.local_time import Clock

Better = Literal["higher", "lower"]
HORIZON_DAYS = (30, 60, 90)
# Fewer subjects than this on either side, or fewer weeks before the first wave: too little
# data for an interval worth printing.
MINIMUM_SUBJECTS = 3
MINIMUM_WEEKS_BEFORE = 2


@dataclass(frozen=True)
class Relations:
    """How the other subjects experienced a subject in a week, as relationship health counts
    experiences (docs/insight.md): how many positive and how many negative."""

    positive: int = 0
    negative: int = 0


@dataclass(frozen=True)
class Week:
    """What one subject's week holds: its scorecard tally and its relations."""

    tally: Tally
    relations: Relations


@dataclass(frozen=True)
class Outcome:
    """A weekly figure per subject (None: nothing to measure that week)."""

    name: str
    label: str
    better: Better
    unit: str
    value: Callable[[Week], float | None]
    # Read from relationship health's interactions rather than the scorecard's tallies.
    reads_relations: bool = False


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean_rating(w: Week) -> float | None:
    t = w.tally
    if not t.ratings:
        return None
    return (t.understand + t.own + t.serve + t.communicate) / (4 * t.ratings)


def _health(w: Week) -> float | None:
    """The week's trust score without forgetting: each week's evidence stands on its own."""
    r = w.relations
    return rules.trust_score(r.positive, r.negative) if r.positive + r.negative else None


OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "promises_kept",
        "Promises kept",
        "higher",
        "share",
        lambda w: _share(w.tally.promises_kept, w.tally.promises_kept + w.tally.promises_broken),
    ),
    Outcome(
        "accept_hours",
        "Time to accept an offer",
        "lower",
        "hours",
        lambda w: w.tally.accept_seconds / w.tally.accepted / 3600 if w.tally.accepted else None,
    ),
    Outcome(
        "bounce_rate",
        "Bounces per request handled",
        "lower",
        "share",
        lambda w: _share(w.tally.bounces_caused, w.tally.handled),
    ),
    Outcome(
        "updates_on_time",
        "Updates on time",
        "higher",
        "share",
        lambda w: _share(w.tally.updates_on_time, w.tally.updates_on_time + w.tally.updates_missed),
    ),
    Outcome("rating", "Requesters' rating (1-5)", "higher", "points", _mean_rating),
)
# Between teams or departments only (a person has no relations of their own in the history):
# the trust score of the week's experiences the other subjects had of the subject.
RELATIONSHIP_HEALTH = Outcome(
    "relationship_health",
    "Relationship health: how the others experienced it (trust, 0-1)",
    "higher",
    "share",
    _health,
    reads_relations=True,
)
OUTCOME_NAMES = {o.name: o for o in (*OUTCOMES, RELATIONSHIP_HEALTH)}


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
    overall, by_week = _imputation(cells, first_week)
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


def _imputation(
    cells: Sequence[Cell], first_week: Mapping[int, int | None]
) -> tuple[Interval | None, dict[int, Interval]]:
    import pandas as pd
    from diff_diff import ImputationDiD

    frame = pd.DataFrame(
        {
            "subject": [c.subject for c in cells],
            "week": [c.week for c in cells],
            "value": [c.value for c in cells],
            "first": [first_week.get(c.subject) or 0 for c in cells],
        }
    )
    # The estimator warns about thin cells (a wave with one subject, a week with none); the
    # report's own thresholds decide what is shown, so its warnings are not the reader's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ImputationDiD(rank_deficient_action="silent").fit(
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
    panels = weekly_panels(session, level, start, end, outcomes, clock)
    first_week = first_weeks(started, rules.bucket_starts(start, end, "week", clock), end)
    return [
        estimate(
            outcome,
            [
                Cell(s, w, v)
                for (s, w), v in sorted(panels[outcome.name].items())
                if s in first_week
            ],
            first_week,
        )
        for outcome in outcomes
    ]


def first_weeks(
    started: Mapping[int, datetime | None], starts: Sequence[datetime], end: datetime
) -> dict[int, int | None]:
    """The week (numbered from 1 as `starts` begins them) each subject first took part in;
    None for those not reached before `end`."""
    return {
        subject: None if at is None or at >= end else 1 + sum(1 for s in starts[1:] if s <= at)
        for subject, at in started.items()
    }


def weekly_panels(
    session: Session,
    level: Level,
    start: datetime,
    end: datetime,
    outcomes: Sequence[Outcome],
    clock: Clock = rules.UTC_CLOCK,
) -> dict[str, dict[tuple[int, int], float]]:
    """Each outcome's figure per (subject, week numbered from 1) over the weeks of
    [start, end), for every subject with something to measure that week."""
    starts = rules.bucket_starts(start, end, "week", clock)
    week_of_label = {rules.bucket_label(at, clock): n for n, at in enumerate(starts, 1)}
    weeks: dict[tuple[int, int], Tally] = {}
    if any(not o.reads_relations for o in outcomes):
        for (subject, label), tally in tallies(
            session, level, start, end, unit="week", clock=clock
        ).items():
            week = week_of_label.get(str(label))
            if week is not None:
                weeks[(int(subject), week)] = tally
    relations: dict[tuple[int, int], Relations] = {}
    if any(o.reads_relations for o in outcomes):
        relations = _relations(session, level, start, end, starts)
    panels: dict[str, dict[tuple[int, int], float]] = {}
    for outcome in outcomes:
        panel = panels[outcome.name] = {}
        for key in relations if outcome.reads_relations else weeks:
            value = outcome.value(Week(weeks.get(key, Tally()), relations.get(key, NONE)))
            if value is not None:
                panel[key] = value
    return panels


NONE = Relations()


def _relations(
    session: Session, level: Level, start: datetime, end: datetime, starts: Sequence[datetime]
) -> dict[tuple[int, int], Relations]:
    if level == "person":
        return {}
    department_of = load_org(session).department_of if level == "department" else {}
    return weekly_relations(interaction_counts(session, start, end), department_of, starts)


def weekly_relations(
    days: Iterable[DayCount], subject_of: Mapping[int, int], starts: Sequence[datetime]
) -> dict[tuple[int, int], Relations]:
    """How the other subjects experienced each subject per week (numbered from 1 as `starts`
    begins them), from relationship health's daily counts per team pair; a team's subject is
    `subject_of[team]` (itself when not there). An experience counts for the subject it was of,
    so what a subject does shows in its own figure, not in its partners'; one inside a subject
    counts for none. A day falls in the week holding its noon (UTC), as relationship health
    reads it; days before the first week are left out."""
    counts: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for day in days:
        of = subject_of.get(day.experience_of, day.experience_of)
        if subject_of.get(day.experienced_by, day.experienced_by) == of:
            continue
        noon = datetime.fromisoformat(day.day).replace(hour=12, tzinfo=UTC)
        week = bisect.bisect_right(starts, noon)
        if week > 0:
            counts[(of, week)][0 if day.positive else 1] += day.count
    return {key: Relations(p, n) for key, (p, n) in counts.items()}
