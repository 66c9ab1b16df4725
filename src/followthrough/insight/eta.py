"""Calibrated timescales: an "8 in 10 within X" bound per new request that keeps its word.

A gradient-boosted quantile regression gives a first guess of the 80% point of the time to
resolve (business hours with the clock running) from the request's service, team, priority,
text, time of opening and the team's load. Conformal calibration corrects the guess on requests
the model did not see (conformalised quantile regression, one-sided), per team where a team has
enough history (Mondrian). Adaptive conformal inference (Gibbs & Candès 2021) then moves each
team's calibration level online as outcomes arrive, so the bound keeps covering 8 in 10 when
the work drifts.

Censoring is the subtle part. A request still open has taken *at least* its hours so far:
- in calibration its conformity score is a lower bound, and the score quantile is read from a
  Kaplan-Meier curve over the scores (dropping open requests would favour the quick ones);
- online, a request is a miss as soon as it passes its stated bound, not when it finally
  resolves: waiting for the resolution would report the hits (which come early) before the
  misses (which come late), and the level would drift toward too-short bounds;
- in evaluation a request counts only once its bound has passed (or it resolved within it) by
  the end of the log; a younger open request is not yet known.

Everything here is pure: no database, no clock. `now` and calendars are passed in.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from followthrough.org.rules import WorkingCalendar, add_business_hours, business_hours_between
from followthrough.timescale.rules import Observation, kaplan_meier

LEVEL = 0.8
# Step size of the online level update; about 1/gamma outcomes to react to a drift.
GAMMA = 0.005
# A team needs this many calibration requests for its own calibration; others share one.
MIN_GROUP = 80
POOLED = "*"
# At most this many distinct services or teams are told apart (the rest count as unknown).
MAX_CATEGORIES = 250
TEXT_COMPONENTS = 12
# The level actually used is kept inside this range, so the bound is always finite.
MIN_ALPHA = 0.005
MAX_ALPHA = 0.95


@dataclass(frozen=True)
class EtaQuery:
    """What is known about a request when it is raised."""

    opened_at: datetime
    service: str
    team: str
    priority: str
    text: str
    load: int


@dataclass(frozen=True)
class EtaCase:
    """A request and its outcome as known at some moment.

    `hours` is the business time with the clock running: to the resolution when `resolved`,
    else so far (a lower bound). `calendar` is the team's, to turn a bound into a time.
    """

    query: EtaQuery
    hours: float
    resolved: bool
    resolved_at: datetime | None
    calendar: WorkingCalendar


def as_of(case: EtaCase, moment: datetime) -> EtaCase:
    """The case as it was known at `moment`: open (censored) if it resolved later."""
    if case.resolved and case.resolved_at is not None and case.resolved_at <= moment:
        return case
    so_far = business_hours_between(case.calendar, case.query.opened_at, moment)
    return replace(case, hours=min(case.hours, so_far), resolved=False, resolved_at=None)


def aci_update(alpha_t: float, miss: bool, level: float = LEVEL, gamma: float = GAMMA) -> float:
    """Gibbs & Candès: alpha_{t+1} = alpha_t + gamma * (alpha - err_t).

    A miss lowers alpha (wider bounds), a hit raises it; in the long run the share of misses
    tends to 1 - level whatever the data do.
    """
    return alpha_t + gamma * ((1.0 - level) - (1.0 if miss else 0.0))


def _target(hours: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    # Quantiles commute with monotone maps, so the model works on log hours (relative errors).
    logged: np.ndarray[Any, Any] = np.log1p(np.maximum(hours, 0.0))
    return logged


class ScoreCurve:
    """The distribution of conformity scores (log-hours above the model), some censored."""

    def __init__(self, scores: Sequence[float], resolved: Sequence[bool]) -> None:
        steps = kaplan_meier(Observation(s, r) for s, r in zip(scores, resolved, strict=True))
        self.count = len(scores)
        self.times = np.array([t for t, _ in steps], dtype=float)
        self.survival = np.array([s for _, s in steps], dtype=float)
        finite = [s for s in scores if math.isfinite(s)]
        self.largest = max(finite) if finite else 0.0

    def quantile(self, q: float) -> float:
        """Smallest score s with P(score <= s) >= q, with the finite-sample correction.

        Where the curve cannot reach q (too many censored), the largest score seen is used.
        """
        corrected = min(1.0, q * (1.0 + 1.0 / max(1, self.count)))
        threshold = (1.0 - corrected) + 1e-12
        # survival is non-increasing: the first index where it falls to the threshold.
        index = int(np.searchsorted(-self.survival, -threshold, side="left"))
        if index >= len(self.times):
            return self.largest
        return float(self.times[index])


class _Encoder:
    """Turns queries into a numeric matrix; categories as codes, text as a few SVD components."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, int]] = {}
        self.tfidf: Any = None
        self.svd: Any = None

    def fit(self, queries: Sequence[EtaQuery]) -> _Encoder:
        for name in ("service", "team", "priority"):
            counts = Counter(getattr(q, name) for q in queries)
            common = [value for value, _ in counts.most_common(MAX_CATEGORIES)]
            self.codes[name] = {value: i for i, value in enumerate(sorted(common))}
        texts = [q.text for q in queries]
        tfidf = TfidfVectorizer(min_df=2, max_features=5000, sublinear_tf=True)
        try:
            matrix = tfidf.fit_transform(texts)
        except ValueError:
            # Raised when no word occurs twice: there is no text signal to learn from.
            return self
        components = min(TEXT_COMPONENTS, matrix.shape[1] - 1)
        if components >= 2:
            self.tfidf = tfidf
            # All-alike texts have no variance; sklearn then divides 0 by 0 for a ratio we
            # never read.
            with np.errstate(invalid="ignore", divide="ignore"):
                self.svd = TruncatedSVD(n_components=components, random_state=0).fit(matrix)
        return self

    @property
    def categorical(self) -> list[bool]:
        text = 0 if self.svd is None else int(self.svd.n_components)
        return [True, True, True, False, False, False] + [False] * text

    def transform(self, queries: Sequence[EtaQuery]) -> np.ndarray[Any, Any]:
        rows = np.empty((len(queries), 6), dtype=float)
        for i, q in enumerate(queries):
            for j, name in enumerate(("service", "team", "priority")):
                code = self.codes[name].get(getattr(q, name))
                rows[i, j] = np.nan if code is None else code
            rows[i, 3] = q.opened_at.hour + q.opened_at.minute / 60
            rows[i, 4] = q.opened_at.weekday()
            rows[i, 5] = q.load
        if self.svd is None:
            return rows
        text = self.svd.transform(self.tfidf.transform([q.text for q in queries]))
        return np.hstack([rows, text])


