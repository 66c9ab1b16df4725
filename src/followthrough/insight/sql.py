"""SQL expressions for the insight queries: seconds between two instants (which differs between
SQLite and PostgreSQL), the week or month an instant falls in, the UTC day, and the person's
home team.

Timestamps are stored as naive UTC text on SQLite and `timestamptz` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, String, case, func, literal, select, union_all
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


def bucket(
    at: _Column[Any], starts: Sequence[datetime], labels: Sequence[str]
) -> ColumnElement[str]:
    """The label of the bucket an instant falls in: that of the last start at or before it.

    The starts are worked out in Python on the viewer's calendar (`rules.bucket_starts`), so a
    week is the viewer's Monday to Sunday on both databases, daylight saving included; SQLite
    knows no time zones. Instants before the first start (none, when the query keeps to the
    buckets' period) count in the first bucket."""
    if not starts:
        raise ValueError("a bucketed query needs at least one bucket")
    newest_first = list(zip(starts, labels, strict=True))[::-1]
    return case(
        *((at >= start, literal(label)) for start, label in newest_first),
        else_=literal(labels[0]),
    )


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


def _only(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    (at,) = list(element.clauses)
    return str(compiler.process(at, **kw))


class day_of(FunctionElement[str]):  # noqa: N801
    """The UTC day an instant falls in, as 'YYYY-MM-DD' text. Only relationship health uses it,
    to weigh a day's interactions together; its days are never shown, so a pair's trust is the
    same whoever looks at it."""

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
