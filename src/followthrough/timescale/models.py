"""A cached resolution-time curve per service, refreshed by the sweeper."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class TimescaleCurve(Base):
    __tablename__ = "timescale_curve"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_count: Mapped[int] = mapped_column(Integer)
    open_count: Mapped[int] = mapped_column(Integer)
    # Kaplan-Meier steps: [[business_hours, survival], ...], survival falling from 1.
    steps: Mapped[list[Any]] = mapped_column(JSON)
