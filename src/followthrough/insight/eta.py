"""How well the calibrated timescale keeps its word: a time-ordered evaluation on a history.

The model itself lives in `timescale.calibration`; this module only replays a history through it
(train on the older half, then state a bound to each later request as it opens, adjusting
online as outcomes become known, as the live desk does) and counts, by one rule printed with the
figures, how often the bound held. The desk core's method (each service's Kaplan-Meier
quantile, fixed at the split) is scored on exactly the same requests beside it.

Which requests count: every request opened after the split and at least `window_hours` business
hours before the log's last event, where `window_hours` is longer than 99 in 100 of the bounds
stated. The choice depends only on when a request was opened, never on how it ended or on its
own bound, so it favours neither hits nor misses. Within the window a request resolved within
its bound is covered, one whose clock passed the bound is missed, and one still open within its
bound at the end (rare, by the choice of window) is counted as missed. A request given no bound
("too little history to be sure") is counted apart. Later requests are still given bounds and
feed the online adjustment, but are not counted: their outcomes are not all known yet.

Pure: no database, no clock.
"""

from __future__ import annotations

import heapq
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from followthrough.timescale.calibration import (
    GAMMA,
    LEVEL,
    EtaCase,
    EtaModel,
    TooLittleHistory,
    aci_update,
    as_of,
    fit_eta_model,
    old_enough,
    outcome_of,
)
from followthrough.timescale.rules import Observation, conditional_quantile, kaplan_meier

# The counting window leaves out the last stretch of the log, as long as this share of bounds.
WINDOW_SHARE = 0.99
# A service needs this many resolved requests for a Kaplan-Meier bound of its own.
BASELINE_MIN_RESOLVED = 20
MODEL = "calibrated model"
BASELINE = "history (Kaplan-Meier per service)"


@dataclass(frozen=True)
class Stated:
    """What both methods stated to one request after the split, in opening order."""

    case: EtaCase
    bound_hours: float | None
    baseline_hours: float | None
    counted: bool


@dataclass(frozen=True)
class Coverage:
    """How often one method's bound held on the counted requests of one team (or all)."""

    team: str
    counted: int
    covered: int
    still_open: int
    no_bound: int
    mean_width: float
    median_width: float

    @property
    def coverage(self) -> float:
        return self.covered / self.counted if self.counted else float("nan")


@dataclass(frozen=True)
class Evaluation:
    """Time-ordered evaluation: the split, the counting window, coverage per team for both."""

    trained_until: datetime
    evaluated_until: datetime
    window_hours: float
    train_count: int
    teams: tuple[Coverage, ...]
    overall: Coverage
    baseline_teams: tuple[Coverage, ...]
    baseline_overall: Coverage
    stated: tuple[Stated, ...] = ()
    final_alphas: dict[str, float] = field(default_factory=dict)

    @property
    def not_counted(self) -> int:
        return sum(not s.counted for s in self.stated)

    def rule(self) -> str:
        """The counting rule with this evaluation's figures, in words."""
        return (
            f"Counted: every request opened from {self.trained_until:%Y-%m-%d %H:%M} on and at "
            f"least {self.window_hours:.1f} business hours before the log's last event "
            f"({self.evaluated_until:%Y-%m-%d %H:%M}); 99 in 100 bounds stated are shorter, so "
            "nearly every outcome is known. Covered: resolved within the bound. Missed: the clock "
            "passed the bound (resolved later or still open). Still open within the bound at the "
            "end: counted as missed. No bound (too little history to be sure): counted apart. "
            f"The {self.not_counted} requests opened later were given bounds and adjusted the "
            "levels but are not counted."
        )


def _verdict(case: EtaCase, bound: float) -> tuple[bool, bool]:
    """(covered, still open within the bound) for a case as known at the log's end."""
    if case.resolved and case.hours <= bound:
        return True, False
    return False, not case.resolved and case.hours <= bound


def _coverage(team: str, rows: Iterable[tuple[EtaCase, float | None]]) -> Coverage:
    widths: list[float] = []
    covered = still_open = no_bound = 0
    for case, bound in rows:
        if bound is None:
            no_bound += 1
            continue
        hit, open_within = _verdict(case, bound)
        widths.append(bound)
        covered += hit
        still_open += open_within
    return Coverage(
        team=team,
        counted=len(widths),
        covered=covered,
        still_open=still_open,
        no_bound=no_bound,
        mean_width=statistics.fmean(widths) if widths else float("nan"),
        median_width=statistics.median(widths) if widths else float("nan"),
    )


