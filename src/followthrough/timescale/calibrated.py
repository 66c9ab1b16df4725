"""Calibrated timescales over the database: fit, store, load, state bounds, learn from outcomes.

Fitting reads the history in a read-only transaction and writes the fitted model in a short one,
so it never holds SQLite's write lock for the seconds a fit takes; the request path only loads
the stored model (unpickled once per process and model) and predicts one row. Fitting and
settling outcomes are scheduled work (`timescale.scheduled`); a read never fits or stores.

The history's windows (the last year, the resolved requests a fit needs) are counted back from
the history's own last event, not from today: an imported history that ended last spring is
still a year of history.
"""

from __future__ import annotations

import bisect
import pickle
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followthrough.db import Database
from followthrough.org.models import Service, Team
from followthrough.org.rules import WorkingCalendar, add_business_hours
from followthrough.org.snapshot import org_snapshot
from followthrough.requests.models import PathStep, Request
from followthrough.requests.rules import OPEN_STATES
from followthrough.timescale.calibration import (
    EtaCase,
    EtaModel,
    EtaQuery,
    TooLittleHistory,
    aci_update,
    fit_eta_model,
)
from followthrough.timescale.models import EtaModelRow, EtaPrediction
from followthrough.timescale.rules import (
    Estimate,
    EstimateBasis,
    describe_hours,
    source_of,
    too_little_history_sentence,
    with_source,
    worked_hours,
)

# Below this many resolved requests the Kaplan-Meier curve per service is the better guide.
MIN_CALIBRATED_HISTORY = 500
HISTORY_WINDOW = timedelta(days=365)
HISTORY_LIMIT = 50_000
MODEL_MAX_AGE = timedelta(hours=24)
# Models kept in the table (the newest ones); older ones are deleted after a refit.
MODELS_KEPT = 3
OUTCOME_BATCH = 500
# EtaPrediction.outcome of a request told "more than …; too little history to be sure": no
# bound to settle, but the level learns at once that nothing was missed (Gibbs & Candès).
NO_BOUND = "no_bound"

_loaded: dict[int, EtaModel] = {}
_loaded_lock = threading.Lock()


def _calendars(session: Session) -> dict[int, WorkingCalendar]:
    return {team.id: team.calendar for team in org_snapshot(session).teams.values()}


def _opening_teams(session: Session, since: datetime) -> dict[int, int]:
    """The team each request was first sent to (its first path step)."""
    first = (
        select(func.min(PathStep.id))
        .join(Request, Request.id == PathStep.request_id)
        .where(Request.opened_at >= since)
        .group_by(PathStep.request_id)
    )
    rows = session.execute(
        select(PathStep.request_id, PathStep.team_id).where(PathStep.id.in_(first))
    )
    return {int(r): int(t) for r, t in rows}


class _Load:
    """Open requests per team at any instant, from openings and ends sorted once."""

    def __init__(self) -> None:
        self.opened: dict[int, list[datetime]] = {}
        self.ended: dict[int, list[datetime]] = {}

    def add(self, team_id: int, opened_at: datetime, ended_at: datetime | None) -> None:
        self.opened.setdefault(team_id, []).append(opened_at)
        if ended_at is not None:
            self.ended.setdefault(team_id, []).append(ended_at)

    def freeze(self) -> None:
        for times in (*self.opened.values(), *self.ended.values()):
            times.sort()

    def at(self, team_id: int, moment: datetime) -> int:
        opened = bisect.bisect_left(self.opened.get(team_id, []), moment)
        ended = bisect.bisect_right(self.ended.get(team_id, []), moment)
        return max(0, opened - ended)


def history_end(session: Session, now: datetime) -> datetime | None:
    """The last moment the history knows about: its newest opening, resolution or close (never
    after `now`). Requests written without events (an older import) count as well."""
    row = session.execute(
        select(
            func.max(Request.opened_at), func.max(Request.resolved_at), func.max(Request.closed_at)
        )
    ).one()
    moments = [m for m in row if m is not None]
    return min(max(moments), now) if moments else None


