"""Timescale services: keep each service's resolution curve fresh and stamp estimates on requests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from followthrough.org.models import Service, Team
from followthrough.org.rules import WorkingCalendar, add_business_hours, business_seconds_between
from followthrough.org.service import team_calendar
from followthrough.org.snapshot import org_snapshot
from followthrough.requests.models import Request
from followthrough.requests.rules import OPEN_STATES
from followthrough.timescale.models import TimescaleCurve
from followthrough.timescale.rules import Estimate, Observation, estimate_remaining, kaplan_meier

# Recent history is the relevant history: the curve uses the newest requests of the last window.
HISTORY_WINDOW = timedelta(days=180)
HISTORY_LIMIT = 2000
CURVE_MAX_AGE = timedelta(hours=6)
MIN_HISTORY = 20

# Session.info key: ids of requests opened in this transaction (see calibrated_estimate).
JUST_OPENED = "just_opened_requests"


def _calendars(session: Session) -> dict[int, WorkingCalendar]:
    return {team.id: team.calendar for team in org_snapshot(session).teams.values()}


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


def refresh_curve(session: Session, service_id: int, now: datetime) -> TimescaleCurve:
    """Recompute the Kaplan-Meier curve of one service from its recent requests."""
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
    curve = session.get(TimescaleCurve, service_id)
    resolved = sum(o.resolved for o in observations)
    if curve is None:
        curve = TimescaleCurve(service_id=service_id)
        session.add(curve)
    curve.computed_at = now
    curve.resolved_count = resolved
    curve.open_count = len(observations) - resolved
    curve.steps = [[t, s] for t, s in steps]
    session.flush()
    return curve


def curve_for(session: Session, service_id: int, now: datetime) -> TimescaleCurve:
    curve = session.get(TimescaleCurve, service_id)
    if curve is None:
        curve = refresh_curve(session, service_id, now)
    return curve


def estimate_for(session: Session, request: Request, now: datetime) -> Estimate | None:
    org = org_snapshot(session)
    service = None if request.service_id is None else org.services.get(request.service_id)
    calendar = org.team(request.team_id).calendar
    elapsed = worked_hours(
        calendar, request.opened_at, now, request.paused_business_seconds, request.clock_paused_at
    )
    # Imported here: the calibrated model's module reads this one's helpers.
    from followthrough.insight.eta_service import calibrated_estimate

    calibrated = calibrated_estimate(session, request, now, elapsed, calendar)
    if calibrated is not None:
        return calibrated
    steps = None
    resolved_count = 0
    if service is not None:
        curve = curve_for(session, service.id, now)
        steps = [(float(t), float(s)) for t, s in curve.steps]
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
    """Say which method gave the estimate: the history curve, as against the calibrated model."""
    if estimate is None or not estimate.from_history:
        return estimate
    return replace(estimate, basis=f"{estimate.basis} (from history)")


def refresh_estimate(session: Session, request: Request, now: datetime) -> None:
    """Stamp the request's expected resolution (median and 8-in-10 bound) from now."""
    if request.state in ("resolved", "closed"):
        request.eta_median_at = request.eta_likely_at = None
        request.eta_basis = None
        return
    estimate = estimate_for(session, request, now)
    if estimate is None:
        request.eta_median_at = request.eta_likely_at = None
        request.eta_basis = None
        return
    calendar = team_calendar(session, request.team_id)
    request.eta_likely_at = add_business_hours(calendar, now, estimate.likely_hours)
    request.eta_median_at = (
        None
        if estimate.median_hours is None
        else add_business_hours(calendar, now, estimate.median_hours)
    )
    request.eta_basis = estimate.basis[:200]


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
    """What a request for this service raised now can expect (nothing elapsed yet)."""
    service = session.get(Service, service_id)
    assert service is not None
    team = session.get(Team, service.team_id)
    assert team is not None
    hours_per_day = (team.day_end_minute - team.day_start_minute) / 60
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