def _per_team(stated: Sequence[Stated], baseline: bool) -> tuple[tuple[Coverage, ...], Coverage]:
    rows: dict[str, list[tuple[EtaCase, float | None]]] = {}
    for s in stated:
        if s.counted:
            bound = s.baseline_hours if baseline else s.bound_hours
            rows.setdefault(s.case.query.team, []).append((s.case, bound))
    teams = tuple(_coverage(team, team_rows) for team, team_rows in sorted(rows.items()))
    overall = _coverage("all teams", [r for team_rows in rows.values() for r in team_rows])
    return teams, overall


def baseline_bounds(
    training: Sequence[EtaCase], level: float = LEVEL
) -> tuple[dict[str, float | None], float | None]:
    """Each service's Kaplan-Meier `level` quantile (services with enough resolved), and the
    pooled one for the rest; None where the curve does not reach the level."""
    history: dict[str, list[Observation]] = {}
    for case in training:
        history.setdefault(case.query.service, []).append(Observation(case.hours, case.resolved))
    pooled = conditional_quantile(kaplan_meier(o for obs in history.values() for o in obs), level)
    bounds = {
        service: conditional_quantile(kaplan_meier(obs), level)
        for service, obs in history.items()
        if sum(o.resolved for o in obs) >= BASELINE_MIN_RESOLVED
    }
    return bounds, pooled


def walk_forward(
    cases: Sequence[EtaCase],
    end: datetime,
    *,
    train_share: float = 0.5,
    level: float = LEVEL,
    gamma: float = GAMMA,
    refit_every: timedelta | None = None,
) -> Evaluation:
    """Train on the first `train_share` of the cases by opening time, then walk forward.

    Each later request gets a bound at its opening from the model and its team's current level;
    every outcome feeds the level back when the bound passes (a hit if the request resolved
    within it, else a miss), as the sweeper does; a request given no bound is a hit at once, as
    in Gibbs & Candès. With `refit_every` the model is refitted on everything known
    at that moment, as the sweeper would. `cases` are as known at `end`, the log's last event.
    Raises ValueError (TooLittleHistory) when the older part is too short to learn from.
    """
    ordered = sorted(cases, key=lambda c: c.query.opened_at)
    split = int(len(ordered) * train_share)
    if split < 40 or split >= len(ordered):
        raise TooLittleHistory("need at least 40 training requests and some to evaluate")
    trained_until = ordered[split].query.opened_at
    training = [as_of(c, trained_until) for c in ordered[:split]]
    model: EtaModel = fit_eta_model(training, trained_until, level)
    service_bounds, pooled_bound = baseline_bounds(training, level)
    next_fit = None if refit_every is None else trained_until + refit_every
    alphas: dict[str, float] = {}
    pending: list[tuple[datetime, int, str, bool]] = []
    bounds: list[tuple[EtaCase, float | None, float | None]] = []
    test = ordered[split:]
    batch = 256
    for start in range(0, len(test), batch):
        chunk = test[start : start + batch]
        base = model.base([c.query for c in chunk])
        for i, case in enumerate(chunk):
            opened = case.query.opened_at
            while pending and pending[0][0] <= opened:
                _, _, team, miss = heapq.heappop(pending)
                alphas[team] = aci_update(alphas.get(team, 1.0 - level), miss, level, gamma)
            if next_fit is not None and opened >= next_fit:
                known = [as_of(c, opened) for c in ordered[: split + start + i]]
                try:
                    model = fit_eta_model(known, opened, level)
                    base = model.base([c.query for c in chunk])
                except TooLittleHistory:
                    pass  # keep the model we have, as the sweeper does
                next_fit = opened + (refit_every or timedelta(0))
            prediction = model.calibrate(base[i], alphas.get(case.query.team))
            baseline = service_bounds.get(case.query.service, pooled_bound)
            bounds.append((case, prediction.bound_hours, baseline))
            team = case.query.team
            if prediction.bound_hours is None:
                alphas[team] = aci_update(alphas.get(team, 1.0 - level), False, level, gamma)
                continue
            outcome = outcome_of(case, prediction.bound_hours, end)
            if outcome is not None:
                heapq.heappush(pending, (outcome.known_at, start + i, team, outcome.miss))
    finite = [b for _, m, k in bounds for b in (m, k) if b is not None]
    window = float(np.quantile(finite, WINDOW_SHARE)) if finite else 0.0
    stated = tuple(
        Stated(case, bound, baseline, old_enough(case, window, end))
        for case, bound, baseline in bounds
    )
    teams, overall = _per_team(stated, baseline=False)
    baseline_teams, baseline_overall = _per_team(stated, baseline=True)
    return Evaluation(
        trained_until=trained_until,
        evaluated_until=end,
        window_hours=window,
        train_count=split,
        teams=teams,
        overall=overall,
        baseline_teams=baseline_teams,
        baseline_overall=baseline_overall,
        stated=stated,
        final_alphas=alphas,
    )