def load_eta_cases(session: Session, now: datetime, since: datetime | None = None) -> list[EtaCase]:
    """Every request opened in [since, now] as the model sees it, its outcome as known at `now`.

    The team is the one the request was first sent to (the team whose bound is stated), and
    hours are counted on its calendar, pauses excluded. Requests closed without a resolution
    (cancelled) tell nothing about the time to resolve and are left out.
    """
    since = since or now - HISTORY_WINDOW
    calendars = _calendars(session)
    teams = {int(i): str(n) for i, n in session.execute(select(Team.id, Team.name))}
    services = {int(i): str(n) for i, n in session.execute(select(Service.id, Service.name))}
    first_team = _opening_teams(session, since)
    rows = session.execute(
        select(
            Request.id,
            Request.title,
            Request.need,
            Request.priority,
            Request.service_id,
            Request.team_id,
            Request.opened_at,
            Request.resolved_at,
            Request.closed_at,
            Request.state,
            Request.paused_business_seconds,
            Request.clock_paused_at,
        )
        .where(Request.opened_at >= since, Request.opened_at <= now)
        .order_by(Request.opened_at.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    load = _Load()
    for row in rows:
        ended = row.resolved_at if row.resolved_at is not None else row.closed_at
        load.add(first_team.get(row.id, row.team_id), row.opened_at, ended)
    load.freeze()
    cases = []
    for row in reversed(rows):
        resolved = row.resolved_at is not None and row.resolved_at <= now
        if not resolved and row.state not in OPEN_STATES:
            continue
        team_id = first_team.get(row.id, row.team_id)
        calendar = calendars[team_id]
        end = row.resolved_at if resolved else now
        hours = worked_hours(
            calendar,
            row.opened_at,
            end,
            row.paused_business_seconds,
            None if resolved else row.clock_paused_at,
        )
        query = EtaQuery(
            opened_at=row.opened_at,
            service="" if row.service_id is None else services[row.service_id],
            team=teams[team_id],
            priority=row.priority,
            text=f"{row.title} {row.need}",
            load=load.at(team_id, row.opened_at),
        )
        cases.append(
            EtaCase(query, hours, resolved, row.resolved_at if resolved else None, calendar)
        )
    return cases


@dataclass(frozen=True)
class FitResult:
    """What a fit did, in words a person running `eta-fit` can act on."""

    model: EtaModel | None
    message: str


def fit_from_history(session: Session, now: datetime) -> FitResult:
    """A model fitted on the year of history before its last event, or why there is none."""
    end = history_end(session, now)
    if end is None:
        return FitResult(None, "the history is empty: timescales stay with the history curves")
    since = end - HISTORY_WINDOW
    resolved = session.scalar(
        select(func.count())
        .select_from(Request)
        .where(
            Request.resolved_at.is_not(None),
            Request.resolved_at <= end,
            Request.opened_at >= since,
        )
    )
    window = f"the year before the history's last event ({since:%Y-%m-%d} to {end:%Y-%m-%d})"
    if (resolved or 0) < MIN_CALIBRATED_HISTORY:
        return FitResult(
            None,
            f"only {resolved or 0} requests resolved in {window}; the calibrated model needs "
            f"{MIN_CALIBRATED_HISTORY}: timescales stay with the history curves",
        )
    cases = load_eta_cases(session, end, since)
    try:
        model = fit_eta_model(cases, end)
    except TooLittleHistory as exc:
        return FitResult(None, f"{exc} in {window}: timescales stay with the history curves")
    message = f"fitted on {model.trained} and calibrated on {model.calibrated} requests of {window}"
    if model.too_young:
        message += (
            f"; {model.too_young} of these were too young to learn from (too many like them "
            "would still be open) and calibrate only as far as their follow-up reaches"
        )
    return FitResult(model, message)


def store_model(session: Session, model: EtaModel, now: datetime) -> EtaModelRow:
    """Save a fitted model; it inherits the ACI levels of the model it replaces."""
    previous = session.scalar(select(EtaModelRow).order_by(EtaModelRow.id.desc()).limit(1))
    inherited = {} if previous is None else {k: float(v) for k, v in previous.alphas.items()}
    row = EtaModelRow(
        fitted_at=now,
        level=model.level,
        trained_count=model.trained,
        calibrated_count=model.calibrated,
        resolved_count=model.resolved,
        alphas=inherited,
        outcomes_seen=0,
        model=pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL),
    )
    session.add(row)
    session.flush()
    stale = select(EtaModelRow.id).order_by(EtaModelRow.id.desc()).offset(MODELS_KEPT)
    for old in session.scalars(select(EtaModelRow).where(EtaModelRow.id.in_(stale))):
        still_cited = session.scalar(
            select(func.count()).select_from(EtaPrediction).where(EtaPrediction.model_id == old.id)
        )
        if not still_cited:
            session.delete(old)
    session.flush()
    return row


def model_is_stale(session: Session, now: datetime) -> bool:
    fitted = session.scalar(select(func.max(EtaModelRow.fitted_at)))
    return fitted is None or fitted < now - MODEL_MAX_AGE


def refresh_eta_model(database: Database, now: datetime, *, force: bool = False) -> FitResult:
    """Refit when the newest model is older than MODEL_MAX_AGE (or `force`).

    Reading and fitting run in a read-only transaction, writing in a short one of its own.
    """
    with database.unit_of_work(readonly=True) as session:
        if not force and not model_is_stale(session, now):
            return FitResult(None, "the model is fresh")
        result = fit_from_history(session, now)
    if result.model is not None:
        with database.unit_of_work() as session:
            store_model(session, result.model, now)
    return result


@dataclass(frozen=True)
class CurrentModel:
    """The newest model and its levels, as read at the start of a transaction."""

    row_id: int
    model: EtaModel
    alphas: dict[str, float]


def current_model(session: Session) -> CurrentModel | None:
    """The newest fitted model, unpickled once per process (models never change once stored)."""
    head = session.execute(
        select(EtaModelRow.id, EtaModelRow.alphas, EtaModelRow.fitted_at)
        .order_by(EtaModelRow.id.desc())
        .limit(1)
    ).first()
    if head is None:
        return None
    with _loaded_lock:
        model = _loaded.get(head.id)
    if model is None:
        # Only a model we have not loaded yet is read and unpickled: the blob is large, and a
        # stored model never changes, so its row id identifies it.
        blob = session.scalar(select(EtaModelRow.model).where(EtaModelRow.id == head.id))
        assert blob is not None
        try:
            # Our own table, written by our own fit: the bytes are as trusted as the database.
            loaded = pickle.loads(blob)
        except (AttributeError, ImportError):
            loaded = None  # pickled by a version whose classes have since moved
        if not isinstance(loaded, EtaModel):
            # Stored by an earlier version of the model: ignored until the next refit.
            return None
        model = loaded
        with _loaded_lock:
            _loaded.clear()
            _loaded[head.id] = model
    return CurrentModel(head.id, model, {k: float(v) for k, v in head.alphas.items()})


def team_load(session: Session, team_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Request)
            .where(Request.team_id == team_id, Request.state.in_(OPEN_STATES))
        )
        or 0
    )


