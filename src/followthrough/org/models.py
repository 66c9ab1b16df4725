"""Organisation tables: departments, teams, people, memberships, holidays and services."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followthrough.db import Base, UTCDateTime, utcnow


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The sign-in name; short, lower case, unique.
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How times are shown to this person and how times they type are read (org.local_time):
    # an IANA zone name and a CLDR locale name, guessed from the browser at the first sign-in
    # or chosen on their profile; empty means UTC and the desk's default locale.
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    locale: Mapped[str | None] = mapped_column(String(35), default=None)


class Team(Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Business hours as minutes after local midnight; working days as ISO weekday digits 1-7.
    day_start_minute: Mapped[int] = mapped_column(Integer, default=9 * 60)
    day_end_minute: Mapped[int] = mapped_column(Integer, default=17 * 60)
    working_days: Mapped[str] = mapped_column(String(7), default="12345")
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    duty_owner_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    # The team that receives "not sure which team" requests and routes them on.
    is_triage: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship(lazy="raise")
    holidays: Mapped[list[Holiday]] = relationship(lazy="raise", order_by="Holiday.day")


class Holiday(Base):
    __tablename__ = "holiday"
    __table_args__ = (UniqueConstraint("team_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120), default="")


class Membership(Base):
    __tablename__ = "membership"

    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True, index=True)


class Service(Base):
    """Something a team offers, with its internal targets (OLA) in the team's business hours."""

    __tablename__ = "service"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    accept_target_hours: Mapped[float] = mapped_column(Float, default=4.0)
    update_every_hours: Mapped[float] = mapped_column(Float, default=8.0)
    resolve_target_hours: Mapped[float] = mapped_column(Float, default=24.0)
    auto_close_days: Mapped[int] = mapped_column(Integer, default=5)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    team: Mapped[Team] = relationship(lazy="raise")


class OrgRevision(Base):
    """One row whose revision moves on with every change to the organisation and catalog.

    Database triggers on the organisation's tables move it, in the same transaction as the
    change, whoever makes it (the app, an import, a hand-written statement). Each process keeps a
    copy of the organisation and trusts it only while the revision is the one it was read at.
    """

    __tablename__ = "org_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
