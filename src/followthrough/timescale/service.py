"""Timescale services: each service's resolution curve and the estimates stamped on requests.

Reading never writes: a missing or stale curve is worked out for the answer and stored only by
the scheduled refresh (`timescale.scheduled`). Stating a calibrated bound when a request is
opened is part of that change, not of a read.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from followthrough.org.models import Service, Team
from followthrough.org.rules import add_business_hours
from followthrough.org.service import team_calendar
from followthrough.org.snapshot import org_snapshot
from followthrough.requests.models import Request
from followthrough.requests.rules import OPEN_STATES
from followthrough.timescale.calibrated import calibrated_estimate, calibrated_preview
from followthrough.timescale.models import TimescaleCurve
from followthrough.timescale.rules import (
    Estimate,
    EstimateBasis,
    Observation,
    estimate_remaining,
    kaplan_meier,
    with_source,
    worked_hours,
)

# Recent history is the relevant history: the curve uses the newest requests of the last window.
HISTORY_WINDOW = timedelta(days=180)
HISTORY_LIMIT = 2000
CURVE_MAX_AGE = timedelta(hours=6)
MIN_HISTORY = 20


def refresh_curve(session: Session, service_id: int, now: datetime) -> TimescaleCurve:
    """Recompute the Kaplan-Meier curve of one service from its recent requests, and store it."""
    computed = computed_curve(session, service_id, now)
    curve = session.get(TimescaleCurve, service_id)
    if curve is None:
        curve = TimescaleCurve(service_id=service_id)
        session.add(curve)
    curve.computed_at = computed.computed_at
    curve.resolved_count = computed.resolved_count
    curve.open_count = computed.open_count
    curve.steps = computed.steps
    session.flush()
    session.info[CURVES_WRITTEN] = True
    _kept_curves(session).pop(service_id, None)
    session.info.setdefault(OWN_CURVES, {}).pop(service_id, None)
    return curve


def computed_curve(session: Session, service_id: int, now: datetime) -> TimescaleCurve:
    """The Kaplan-Meier curve of one service from its recent requests, not stored (reads only)."""
    since = now - HISTORY_WINDOW
    rows = session.execute(
        select(
            Request.team_id,
            Request.opened_at,
            Request.resolved_at,
            Request.paused_business_seconds,
            Request.clock_paused_at,
        )
        .where(
            Request.service_id == service_id,
            Request.opened_at >= since,
            Request.opened_at <= now,
            or_(Request.resolved_at.is_not(None), Request.state.in_(OPEN_STATES)),
        )
        .order_by(Request.opened_at.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    observations = []
    for team_id, opened_at, resolved_at, paused, paused_at in rows:
        # Built once per team and unit of work, so a sweep over every service reuses them.
        calendar = team_calendar(session, team_id)
        end = resolved_at if resolved_at is not None else now
        hours = worked_hours(calendar, opened_at, end, paused, None if resolved_at else paused_at)
        observations.append(Observation(hours=round(hours, 4), resolved=resolved_at is not None))
    steps = kaplan_meier(observations)
    resolved = sum(o.resolved for o in observations)
    return TimescaleCurve(
        service_id=service_id,
        computed_at=now,
        resolved_count=resolved,
        open_count=len(observations) - resolved,
        steps=[[t, s] for t, s in steps],
    )


@dataclass(frozen=True)
class CurveFacts:
    steps: tuple[tuple[float, float], ...]
    resolved_count: int


# A service's curve is recomputed every few hours (CURVE_MAX_AGE), and every opened or accepted
# request reads it: a process keeps what it read for a minute rather than reading and parsing it
# each time. A transaction that wrote a curve neither uses nor keeps a copy, so only committed
# curves are shared; it keeps its own for itself (the demo's build refreshes every curve, then
# stamps thousands of open requests: parsing a curve for each was most of that step).
CURVE_KEEP_SECONDS = 60.0
CURVES_WRITTEN = "timescale_curves_written"  # Session.info key
OWN_CURVES = "timescale_own_curves"  # Session.info key: this transaction's reading of curves
_kept: weakref.WeakKeyDictionary[Engine, dict[int, tuple[float, CurveFacts]]] = (
    weakref.WeakKeyDictionary()
)
_kept_lock = threading.Lock()


def _kept_curves(session: Session) -> dict[int, tuple[float, CurveFacts]]:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _kept_lock:
        return _kept.setdefault(engine, {})


def curve_facts(session: Session, service_id: int, now: datetime) -> CurveFacts:
    """The service's curve, from this process's copy when it is less than a minute old."""
    kept = _kept_curves(session)
    writer = bool(session.info.get(CURVES_WRITTEN))
    own: dict[int, CurveFacts] = session.info.setdefault(OWN_CURVES, {})
    if writer and service_id in own:
        return own[service_id]
    entry = kept.get(service_id)
    if entry is not None and not writer and time.monotonic() - entry[0] < CURVE_KEEP_SECONDS:
        return entry[1]
    curve = curve_for(session, service_id, now)
    facts = CurveFacts(
        steps=tuple((float(t), float(s)) for t, s in curve.steps),
        resolved_count=curve.resolved_count,
    )
    if writer:
        own[service_id] = facts
    else:
        kept[service_id] = (time.monotonic(), facts)
    return facts


def curve_for(session: Session, service_id: int, now: datetime) -> TimescaleCurve:
    """The stored curve, or one worked out for this answer when none is stored yet.

    Never stores it: a read never writes (on SQLite it would wait for the writer), and a change
    need not pay for it either; the scheduled refresh (`timescale.scheduled`) stores curves.
    """
    curve = session.get(TimescaleCurve, service_id)
    return curve if curve is not None else computed_curve(session, service_id, now)


def estimate_for(
    session: Session, request: Request, now: datetime, *, opened: bool = False
) -> Estimate | None:
    """The request's estimate from now: its calibrated bound when it has one, else the history
    curve of its service, else the team's target. `opened`: opened in this transaction."""
    org = org_snapshot(session)
    service = None if request.service_id is None else org.services.get(request.service_id)
    calendar = org.team(request.team_id).calendar
    elapsed = worked_hours(
        calendar, request.opened_at, now, request.paused_business_seconds, request.clock_paused_at
    )
    calibrated = calibrated_estimate(session, request, now, elapsed, calendar, opened=opened)
    if calibrated is not None:
        return calibrated
    steps = None
    resolved_count = 0
    if service is not None:
        curve = curve_facts(session, service.id, now)
        steps = list(curve.steps)
        resolved_count = curve.resolved_count
    target = 24.0 if service is None else service.resolve_target_hours
    return _from_history(
        estimate_remaining(
            steps,
            resolved_count,
            MIN_HISTORY,
            elapsed,
            target,
            calendar.business_seconds_per_day / 3600,
        )
    )


