"""When each periodic job last ran, shared by every process that sweeps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class JobRun(Base):
    """One row per periodic job (e.g. the timescale model refit). A process runs the job only
    if it moves `last_run_at` forward past the interval in one conditional UPDATE, so across
    any number of processes the job runs once per interval."""

    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
