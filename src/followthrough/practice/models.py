"""Game tables: a facilitated session, its teams, their decisions and results per round.

The scenario is stored as TOML text, so a session keeps playing the company it started with
even if the shipped scenario changes. Decisions and results are the game's frozen records as
JSON (`practice.game.records`); the rules, not the database, give them meaning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followthrough.db import Base, UTCDateTime, utcnow
from followthrough.org.models import Person


class GameSession(Base):
    """A game a facilitator runs: one scenario, a number of rounds, teams and a budget."""

    __tablename__ = "game_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    facilitator_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    # The shipped scenario's name, or empty for an uploaded one; the TOML is what is played.
    scenario_name: Mapped[str] = mapped_column(String(120))
    scenario_toml: Mapped[str] = mapped_column(Text)
    rounds: Mapped[int] = mapped_column(Integer)
    rounds_played: Mapped[int] = mapped_column(Integer, default=0)
    days_per_round: Mapped[int] = mapped_column(Integer)
    budget_per_round: Mapped[float] = mapped_column(Float)
    replications: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    # The published correlations in force for this session (PublishedCorrelations as JSON).
    correlations: Mapped[dict[str, Any]] = mapped_column(JSON)
    # "open" while rounds remain, "finished" after the last one.
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The round being simulated off the request since when (`game.session.round_in_play`), and
    # why the last run was not stored, for the console to say.
    playing_round: Mapped[int | None] = mapped_column(Integer, default=None)
    playing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    round_problem: Mapped[str | None] = mapped_column(String(300), default=None)

    facilitator: Mapped[Person] = relationship(lazy="raise")
    teams: Mapped[list[GameTeam]] = relationship(
        lazy="raise", order_by="GameTeam.id", back_populates="game"
    )


class GameTeam(Base):
    """A team of players. Its browsers join with `code` and are known by `secret` after that."""

    __tablename__ = "game_team"
    __table_args__ = (UniqueConstraint("game_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("game_session.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    code: Mapped[str] = mapped_column(String(8), unique=True)
    # Sent as the team's cookie; every browser of the team holds the same one.
    secret: Mapped[str] = mapped_column(String(64), unique=True)
    # Hidden in the team's forms; a form without it did not come from the team's page.
    csrf_token: Mapped[str] = mapped_column(String(64))
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    game: Mapped[GameSession] = relationship(lazy="raise", back_populates="teams")


class GameDecision(Base):
    """A team's decisions for one round; saved again replaces them until the round is run."""

    __tablename__ = "game_decision"
    __table_args__ = (UniqueConstraint("team_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unique (team_id, round) constraint indexes team_id too.
    team_id: Mapped[int] = mapped_column(ForeignKey("game_team.id"))
    round: Mapped[int] = mapped_column(Integer)
    decisions: Mapped[dict[str, Any]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GameResult(Base):
    """A team's result for one round (a frozen `TeamRound`) and its levels after it."""

    __tablename__ = "game_result"
    __table_args__ = (UniqueConstraint("team_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unique (team_id, round) constraint indexes team_id too.
    team_id: Mapped[int] = mapped_column(ForeignKey("game_team.id"))
    round: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    levels: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
