"""Moved: the calibrated timescale lives in `followthrough.timescale` (model in `calibration`,
database side in `calibrated`, scheduled work in `scheduled`); Insight only reports on it
(`insight.eta` evaluates it, `insight eta-eval` prints that).

The two names below remain only until sweeper/service.py calls `timescale.scheduled`.
"""

from __future__ import annotations

from datetime import datetime

from followthrough.db import Database
from followthrough.timescale import calibrated
from followthrough.timescale.calibrated import record_eta_outcomes

__all__ = ["record_eta_outcomes", "refresh_eta_model"]


def refresh_eta_model(database: Database, now: datetime, *, force: bool = False) -> bool:
    """True if a model was fitted and stored (see `timescale.scheduled.refit_calibrated_model`)."""
    return calibrated.refresh_eta_model(database, now, force=force).model is not None