def _regressor(quantile: float, categorical: list[bool], rows: int) -> Any:
    # Shallow trees and large leaves: the quantile loss fits noise (the hour a request was
    # opened) readily, and every wiggle the model learns widens the calibrated bound.
    return HistGradientBoostingRegressor(
        loss="quantile",
        quantile=quantile,
        max_iter=100,
        learning_rate=0.06,
        max_leaf_nodes=8,
        min_samples_leaf=max(10, rows // 100),
        l2_regularization=1.0,
        categorical_features=categorical,
        early_stopping=False,
        random_state=0,
    )


@dataclass
class EtaModel:
    """A fitted model: quantile regressors, and score curves per team (or pooled)."""

    level: float
    encoder: _Encoder
    upper: Any
    middle: Any
    curves: dict[str, ScoreCurve]
    median_curves: dict[str, ScoreCurve]
    trained: int
    calibrated: int
    resolved: int

    def group_of(self, team: str) -> str:
        return team if team in self.curves else POOLED

    def base(self, queries: Sequence[EtaQuery]) -> list[BasePrediction]:
        """The regressors' guesses (log hours) for each query, before calibration."""
        if not queries:
            return []
        with threadpool_limits(limits=1):
            matrix = self.encoder.transform(queries)
            upper = self.upper.predict(matrix)
            middle = self.middle.predict(matrix)
        return [
            BasePrediction(self.group_of(q.team), float(u), float(m))
            for q, u, m in zip(queries, upper, middle, strict=True)
        ]

    def calibrate(self, base: BasePrediction, alpha: float | None = None) -> Prediction:
        """The bound at the group's current miss rate `alpha` (the nominal one if None)."""
        alpha = 1.0 - self.level if alpha is None else alpha
        alpha = min(MAX_ALPHA, max(MIN_ALPHA, alpha))
        bound = max(0.0, math.expm1(base.upper + self.curves[base.group].quantile(1.0 - alpha)))
        median = math.expm1(base.middle + self.median_curves[base.group].quantile(0.5))
        return Prediction(base.group, bound, min(max(median, 0.0), bound))

    def predict(
        self, queries: Sequence[EtaQuery], alphas: dict[str, float] | None = None
    ) -> list[Prediction]:
        """The bound (and median) in business hours for each query, at each group's ACI level."""
        levels = alphas or {}
        return [self.calibrate(b, levels.get(b.group)) for b in self.base(queries)]


@dataclass(frozen=True)
class BasePrediction:
    group: str
    upper: float
    middle: float


@dataclass(frozen=True)
class Prediction:
    group: str
    bound_hours: float
    median_hours: float


def fit_eta_model(
    cases: Sequence[EtaCase], level: float = LEVEL, calibration_share: float = 0.25
) -> EtaModel:
    """Fit on the older cases and calibrate on the newest `calibration_share` (by opening).

    Runs on one thread: a worker shares its cores with others, and OpenMP threads fighting
    over two cores made a small fit thirty times slower.

    The split is by time, never random: calibration must look like the requests to come.
    Outcomes are as the cases say (the caller censors them at the fitting moment with `as_of`).
    """
    with threadpool_limits(limits=1):
        return _fit(cases, level, calibration_share)


def _fit(cases: Sequence[EtaCase], level: float, calibration_share: float) -> EtaModel:
    ordered = sorted(cases, key=lambda c: c.query.opened_at)
    cut = int(len(ordered) * (1.0 - calibration_share))
    train, calibration = ordered[:cut], ordered[cut:]
    if len(train) < 20 or len(calibration) < 20:
        raise ValueError("need at least 20 training and 20 calibration requests")
    encoder = _Encoder().fit([c.query for c in train])
    x_train = encoder.transform([c.query for c in train])
    y_train = _target(np.array([c.hours for c in train]))
    # An open request's hours are a lower bound; the quantile loss still learns from it that
    # the time is at least that long, and calibration below corrects what bias is left.
    upper = _regressor(level, encoder.categorical, len(train)).fit(x_train, y_train)
    middle = _regressor(0.5, encoder.categorical, len(train)).fit(x_train, y_train)
    x_cal = encoder.transform([c.query for c in calibration])
    y_cal = _target(np.array([c.hours for c in calibration]))
    upper_scores = y_cal - upper.predict(x_cal)
    middle_scores = y_cal - middle.predict(x_cal)
    resolved = [c.resolved for c in calibration]
    teams = [c.query.team for c in calibration]
    curves: dict[str, ScoreCurve] = {}
    median_curves: dict[str, ScoreCurve] = {}
    for group in [POOLED, *sorted(set(teams))]:
        chosen = [i for i, t in enumerate(teams) if group in (POOLED, t)]
        if group != POOLED and len(chosen) < MIN_GROUP:
            continue
        flags = [resolved[i] for i in chosen]
        curves[group] = ScoreCurve([float(upper_scores[i]) for i in chosen], flags)
        median_curves[group] = ScoreCurve([float(middle_scores[i]) for i in chosen], flags)
    return EtaModel(
        level=level,
        encoder=encoder,
        upper=upper,
        middle=middle,
        curves=curves,
        median_curves=median_curves,
        trained=len(train),
        calibrated=len(calibration),
        resolved=sum(c.resolved for c in ordered),
    )


@dataclass(frozen=True)
class Outcome:
    """Whether a stated bound held, and when that became known."""

    known_at: datetime
    miss: bool


def outcome_of(case: EtaCase, bound_hours: float, now: datetime) -> Outcome | None:
    """The outcome of stating `bound_hours` for the case, as known at `now`; None if not yet.

    A miss is known the moment the bound passes, whether or not the request has resolved. The
    moment is taken on the calendar without the request's pauses, so it is never later than the
    real one: a paused request is counted as soon as the bound has passed on the team's clock.
    """
    opened = case.query.opened_at
    if case.resolved and case.resolved_at is not None and case.hours <= bound_hours:
        return Outcome(case.resolved_at, miss=False)
    if case.hours > bound_hours:
        due = add_business_hours(case.calendar, opened, bound_hours)
        if case.resolved_at is not None:
            due = min(due, case.resolved_at)
        return Outcome(min(due, now), miss=True)
    return None


@dataclass(frozen=True)
class TeamCoverage:
    team: str
    evaluated: int
    covered: int
    mean_width: float
    median_width: float
    not_yet_known: int

    @property
    def coverage(self) -> float:
        return self.covered / self.evaluated if self.evaluated else float("nan")


@dataclass(frozen=True)
class Evaluation:
    """Time-ordered evaluation: training and walk-forward periods, coverage per team."""

    trained_until: datetime
    evaluated_until: datetime
    train_count: int
    teams: tuple[TeamCoverage, ...]
    overall: TeamCoverage
    final_alphas: dict[str, float] = field(default_factory=dict)


def _coverage(team: str, rows: Iterable[tuple[float, bool | None]]) -> TeamCoverage:
    known = [(w, miss) for w, miss in rows if miss is not None]
    widths = [w for w, _ in known]
    return TeamCoverage(
        team=team,
        evaluated=len(known),
        covered=sum(1 for _, miss in known if not miss),
        mean_width=statistics.fmean(widths) if widths else float("nan"),
        median_width=statistics.median(widths) if widths else float("nan"),
        not_yet_known=0,
    )


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

    Each later request gets a bound at its opening from the model and the current ACI level of
    its team; every outcome feeds the level back at the moment it becomes known (a hit when the
    request resolves within its bound, a miss when the bound passes). With `refit_every` the
    model is refitted on everything known at that moment, as the sweeper would. Coverage counts
    a request once its outcome is certain by `end`: resolved within the bound, or past it.
    """
    ordered = sorted(cases, key=lambda c: c.query.opened_at)
    split = int(len(ordered) * train_share)
    if split < 40 or split >= len(ordered):
        raise ValueError("need at least 40 training requests and some to evaluate")
    trained_until = ordered[split].query.opened_at
    model = fit_eta_model([as_of(c, trained_until) for c in ordered[:split]], level)
    next_fit = None if refit_every is None else trained_until + refit_every
    alphas: dict[str, float] = {}
    pending: list[tuple[datetime, int, str, bool]] = []
    rows: dict[str, list[tuple[float, bool | None]]] = {}
    unknown: Counter[str] = Counter()
    test = ordered[split:]
    batch = 256
    for start in range(0, len(test), batch):
        chunk = test[start : start + batch]
        base = model.base([c.query for c in chunk])
        for i, case in enumerate(chunk):
            opened = case.query.opened_at
            while pending and pending[0][0] <= opened:
                _, _, group, miss = heapq.heappop(pending)
                alphas[group] = aci_update(alphas.get(group, 1.0 - level), miss, level, gamma)
            if next_fit is not None and opened >= next_fit:
                known = [as_of(c, opened) for c in ordered[: split + start + i]]
                model = fit_eta_model(known, level)
                next_fit = opened + (refit_every or timedelta(0))
                base = model.base([c.query for c in chunk])
            prediction = model.calibrate(base[i], alphas.get(base[i].group))
            outcome = outcome_of(case, prediction.bound_hours, end)
            team_rows = rows.setdefault(case.query.team, [])
            if outcome is None:
                unknown[case.query.team] += 1
                continue
            heapq.heappush(pending, (outcome.known_at, start + i, prediction.group, outcome.miss))
            due = add_business_hours(case.calendar, opened, prediction.bound_hours)
            if outcome.miss or due <= end:
                team_rows.append((prediction.bound_hours, outcome.miss))
            else:
                # Resolved within a bound that has not passed yet: only the hits of such young
                # requests are known, so counting them would flatter the coverage.
                unknown[case.query.team] += 1
    teams = tuple(
        replace(_coverage(team, team_rows), not_yet_known=unknown[team])
        for team, team_rows in sorted(rows.items())
    )
    overall = replace(
        _coverage("all teams", [r for team_rows in rows.values() for r in team_rows]),
        not_yet_known=sum(unknown.values()),
    )
    return Evaluation(
        trained_until=trained_until,
        evaluated_until=end,
        train_count=split,
        teams=teams,
        overall=overall,
        final_alphas=alphas,
    )


def history_baseline(
    cases: Sequence[EtaCase], end: datetime, *, train_share: float = 0.5, level: float = LEVEL
) -> TeamCoverage:
    """The desk core's method on the same split: each service's Kaplan-Meier quantile, fixed.

    For comparison only: the same requests count as in `walk_forward`.
    """
    ordered = sorted(cases, key=lambda c: c.query.opened_at)
    split = int(len(ordered) * train_share)
    trained_until = ordered[split].query.opened_at
    history: dict[str, list[Observation]] = {}
    for case in ordered[:split]:
        known = as_of(case, trained_until)
        history.setdefault(case.query.service, []).append(Observation(known.hours, known.resolved))
    pooled = ScoreCurve(
        [o.hours for obs in history.values() for o in obs],
        [o.resolved for obs in history.values() for o in obs],
    )
    bounds = {
        service: ScoreCurve([o.hours for o in obs], [o.resolved for o in obs]).quantile(level)
        for service, obs in history.items()
        if sum(o.resolved for o in obs) >= 20
    }
    rows: list[tuple[float, bool | None]] = []
    for case in ordered[split:]:
        bound = bounds.get(case.query.service, pooled.quantile(level))
        outcome = outcome_of(case, bound, end)
        due = add_business_hours(case.calendar, case.query.opened_at, bound)
        if outcome is not None and (outcome.miss or due <= end):
            rows.append((bound, outcome.miss))
    return _coverage("history (Kaplan-Meier per service)", rows)
