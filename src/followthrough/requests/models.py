"""Request tables: the request itself, offers (handoffs), pauses, updates and the team path."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime, utcnow


class Request(Base):
    """An internal request. `owner_id` is never null: someone is always accountable."""

    __tablename__ = "request"
    __table_args__ = (
        # Team lists filter by team (and often state) and sort by time: these serve them in
        # index order instead of sorting a team's whole history (docs/benchmarks.md).
        Index("ix_request_team_state_opened", "team_id", "state", "opened_at", "id"),
        Index("ix_request_team_opened", "team_id", "opened_at", "id"),
        Index("ix_request_team_updated", "team_id", "updated_at", "id"),
        Index("ix_request_owner_state", "owner_id", "state"),
        Index("ix_request_state_update_due", "state", "next_update_due_at"),
        Index("ix_request_service_state", "service_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    need: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text, default="")
    impact_customers: Mapped[int] = mapped_column(Integer, default=0)
    desired_by: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    requester_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"), default=None)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    state: Mapped[str] = mapped_column(String(24), default="new")
    waiting_on: Mapped[str | None] = mapped_column(String(24), default=None)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id"), default=None, index=True
    )
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    # A duplicate merged into another request (state `merged`) names the request it went into.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id"), default=None, index=True
    )
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolution: Mapped[str | None] = mapped_column(Text, default=None)
    # Communicate: when the next update is due, and where the reminder ladder stands.
    next_update_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    update_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    update_escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The OLA clock: resolve target, moved later by every pause.
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    clock_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    paused_business_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    auto_close_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    bounce_count: Mapped[int] = mapped_column(Integer, default=0)
    # The case id in the system an imported request came from (history import); else None.
    source_case_id: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    # Timescale shown to the requester, recalculated on every change.
    eta_median_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    eta_likely_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    eta_basis: Mapped[str | None] = mapped_column(String(200), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class RequestParticipant(Base):
    """Who takes part in a request (raised, owned, offered, promised, updated): drives visibility."""

    __tablename__ = "request_participant"

    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True, index=True)


class Offer(Base):
    """A handoff offer. Until it is accepted the sender stays accountable."""

    __tablename__ = "offer"
    __table_args__ = (
        Index("ix_offer_state_due", "state", "due_at"),
        # The answer time last: the lead board counts a team's offers accepted in recent weeks.
        Index("ix_offer_to_team_state_answered", "to_team_id", "state", "answered_at"),
        Index("ix_offer_to_person_state", "to_person_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    # "intake" is the implicit offer to the receiving team when a request is opened.
    kind: Mapped[str] = mapped_column(String(16), default="handoff")
    from_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    from_team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), default=None)
    to_team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    to_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    decline_reason: Mapped[str | None] = mapped_column(Text, default=None)


class Pause(Base):
    """A stretch of time the OLA clock is stopped, and why."""

    __tablename__ = "pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    reason: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    child_request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"), default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class RequestUpdate(Base):
    """A progress update posted on a request."""

    __tablename__ = "request_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    body: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PathStep(Base):
    """One team the request passed through, in order; a return to an earlier team is a bounce."""

    __tablename__ = "path_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    is_bounce: Mapped[bool] = mapped_column(Boolean, default=False)