def query_for(session: Session, request: Request) -> EtaQuery:
    org = org_snapshot(session)
    team = org.team(request.team_id)
    service = None if request.service_id is None else org.services.get(request.service_id)
    return EtaQuery(
        opened_at=request.opened_at,
        service="" if service is None else service.name,
        team=team.name,
        priority=request.priority,
        text=f"{request.title} {request.need}",
        load=max(0, team_load(session, team.id) - (1 if request.state in OPEN_STATES else 0)),
    )


def calibrated_basis(bound_hours: float, hours_per_day: float) -> str:
    span = describe_hours(bound_hours, hours_per_day)
    return with_source(
        f"8 in 10 similar requests are resolved within {span}", EstimateBasis.CALIBRATED
    )


def _may_have_a_live_bound(request: Request) -> bool:
    """False when the request's last estimate came from the history curve or the target: it was
    never given a calibrated bound, or its bound has passed, and worked time only adds up.
    Either way there is no stated bound to look up. ("Too little history" may be the model's
    statement, recorded like a bound, so it is looked up.)"""
    return source_of(request.eta_basis) in (
        None,
        EstimateBasis.CALIBRATED,
        EstimateBasis.TOO_LITTLE_HISTORY,
    )


def calibrated_estimate(
    session: Session,
    request: Request,
    now: datetime,
    elapsed: float,
    calendar: WorkingCalendar,
    *,
    opened: bool = False,
) -> Estimate | None:
    """The calibrated estimate, or None to fall back to the history curve.

    A bound is stated once, when the request is opened (`opened`: in this transaction, so
    nothing can have been stated yet), and recorded so its outcome can teach the model; later
    estimates count down from it. When the history cannot certify 8 in 10 for this request the
    estimate says "more than …; too little history to be sure" and promises no date. None when
    there is no model, when the request was opened before the model and so was never given a
    calibrated bound, or when the bound has passed (then the history curve, conditional on the
    time spent, is the honest guide).
    """
    hours_per_day = calendar.business_seconds_per_day / 3600
    if opened and request.eta_basis is None:
        # Opened in this transaction and not estimated yet: nothing can have been stated. (A
        # second change in the same transaction finds the basis stamped and looks.)
        stated = None
    elif _may_have_a_live_bound(request):
        stated = session.get(EtaPrediction, request.id)
    else:
        stated = None
    if stated is not None:
        if stated.outcome == NO_BOUND or elapsed >= stated.bound_hours:
            return None
        return Estimate(
            median_hours=None,
            likely_hours=stated.bound_hours - elapsed,
            basis=calibrated_basis(stated.bound_hours, hours_per_day),
            from_history=True,
            kind=EstimateBasis.CALIBRATED,
        )
    if request.state != "new" or elapsed > 0.0 or request.id is None:
        return None
    current = current_model(session)
    if current is None:
        return None
    prediction = current.model.predict([query_for(session, request)], current.alphas)[0]
    if prediction.bound_hours is None:
        session.add(
            EtaPrediction(
                request_id=request.id,
                model_id=current.row_id,
                group=prediction.team,
                stated_at=now,
                bound_hours=prediction.at_least_hours,
                due_at=now,
                outcome=NO_BOUND,
            )
        )
        return Estimate(
            median_hours=None,
            likely_hours=prediction.at_least_hours,
            basis=too_little_history_sentence(prediction.at_least_hours, hours_per_day),
            from_history=True,
            kind=EstimateBasis.TOO_LITTLE_HISTORY,
        )
    session.add(
        EtaPrediction(
            request_id=request.id,
            model_id=current.row_id,
            group=prediction.team,
            stated_at=now,
            bound_hours=prediction.bound_hours,
            due_at=add_business_hours(calendar, now, prediction.bound_hours),
            outcome="pending",
        )
    )
    return Estimate(
        median_hours=prediction.median_hours,
        likely_hours=prediction.bound_hours,
        basis=calibrated_basis(prediction.bound_hours, hours_per_day),
        from_history=True,
        kind=EstimateBasis.CALIBRATED,
    )


