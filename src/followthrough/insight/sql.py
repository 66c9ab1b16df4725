"""SQL expressions that differ between SQLite and PostgreSQL: seconds between two instants,
the week or month an instant falls in, and the person's home team.

Timestamps are stored as naive UTC text on SQLite and `timestamptz` on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, String, func, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement as _Column
from sqlalchemy.sql.expression import FunctionElement, Subquery

from followthrough.org.models import Membership, Team


class seconds_between(FunctionElement[float]):  # noqa: N801 - reads as a SQL function
    """later - earlier in seconds, as a float."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    earlier, later = list(element.clauses)
    return (
        f"((julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)})) * 86400.0)"
    )


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    earlier, later = list(element.clauses)
    return (
        f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - "
        f"{compiler.process(earlier, **kw)}))::float8"
    )


class week_of(FunctionElement[str]):  # noqa: N801 - reads as a SQL function
    """The Monday (UTC) of the week an instant falls in, as 'YYYY-MM-DD' text."""

    type = String()
    inherit_cache = True
    name = "week_of"


class month_of(FunctionElement[str]):  # noqa: N801
    """The first day of the month (UTC) an instant falls in, as 'YYYY-MM-DD' text."""

    type = String()
    inherit_cache = True
    name = "month_of"


def _only(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    (at,) = list(element.clauses)
    return str(compiler.process(at, **kw))


@compiles(week_of, "sqlite")
def _week_sqlite(element: week_of, compiler: Any, **kw: Any) -> str:
    at = _only(element, compiler, **kw)
    # strftime('%w'): 0 is Sunday; step back to Monday.
    return f"date({at}, '-' || ((CAST(strftime('%w', {at}) AS INTEGER) + 6) % 7) || ' days')"


@compiles(month_of, "sqlite")
def _month_sqlite(element: month_of, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m-01', {_only(element, compiler, **kw)})"


@compiles(week_of, "postgresql")
def _week_pg(element: week_of, compiler: Any, **kw: Any) -> str:
    at = _only(element, compiler, **kw)
    return f"to_char(date_trunc('week', {at} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"


@compiles(month_of, "postgresql")
def _month_pg(element: month_of, compiler: Any, **kw: Any) -> str:
    at = _only(element, compiler, **kw)
    return f"to_char(date_trunc('month', {at} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"


def bucket(at: _Column[Any], unit: str) -> ColumnElement[str]:
    """The week or month bucket of an instant."""
    if unit == "week":
        return week_of(at)
    if unit == "month":
        return month_of(at)
    raise ValueError(f"unknown bucket unit {unit!r}; use week or month")


def home_teams() -> Subquery:
    """Each person's home team: the lowest-numbered team they belong to or lead."""
    belongs = union_all(
        select(Membership.person_id.label("person_id"), Membership.team_id.label("team_id")),
        select(Team.lead_id.label("person_id"), Team.id.label("team_id")).where(
            Team.lead_id.is_not(None)
        ),
    ).subquery()
    return (
        select(belongs.c.person_id, func.min(belongs.c.team_id).label("team_id"))
        .group_by(belongs.c.person_id)
        .subquery("home_team")
    )


class day_of(FunctionElement[str]):  # noqa: N801
    """The UTC day an instant falls in, as 'YYYY-MM-DD' text."""

    type = String()
    inherit_cache = True
    name = "day_of"


@compiles(day_of, "sqlite")
def _day_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"date({_only(element, compiler, **kw)})"


@compiles(day_of, "postgresql")
def _day_pg(element: day_of, compiler: Any, **kw: Any) -> str:
    at = _only(element, compiler, **kw)
    return f"to_char(date_trunc('day', {at} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