def _from_history(estimate: Estimate | None) -> Estimate | None:
    """Name the source of an estimate from the history curve (SOURCE_NAMES), as against the
    calibrated model's."""
    if estimate is None:
        return estimate
    return replace(estimate, basis=with_source(estimate.basis, estimate.kind))


def refresh_estimate(
    session: Session, request: Request, now: datetime, *, opened: bool = False
) -> None:
    """Stamp the request's expected resolution (median and 8-in-10 bound) from now.

    `opened`: the request was opened in this transaction (nothing was stated about it yet).
    When the history cannot certify 8 in 10, no date is stamped, only the sentence saying so.
    """
    if request.state not in OPEN_STATES:
        request.eta_median_at = request.eta_likely_at = None
        request.eta_basis = None
        return
    estimate = estimate_for(session, request, now, opened=opened)
    if estimate is None:
        request.eta_median_at = request.eta_likely_at = None
        request.eta_basis = None
        return
    request.eta_basis = estimate.basis[:200]
    if estimate.kind is EstimateBasis.TOO_LITTLE_HISTORY:
        request.eta_median_at = request.eta_likely_at = None
        return
    calendar = team_calendar(session, request.team_id)
    request.eta_likely_at = add_business_hours(calendar, now, estimate.likely_hours)
    request.eta_median_at = (
        None
        if estimate.median_hours is None
        else add_business_hours(calendar, now, estimate.median_hours)
    )


def stale_curves(session: Session, now: datetime) -> list[int]:
    """Services whose curve is missing or older than CURVE_MAX_AGE."""
    fresh = select(TimescaleCurve.service_id).where(
        TimescaleCurve.computed_at >= now - CURVE_MAX_AGE
    )
    return list(
        session.scalars(
            select(Service.id).where(Service.active.is_(True), Service.id.not_in(fresh))
        )
    )


def estimate_for_service(session: Session, service_id: int, now: datetime) -> Estimate:
    """What a request for this service raised now can expect (nothing elapsed yet): from the
    same source the request will be given when it is opened, the calibrated model when there is
    one, else the service's curve."""
    service = session.get(Service, service_id)
    assert service is not None
    team = session.get(Team, service.team_id)
    assert team is not None
    hours_per_day = (team.day_end_minute - team.day_start_minute) / 60
    preview = calibrated_preview(session, service_id, team.id, now, hours_per_day)
    if preview is not None:
        return preview
    curve = curve_for(session, service_id, now)
    estimate = estimate_remaining(
        [(float(t), float(s)) for t, s in curve.steps],
        curve.resolved_count,
        MIN_HISTORY,
        0.0,
        service.resolve_target_hours,
        hours_per_day,
    )
    estimate = _from_history(estimate)
    assert estimate is not None
    return estimate
