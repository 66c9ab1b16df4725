"""The training programme's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class LearningModule(Base):
    """A module of the catalog: taught (the why, communication, …) or practical (a role play,
    the business simulation)."""

    __tablename__ = "learning_module"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # rules.MODULE_KINDS
    summary: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The longest cohort name the column holds.
COHORT_NAME_LENGTH = 120


class LearningCohort(Base):
    """A group of people taking one module together, over its sessions."""

    __tablename__ = "learning_cohort"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("learning_module.id"), index=True)
    name: Mapped[str] = mapped_column(String(COHORT_NAME_LENGTH))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)


class LearningSession(Base):
    """One meeting of a cohort (shown on each reader's own clock)."""

    __tablename__ = "learning_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("learning_cohort.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CohortMember(Base):
    """A person in a cohort; `completed_at` once they completed the module with it."""

    __tablename__ = "learning_cohort_member"

    cohort_id: Mapped[int] = mapped_column(ForeignKey("learning_cohort.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True, index=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Attendance(Base):
    """Whether a member was at a session, and who recorded it when."""

    __tablename__ = "learning_attendance"

    session_id: Mapped[int] = mapped_column(ForeignKey("learning_session.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    present: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)


class CompetencyEvidence(Base):
    """One observation of a person on one building block (1 to 5): from a role play's
    automatic score, an observer, or the desk's own record (requesters' ratings). Who rated it
    and when are kept; a record is the evidence, never a score typed over it."""

    __tablename__ = "learning_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    block: Mapped[str] = mapped_column(String(12))  # rules.BLOCKS
    score: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(12))  # rules.SOURCES
    rated_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")


class PlanItem(Base):
    """A module planned for a person or for a whole team, by a date or not."""

    __tablename__ = "learning_plan_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("learning_module.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LiveSessionCohort(Base):
    """A live role-play session held for a cohort: its rounds count in the cohort's debrief.
    A session belongs to one cohort at most; who linked it and when are kept."""

    __tablename__ = "learning_live_session"

    live_session_id: Mapped[int] = mapped_column(
        ForeignKey("roleplay_live_session.id"), primary_key=True
    )
    cohort_id: Mapped[int] = mapped_column(ForeignKey("learning_cohort.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    linked_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
