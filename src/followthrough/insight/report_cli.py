"""`followthrough insight scorecard|ripple|silo|health|recognitions|review`: the Insight reports
on the command line, registered on `insight_app`.

Reports about people and small groups are shown as someone (`--as HANDLE`), with the same
privacy rule as the web pages and the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.cases.models import Case
from followthrough.config import load_settings
from followthrough.db import Database
from followthrough.errors import DomainError
from followthrough.insight import health, recognition, review, ripple, rules, scorecard, silo
from followthrough.insight.cli import DatabaseUrl, console, err, insight_app
from followthrough.org.actors import Actor
from followthrough.org.local_time import Clock, clock_for
from followthrough.org.models import Department, Person, Team
from followthrough.org.service import actor_for

As = Annotated[str, typer.Option("--as", help="Show the report as this person (their handle).")]
StartOption = Annotated[
    str | None, typer.Option(help="Period start, ISO 8601 (default: 30 days before end).")
]
EndOption = Annotated[str | None, typer.Option(help="Period end, ISO 8601 (default: now).")]
NowOption = Annotated[
    str | None, typer.Option(help="The time the report is made (default: the real now).")
]


def _time(value: str | None, option: str, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} must be an ISO 8601 time, e.g. 2026-11-01T00:00:00+00:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _period(
    start: str | None, end: str | None, now: str | None
) -> tuple[datetime, datetime, datetime]:
    at = _time(now, "--now", datetime.now(UTC))
    last = _time(end, "--end", at)
    first = _time(start, "--start", last - timedelta(days=30))
    if last <= first:
        raise _fail("--end must be after --start")
    return first, last, at


def _fail(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(code=2)


@contextmanager
def _session(database_url: str | None) -> Iterator[tuple[Session, int]]:
    settings = load_settings(database_url=database_url)
    database = Database(settings.database_url)
    try:
        with database.unit_of_work() as session:
            yield session, settings.insight_minimum_group_size
    except DomainError as exc:
        raise _fail(exc.detail) from None
    finally:
        database.dispose()


def _actor(session: Session, handle: str) -> Actor:
    person = session.scalar(select(Person).where(Person.handle == handle))
    if person is None:
        raise _fail(f"--as: nobody has the handle {handle!r}")
    return actor_for(session, person)


def _clock(session: Session, handle: str) -> Clock:
    """The viewer's own clock: trend weeks and months are theirs, as on their pages."""
    person = session.scalar(select(Person).where(Person.handle == handle))
    if person is None:
        raise _fail(f"--as: nobody has the handle {handle!r}")
    return clock_for(person)


def _team_id(session: Session, name: str) -> int:
    team_id = session.scalar(select(Team.id).where(Team.name == name))
    if team_id is None:
        raise _fail(f"no team is called {name!r}")
    return team_id


def _subject_id(session: Session, level: scorecard.Level, name: str) -> int:
    if level == "team":
        return _team_id(session, name)
    column = Department if level == "department" else Person
    found = session.scalar(
        select(column.id).where(
            (Person.handle == name) if level == "person" else (Department.name == name)
        )
    )
    if found is None:
        raise _fail(f"no {level} is called {name!r}")
    return int(found)


def _value(value: float | int | None, kind: str = "") -> str:
    if value is None:
        return "—"
    if kind == "%":
        return f"{value:.0%}"
    if isinstance(value, int):
        return str(value)
    return f"{value:.1f}"


PERCENT = {"ola_attainment", "promises_kept", "updates_on_time"}


