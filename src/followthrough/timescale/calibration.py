"""Calibrated timescales: an "8 in 10 within X" bound per new request that keeps its word.

A gradient-boosted quantile regression gives a first guess of the 80% point of the time to
resolve (business hours with the clock running) from the request's service, team, priority,
text, time of opening and the team's load. Conformal calibration corrects the guess on requests
the model did not see (conformalised quantile regression, one-sided), per team where a team has
enough history (Mondrian). Adaptive conformal inference (Gibbs & Candès 2021) then moves each
team's level online as outcomes arrive, so the bound keeps covering 8 in 10 when the work drifts.

Censoring (requests still open) is the subtle part, and the rule is: never claim more than the
history shows.
- The regressors learn only from requests old enough that we know how nearly all of their kind
  ended: opened at least the *follow-up* of their service (or team) before the fitting moment,
  the time within which 9 in 10 of them resolve, read from a Kaplan-Meier curve. Which requests
  qualify depends only on when they were opened, never on how they ended.
- Calibration uses the newest of those and every younger request, each judged only at bounds
  its follow-up reaches (`ConformityScores`); a request still open there counts as *not* within
  the bound (conservative, so still valid). When the history cannot certify the level the
  model says so (`Prediction.bound_hours is None`, with `at_least_hours`: fewer than 8 in 10 are
  known to finish within that) instead of falling back to the largest score seen.
- Online, every outcome is learnt when its bound passes: a miss then, whether or not the request
  has resolved since, and a hit then too (not at its resolution, which would report the quick
  hits before the misses). The level has no floor, so a run of misses widens the bound as far
  as it must, until the history can no longer certify it and the model says so.

Everything here is pure: no database, no clock. `now` and calendars are passed in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from followthrough.org.rules import WorkingCalendar, add_business_hours, business_hours_between
from followthrough.timescale.rules import Observation, conditional_quantile, kaplan_meier

LEVEL = 0.8
# Step size of the online level update; about 1/gamma outcomes to react to a drift.
GAMMA = 0.005
# A team needs this many calibration requests for its own calibration; others share one.
MIN_GROUP = 80
POOLED = "*"
# At most this many distinct services or teams are told apart (the rest count as unknown).
MAX_CATEGORIES = 250
TEXT_COMPONENTS = 12
# A request is old enough to learn from when this share of its service's requests resolve within
# the time since it was opened (so nearly every outcome among those we learn from is known).
FOLLOW_UP_SHARE = 0.9
# Fewer than this many requests old enough to learn from (training and calibration each): no model.
MIN_FIT = 20
# A service with this many requests has a follow-up of its own; others take their team's.
MIN_FOLLOW_UP_GROUP = 50
# "More than X" needs at least this many requests judged at X.
MIN_JUDGED = 20


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


class TooLittleHistory(ValueError):
    """Not enough requests old enough to learn from; the message says how many and why."""


def as_of(case: EtaCase, moment: datetime) -> EtaCase:
    """The case as it was known at `moment`: open (censored) if it resolved later."""
    if case.resolved and case.resolved_at is not None and case.resolved_at <= moment:
        return case
    so_far = business_hours_between(case.calendar, case.query.opened_at, moment)
    return replace(case, hours=min(case.hours, so_far), resolved=False, resolved_at=None)


def aci_update(alpha_t: float, miss: bool, level: float = LEVEL, gamma: float = GAMMA) -> float:
    """Gibbs & Candès: alpha_{t+1} = alpha_t + gamma * (alpha - err_t).

    A miss lowers alpha (wider bounds), a hit raises it; in the long run the share of misses
    tends to 1 - level whatever the data do. Not clamped: at alpha <= 0 no finite bound is
    claimed, and the hits that follow bring it back.
    """
    return alpha_t + gamma * ((1.0 - level) - (1.0 if miss else 0.0))


def _target(hours: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    # Quantiles commute with monotone maps, so the model works on log hours (relative errors).
    logged: np.ndarray[Any, Any] = np.log1p(np.maximum(hours, 0.0))
    return logged


class ConformityScores:
    """Conformity scores (log-hours above the model's guess) of calibration requests, each with
    its *reach*: the largest score at which its outcome could be judged by the fitting moment
    (the follow-up it had, on the same scale).

    At a score s (a bound), only the requests whose reach is at least s are judged, resolved or
    not: which ones depends on when they were opened and on the model's guess, never on how
    they ended. Judging a quickly resolved young request but not its still-open twin would count
    the hits before the misses. Among the judged, a request is within s if it resolved with a
    score at most s; one still open is not (conservative: its bound only gets wider).
    """

    def __init__(
        self, scores: Sequence[float], resolved: Sequence[bool], reach: Sequence[float]
    ) -> None:
        pairs = list(zip(scores, resolved, reach, strict=True))
        self.count = len(pairs)
        self.resolved_scores = np.sort([s for s, r, _ in pairs if r])
        # A resolved score never lies beyond its reach (it resolved within its follow-up).
        self.resolved_reach = np.sort([max(s, f) for s, r, f in pairs if r])
        self.reach = np.sort([max(s, f) if r else f for s, r, f in pairs])
        candidates = self.resolved_scores
        within = np.searchsorted(candidates, candidates, side="right") - np.searchsorted(
            self.resolved_reach, candidates, side="left"
        )
        judged = len(self.reach) - np.searchsorted(self.reach, candidates, side="left")
        self.within: np.ndarray[Any, Any] = within
        self.judged: np.ndarray[Any, Any] = judged

    def quantile(self, q: float) -> float | None:
        """Smallest score s such that, among the n requests judged at s, at least q (n + 1)
        resolved within it (split conformal's finite-sample correction).

        None when the history cannot certify q: too few requests can be judged that far, too
        many of them are still open, or q so close to 1 that even all of them would not do.
        """
        if q <= 0.0:
            return -math.inf
        enough = np.nonzero(self.within >= q * (self.judged + 1) - 1e-9)[0]
        if len(enough) == 0:
            return None
        return float(self.resolved_scores[enough[0]])

    def at_least(self, q: float) -> float:
        """The largest score at which at least MIN_JUDGED requests are judged and fewer than
        q (n + 1) of them are within it: the q-bound, as far as the history shows, lies beyond."""
        short = (self.within < q * (self.judged + 1) - 1e-9) & (self.judged >= MIN_JUDGED)
        found = np.nonzero(short)[0]
        if len(found) == 0:
            return float(self.resolved_scores[0]) if len(self.resolved_scores) else 0.0
        return float(self.resolved_scores[found[-1]])


class _Encoder:
    """Turns queries into a numeric matrix; categories as codes, text as a few SVD components."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, int]] = {}
        self.tfidf: Any = None
        self.svd: Any = None

    def fit(self, queries: Sequence[EtaQuery]) -> _Encoder:
        # scikit-learn is imported where a model is fitted, not when the module is: it is 1.7 s
        # of CPU at every start of the command line and of every test process.
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

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
    from sklearn.ensemble import HistGradientBoostingRegressor

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


@dataclass(frozen=True)
class BasePrediction:
    """The regressors' guesses (log hours) before calibration, and where they calibrate."""

    team: str
    group: str
    upper: float
    middle: float


@dataclass(frozen=True)
class Prediction:
    """The 8-in-10 bound in business hours, or None when the history cannot certify one.

    `at_least_hours`: fewer than 8 in 10 such requests can be resolved within this, as far as
    the history shows; it is what "more than …" says when there is no bound.
    """

    team: str
    group: str
    bound_hours: float | None
    median_hours: float | None
    at_least_hours: float


@dataclass
class EtaModel:
    """A fitted model: quantile regressors, and conformity scores per team (or pooled)."""

    level: float
    encoder: _Encoder
    upper: Any
    middle: Any
    scores: dict[str, ConformityScores]
    median_scores: dict[str, ConformityScores]
    trained: int
    calibrated: int
    resolved: int
    # Business hours of follow-up a request needed to be learned from, per team and per
    # (team, service) where the service has enough requests of its own.
    follow_up: dict[str, float]
    # Requests too young to learn from at the fitting moment (left out of fit and calibration).
    too_young: int

    def group_of(self, team: str) -> str:
        return team if team in self.scores else POOLED

    def base(self, queries: Sequence[EtaQuery]) -> list[BasePrediction]:
        """The regressors' guesses (log hours) for each query, before calibration."""
        if not queries:
            return []
        with threadpool_limits(limits=1):
            matrix = self.encoder.transform(queries)
            upper = self.upper.predict(matrix)
            middle = self.middle.predict(matrix)
        return [
            BasePrediction(q.team, self.group_of(q.team), float(u), float(m))
            for q, u, m in zip(queries, upper, middle, strict=True)
        ]

    def calibrate(self, base: BasePrediction, alpha: float | None = None) -> Prediction:
        """The bound at the team's current miss rate `alpha` (the nominal one if None).

        No clamp: an alpha at or below zero asks for more than any history certifies, and the
        answer is then "no bound" rather than the largest score seen.
        """
        alpha = 1.0 - self.level if alpha is None else alpha
        scores = self.scores[base.group]
        score = scores.quantile(1.0 - alpha)
        at_least = max(0.0, math.expm1(base.upper + scores.at_least(1.0 - alpha)))
        bound = None if score is None else max(0.0, math.expm1(base.upper + score))
        middle_score = self.median_scores[base.group].quantile(0.5)
        median = None if middle_score is None else max(0.0, math.expm1(base.middle + middle_score))
        if bound is not None and median is not None:
            median = min(median, bound)
        return Prediction(base.team, base.group, bound, median, at_least)

    def predict(
        self, queries: Sequence[EtaQuery], alphas: dict[str, float] | None = None
    ) -> list[Prediction]:
        """The bound (and median) in business hours for each query, at each team's ACI level."""
        levels = alphas or {}
        return [self.calibrate(b, levels.get(b.team)) for b in self.base(queries)]


def follow_up_hours(cases: Sequence[EtaCase], share: float = FOLLOW_UP_SHARE) -> float:
    """Business hours within which `share` of these requests resolve (Kaplan-Meier, so the
    still-open count as at least their hours so far); the longest resolution seen when the
    curve does not reach `share`; infinite (nothing is old enough) when none resolved."""
    steps = kaplan_meier(Observation(c.hours, c.resolved) for c in cases)
    found = conditional_quantile(steps, share)
    if found is not None:
        return found
    return max((c.hours for c in cases if c.resolved), default=math.inf)


def old_enough(case: EtaCase, follow_up: float, moment: datetime) -> bool:
    """True when `follow_up` business hours passed between the case's opening and `moment`."""
    if not math.isfinite(follow_up):
        return False
    return add_business_hours(case.calendar, case.query.opened_at, follow_up) <= moment


def follow_up_by_kind(cases: Sequence[EtaCase]) -> dict[str, float]:
    """Follow-up per team, and per team and service ("team/service") with enough requests."""
    kinds: dict[str, list[EtaCase]] = {}
    for case in cases:
        kinds.setdefault(case.query.team, []).append(case)
        kinds.setdefault(f"{case.query.team}/{case.query.service}", []).append(case)
    return {
        kind: follow_up_hours(members)
        for kind, members in kinds.items()
        if "/" not in kind or len(members) >= MIN_FOLLOW_UP_GROUP
    }


def follow_up_of(follow_up: dict[str, float], query: EtaQuery) -> float:
    found = follow_up.get(f"{query.team}/{query.service}")
    return follow_up[query.team] if found is None else found


def fit_eta_model(
    cases: Sequence[EtaCase],
    moment: datetime,
    level: float = LEVEL,
    calibration_share: float = 0.25,
) -> EtaModel:
    """Fit on requests old enough to learn from at `moment`; calibrate on the newer ones.

    `cases` are as known at `moment` (the caller censors them with `as_of`). A request is old
    enough when the follow-up (FOLLOW_UP_SHARE) of its service, or of its team for a small
    service, has passed since it was opened. The older (1 - `calibration_share`) of those train;
    the rest and every younger request calibrate, each judged only as far as its follow-up
    reaches. Raises TooLittleHistory when fewer than MIN_FIT old enough requests are left for
    training or for calibration.

    Runs on one thread: a worker shares its cores with others, and OpenMP threads fighting
    over two cores made a small fit thirty times slower.
    """
    with threadpool_limits(limits=1):
        return _fit(cases, moment, level, calibration_share)


def _follow_up_so_far(case: EtaCase, moment: datetime) -> float:
    """Business hours the case had been followed (clock running) by `moment`."""
    if not case.resolved:
        return case.hours
    # Pauses before the resolution are not known here, so this can be a little long; it only
    # lets a resolved request be judged at a slightly larger bound than it could be.
    return max(case.hours, business_hours_between(case.calendar, case.query.opened_at, moment))


def _fit(
    cases: Sequence[EtaCase], moment: datetime, level: float, calibration_share: float
) -> EtaModel:
    follow_up = follow_up_by_kind(cases)
    usable: list[EtaCase] = []
    young: list[EtaCase] = []
    for case in sorted(cases, key=lambda c: c.query.opened_at):
        enough = old_enough(case, follow_up_of(follow_up, case.query), moment)
        (usable if enough else young).append(case)
    cut = int(len(usable) * (1.0 - calibration_share))
    # The newest of the old enough requests and every younger one calibrate; each is judged
    # only at bounds its follow-up reaches (ConformityScores).
    train, calibration = usable[:cut], usable[cut:] + young
    if len(train) < MIN_FIT or len(usable) - cut < MIN_FIT:
        raise TooLittleHistory(
            f"only {len(usable)} of {len(cases)} requests are old enough to learn from "
            f"(opened long enough ago that 9 in 10 like them would have been resolved); "
            f"need at least {2 * MIN_FIT}"
        )
    encoder = _Encoder().fit([c.query for c in train])
    x_train = encoder.transform([c.query for c in train])
    y_train = _target(np.array([c.hours for c in train]))
    # An open request's hours are a lower bound; the quantile loss still learns from it that
    # the time is at least that long, and calibration below corrects what bias is left.
    upper = _regressor(level, encoder.categorical, len(train)).fit(x_train, y_train)
    middle = _regressor(0.5, encoder.categorical, len(train)).fit(x_train, y_train)
    x_cal = encoder.transform([c.query for c in calibration])
    y_cal = _target(np.array([c.hours for c in calibration]))
    followed = _target(np.array([_follow_up_so_far(c, moment) for c in calibration]))
    guess_upper = upper.predict(x_cal)
    guess_middle = middle.predict(x_cal)
    resolved = [c.resolved for c in calibration]
    teams = [c.query.team for c in calibration]
    scores: dict[str, ConformityScores] = {}
    median_scores: dict[str, ConformityScores] = {}
    for group in [POOLED, *sorted(set(teams))]:
        chosen = [i for i, t in enumerate(teams) if group in (POOLED, t)]
        if group != POOLED and len(chosen) < MIN_GROUP:
            continue
        flags = [resolved[i] for i in chosen]
        for guess, into in ((guess_upper, scores), (guess_middle, median_scores)):
            into[group] = ConformityScores(
                [float(y_cal[i] - guess[i]) for i in chosen],
                flags,
                [float(followed[i] - guess[i]) for i in chosen],
            )
    return EtaModel(
        level=level,
        encoder=encoder,
        upper=upper,
        middle=middle,
        scores=scores,
        median_scores=median_scores,
        trained=len(train),
        calibrated=len(calibration),
        resolved=sum(c.resolved for c in cases),
        follow_up=follow_up,
        too_young=len(young),
    )


@dataclass(frozen=True)
class Outcome:
    """Whether a stated bound held, and when that became known."""

    known_at: datetime
    miss: bool


def outcome_of(case: EtaCase, bound_hours: float, now: datetime) -> Outcome | None:
    """The outcome of stating `bound_hours` for the case, as known at `now`; None if not yet.

    Every outcome is learnt when the bound passes: a miss the moment it passes, whether or not
    the request has resolved, and a hit (resolved within it) at that same moment, not at the
    resolution. Learning the hits at resolution would report them (they come early) before the
    misses (which come when the bound passes), and the level would first drift toward too-short
    bounds. The moment is taken on the team's calendar without the request's pauses, so a miss
    is never counted later than it happened.
    """
    opened = case.query.opened_at
    due = add_business_hours(case.calendar, opened, bound_hours)
    if case.resolved and case.resolved_at is not None and case.hours <= bound_hours:
        known = max(due, case.resolved_at)
        return Outcome(known, miss=False) if known <= now else None
    if case.hours > bound_hours:
        if case.resolved_at is not None:
            due = min(due, case.resolved_at)
        return Outcome(min(due, now), miss=True)
    return None