def calibrated_preview(
    session: Session, service_id: int, team_id: int, now: datetime, hours_per_day: float
) -> Estimate | None:
    """What the calibrated model would tell a request for this service raised now (normal
    priority, nothing written yet), so the raise page shows the same source the request will;
    None without a model. Nothing is recorded: a preview states no bound."""
    current = current_model(session)
    if current is None:
        return None
    org = org_snapshot(session)
    query = EtaQuery(
        opened_at=now,
        service=org.services[service_id].name,
        team=org.team(team_id).name,
        priority="normal",
        text="",
        load=team_load(session, team_id),
    )
    prediction = current.model.predict([query], current.alphas)[0]
    if prediction.bound_hours is None:
        return Estimate(
            median_hours=None,
            likely_hours=prediction.at_least_hours,
            basis=too_little_history_sentence(prediction.at_least_hours, hours_per_day),
            from_history=True,
            kind=EstimateBasis.TOO_LITTLE_HISTORY,
        )
    return Estimate(
        median_hours=prediction.median_hours,
        likely_hours=prediction.bound_hours,
        basis=calibrated_basis(prediction.bound_hours, hours_per_day),
        from_history=True,
        kind=EstimateBasis.CALIBRATED,
    )


def record_eta_outcomes(session: Session, now: datetime) -> int:
    """Settle stated bounds that have passed and move the levels (ACI); the count.

    When a bound passes, a request resolved within it (clock running) is a hit and one whose
    running clock has passed it is a miss, resolved or not. One whose bound has passed on the
    calendar but whose clock was paused meanwhile gets a later `due_at` and waits. A request
    told "too little history to be sure" counts as a hit at once: nothing it was told can fail.
    """
    head = select(EtaModelRow).order_by(EtaModelRow.id.desc()).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        # One sweeper moves the levels at a time; the others leave it for the next sweep.
        head = head.with_for_update(skip_locked=True)
    model_row = session.scalar(head)
    if model_row is None:
        return 0
    # Every outcome is learnt when its bound passes, hits as well as misses (see
    # calibration.outcome_of): learning hits at resolution would teach the level the quick
    # hits first and the misses days later.
    candidates = session.execute(
        select(EtaPrediction, Request)
        .join(Request, Request.id == EtaPrediction.request_id)
        .where(
            ((EtaPrediction.outcome == "pending") & (EtaPrediction.due_at <= now))
            | ((EtaPrediction.outcome == NO_BOUND) & EtaPrediction.known_at.is_(None))
        )
        .order_by(EtaPrediction.due_at)
        .limit(OUTCOME_BATCH)
    ).all()
    if not candidates:
        return 0
    calendars = _calendars(session)
    settled: list[tuple[datetime, str, bool]] = []
    for prediction, request in candidates:
        if prediction.outcome == NO_BOUND:
            prediction.known_at = prediction.stated_at
            settled.append((prediction.stated_at, prediction.group, False))
            continue
        calendar = calendars[request.team_id]
        resolved = request.resolved_at is not None and request.resolved_at <= now
        end = request.resolved_at if resolved and request.resolved_at is not None else now
        hours = worked_hours(
            calendar,
            request.opened_at,
            end,
            request.paused_business_seconds,
            None if resolved else request.clock_paused_at,
        )
        if hours > prediction.bound_hours or (not resolved and hours >= prediction.bound_hours):
            prediction.outcome = "miss"
            # Known when the bound passed on the calendar; never after the resolution or now.
            prediction.known_at = min(prediction.due_at, end)
        elif resolved:
            prediction.outcome = "hit"
            prediction.known_at = prediction.due_at
        else:
            prediction.due_at = add_business_hours(calendar, now, prediction.bound_hours - hours)
            continue
        assert prediction.known_at is not None
        settled.append((prediction.known_at, prediction.group, prediction.outcome == "miss"))
    alphas = {k: float(v) for k, v in model_row.alphas.items()}
    for _, group, miss in sorted(settled, key=lambda s: s[0]):
        alphas[group] = aci_update(alphas.get(group, 1.0 - model_row.level), miss, model_row.level)
    model_row.alphas = alphas
    model_row.outcomes_seen += len(settled)
    session.flush()
    return len(settled)


def history_cases(session: Session, now: datetime) -> tuple[datetime, list[EtaCase]] | None:
    """Every request of the history as known at its last event (None for an empty history)."""
    end = history_end(session, now)
    first = session.scalar(select(func.min(Request.opened_at)))
    if end is None or first is None:
        return None
    return end, load_eta_cases(session, end, since=first)
