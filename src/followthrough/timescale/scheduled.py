"""The timescale's scheduled work, run by the sweeper: nothing here runs on a read.

- `record_timescale_outcomes`: due work, every sweep: settle the stated bounds whose outcome is
  known and move each team's level.
- `refresh_stale_curves`: periodic: store each service's resolution curve that is missing or
  older than CURVE_MAX_AGE.
- `refit_calibrated_model`: periodic: refit the calibrated model once it is MODEL_MAX_AGE old.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from followthrough.db import Database
from followthrough.timescale.calibrated import record_eta_outcomes, refresh_eta_model
from followthrough.timescale.service import refresh_curve, stale_curves


def record_timescale_outcomes(session: Session, now: datetime) -> int:
    """Settle stated bounds whose outcome is now known, in the caller's transaction; how many.

    One sweeper at a time holds the model's levels (SKIP LOCKED on PostgreSQL); the others
    settle nothing. A bound it looked at but could not settle yet gets a later due time.
    """
    return record_eta_outcomes(session, now)


def refresh_stale_curves(database: Database, now: datetime) -> int:
    """Recompute and store each stale resolution curve, one service per transaction; how many."""
    with database.unit_of_work(readonly=True) as session:
        services = stale_curves(session, now)
    for service_id in services:
        with database.unit_of_work() as session:
            refresh_curve(session, service_id, now)
    return len(services)


def refit_calibrated_model(database: Database, now: datetime) -> int:
    """Refit and store the calibrated model when the newest is stale; 1 if refitted, else 0."""
    return int(refresh_eta_model(database, now).model is not None)
