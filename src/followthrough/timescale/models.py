"""The timescale's stored state: each service's resolution curve, the fitted calibrated models
and the bounds they stated. Curves and models are refreshed by scheduled work only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class TimescaleCurve(Base):
    """A cached resolution-time curve per service, refreshed by the sweeper."""

    __tablename__ = "timescale_curve"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_count: Mapped[int] = mapped_column(Integer)
    open_count: Mapped[int] = mapped_column(Integer)
    # Kaplan-Meier steps: [[business_hours, survival], ...], survival falling from 1.
    steps: Mapped[list[Any]] = mapped_column(JSON)


class EtaModelRow(Base):
    """One fitted model. The pickled model never changes; only the ACI levels move on.

    Kept in the database rather than a file so that every app worker and sweeper, on any
    machine, reads the same model and updates the same levels in one transaction.
    """

    __tablename__ = "eta_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    level: Mapped[float] = mapped_column(Float)
    trained_count: Mapped[int] = mapped_column(Integer)
    calibrated_count: Mapped[int] = mapped_column(Integer)
    resolved_count: Mapped[int] = mapped_column(Integer)
    # Current miss rate to aim at per team (by name).
    alphas: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcomes_seen: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[bytes] = mapped_column(LargeBinary)


class EtaPrediction(Base):
    """The bound stated to a request's requester when it was opened, and whether it held."""

    __tablename__ = "eta_prediction"
    __table_args__ = (Index("ix_eta_prediction_outcome_due_at", "outcome", "due_at"),)

    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("eta_model.id"), index=True)
    # The team whose level (ACI) the outcome moves.
    group: Mapped[str] = mapped_column(String(120))
    stated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bound_hours: Mapped[float] = mapped_column(Float)
    # When the bound passes on the team's calendar, if the clock is not paused meanwhile.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "pending" until known, then "hit" (resolved within the bound) or "miss" (passed it).
    outcome: Mapped[str] = mapped_column(String(8), default="pending")
    known_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