@insight_app.command("scorecard")
def scorecard_command(
    viewer: As,
    level: Annotated[str, typer.Option(help="person, team or department")] = "team",
    subject: Annotated[
        str | None, typer.Option(help="A team or department name, or a person's handle.")
    ] = None,
    unit: Annotated[str, typer.Option(help="Trend buckets: week or month.")] = "week",
    start: StartOption = None,
    end: EndOption = None,
    now: NowOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """What and how, side by side: every scorecard you may see, or one with its trend."""
    first, last, _ = _period(start, end, now)
    with _session(database_url) as (session, minimum):
        actor = _actor(session, viewer)
        chosen = scorecard.require_level(level)
        if subject is None:
            cards = scorecard.scorecards(
                session, actor, chosen, first, last, minimum_group_size=minimum
            )
        else:
            cards = [
                scorecard.scorecard(
                    session,
                    actor,
                    chosen,
                    _subject_id(session, chosen, subject),
                    first,
                    last,
                    unit=unit,
                    minimum_group_size=minimum,
                    clock=_clock(session, viewer),
                )
            ]
    # Figures down, subjects across: the what and the how halves read side by side.
    table = Table("", *(card.name for card in cards))
    for half, names in (("what", rules.WHAT), ("how", rules.HOW)):
        for n in names:
            table.add_row(
                f"{half}: {n.replace('_', ' ')}",
                *(
                    "withheld"
                    if card.figures is None
                    else _value(getattr(card.figures, n), "%" if n in PERCENT else "")
                    for card in cards
                ),
                end_section=n == names[-1],
            )
    console.print(table)
    if len(cards) == 1 and cards[0].series:
        trend = Table("bucket", "handled", "OLA", "promises kept", "updates on time")
        for point in cards[0].series:
            f = point.figures
            trend.add_row(
                point.bucket,
                str(f.requests_handled),
                _value(f.ola_attainment, "%"),
                _value(f.promises_kept, "%"),
                _value(f.updates_on_time, "%"),
            )
        console.print(trend)


@insight_app.command("ripple")
def ripple_command(
    case: Annotated[str | None, typer.Option(help="A case reference.")] = None,
    team: Annotated[str | None, typer.Option(help="A team name.")] = None,
    threshold_hours: Annotated[float, typer.Option(min=0.0)] = 8.0,
    start: StartOption = None,
    end: EndOption = None,
    now: NowOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A case's wait split by team, or the customers behind a team's work."""
    if (case is None) == (team is None):
        raise _fail("give either --case or --team")
    first, last, at = _period(start, end, now)
    with _session(database_url) as (session, _):
        if case is not None:
            case_id = session.scalar(select(Case.id).where(Case.reference == case))
            if case_id is None:
                raise _fail(f"no case has the reference {case!r}")
            result = ripple.case_ripple(session, None, case_id, at)
            table = Table(
                "who held it",
                "hours",
                title=f"{result.reference} ({result.customer}): {result.total_hours:.1f} h waited",
            )
            for name, hours in result.hours_by_team.items():
                table.add_row(name, f"{hours:.1f}")
            console.print(table)
            return
        assert team is not None
        team_result = ripple.team_ripple(
            session,
            None,
            _team_id(session, team),
            first,
            last,
            at,
            threshold=timedelta(hours=threshold_hours),
        )
    console.print(
        f"{team_result.team_name}: your work touched {team_result.customers_touched} customers; "
        f"{team_result.customers_waited_over} waited more than {threshold_hours:g} h because of "
        "requests in your queue.",
        markup=False,
    )
    table = Table("case", "customer", "hours in your queue", "hours waited")
    for line in team_result.lines[:50]:
        table.add_row(
            line.reference, line.customer, f"{line.team_hours:.1f}", f"{line.total_hours:.1f}"
        )
    console.print(table)


@insight_app.command("silo")
def silo_command(
    graphml: Annotated[Path | None, typer.Option(help="Write the team network as GraphML.")] = None,
    edges_csv: Annotated[
        Path | None, typer.Option("--csv", help="Write the team network as a CSV edge list.")
    ] = None,
    start: StartOption = None,
    end: EndOption = None,
    now: NowOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The silo map: E-I per department, modularity, brokers, isolated teams, pair figures."""
    first, last, _ = _period(start, end, now)
    with _session(database_url) as (session, _):
        result = silo.silo_map(session, first, last)
        org = silo.load_org(session)
    if graphml is not None:
        graphml.write_text(silo.graphml(org, result.edges))
    if edges_csv is not None:
        edges_csv.write_text(silo.edge_csv(org, result.edges))
    table = Table("department", "E-I out", "E-I in", "internal", "out", "in")
    for d in result.departments:
        table.add_row(
            d.name,
            _value(d.ei_outgoing),
            _value(d.ei_incoming),
            *(f"{v:g}" for v in (d.internal, d.external_out, d.external_in)),
        )
    console.print(table)
    console.print(
        f"modularity: departments {result.modularity_departments:.3f}, "
        f"detected communities {result.modularity_detected:.3f}"
    )
    teams = Table("team", "department", "betweenness", "constraint", "isolated")
    for t in sorted(result.teams, key=lambda t: -t.betweenness):
        teams.add_row(
            t.name,
            t.department,
            f"{t.betweenness:.3f}",
            _value(t.constraint),
            "yes" if t.isolated else "",
        )
    console.print(teams)
    pairs = Table(
        "from",
        "to",
        "volume",
        "accept h",
        "decline",
        "bounce",
        "bounce +h",
        "p90 accept h",
        "p90 work h",
    )
    for p in result.pairs:
        pairs.add_row(
            p.source_name,
            p.target_name,
            str(p.volume),
            _value(p.mean_accept_hours),
            _value(p.decline_rate, "%"),
            _value(p.bounce_rate, "%"),
            _value(p.bounce_extra_hours),
            _value(p.p90_accept_hours),
            _value(p.p90_work_hours),
        )
    console.print(pairs)


@insight_app.command("health")
def health_command(
    team: Annotated[str | None, typer.Option(help="Only pairs this team is in.")] = None,
    now: NowOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Trust per ordered team pair (A's experience of B), worst first."""
    at = _time(now, "--now", datetime.now(UTC))
    with _session(database_url) as (session, _):
        pairs = health.relationship_health(
            session, at, team_id=None if team is None else _team_id(session, team)
        )
    table = Table("experienced by", "of", "trust", "90% interval", "+", "-", "trend")
    for pair in pairs:
        table.add_row(
            pair.experienced_by_name,
            pair.experience_of_name,
            f"{pair.trust.score:.2f}",
            f"{pair.trust.low:.2f}-{pair.trust.high:.2f}",
            str(pair.positives),
            str(pair.negatives),
            "deteriorating" if pair.deteriorating else "",
        )
    console.print(table)


@insight_app.command("recognitions")
def recognitions_command(
    viewer: As,
    start: StartOption = None,
    end: EndOption = None,
    now: NowOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Suggested recognitions about the people you lead (worked out, never stored)."""
    first, last, _ = _period(start, end, now)
    with _session(database_url) as (session, _):
        todo = recognition.suggestions_for(session, _actor(session, viewer), first, last)
    table = Table("person", "why", "period")
    for item in todo:
        table.add_row(
            item.person,
            item.detail,
            f"{item.period_start:%Y-%m-%d}-{item.period_end:%Y-%m-%d}",
        )
    console.print(table)


@insight_app.command("review")
def review_command(
    viewer: As,
    experienced_by: Annotated[str, typer.Argument(help="Team A, whose experience it is.")],
    experience_of: Annotated[str, typer.Argument(help="Team B, who served A.")],
    start: StartOption = None,
    end: EndOption = None,
    now: NowOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The service review of team A's experience of team B."""
    first, last, at = _period(start, end, now)
    with _session(database_url) as (session, minimum):
        result = review.pair_review(
            session,
            _actor(session, viewer),
            _team_id(session, experienced_by),
            _team_id(session, experience_of),
            first,
            last,
            at,
            _clock(session, viewer),
            minimum_group_size=minimum,
        )
    table = Table("figure", "value", title=f"{result.a_name} → {result.b_name}")
    table.add_row("requests", str(result.requests))
    table.add_row("handoffs", str(result.handoffs))
    table.add_row("offers accepted / declined", f"{result.accepted} / {result.declined}")
    table.add_row("mean hours to accept", _value(result.mean_accept_hours))
    table.add_row("p90 hours to accept", _value(result.p90_accept_hours))
    table.add_row("bounced back", str(result.bounces))
    if result.health is not None:
        t = result.health.trust
        table.add_row("trust (90% interval)", f"{t.score:.2f} ({t.low:.2f}-{t.high:.2f})")
    console.print(table)
