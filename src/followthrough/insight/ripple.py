"""The ripple to customers: which internal requests a customer case waited on, and how many of
the customer's waiting hours each team used (`rules.decompose_wait`, defined in docs/insight.md).

A case's wait runs from the case's creation until its last linked request was resolved (or now
while one is still open). The custody of each linked request comes from its history; which
requests a case waits on comes from the cases' own link table (cases sit below requests and
Insight), and whether the viewer may read one from `requests.access` (a fact of now).

Only the requests the viewer may read count (`requests.access.visibility_clause`): a request
they may not read adds no hours, no team and no customer line, so a ripple never reveals that a
case waited on a confidential request the viewer cannot see. The viewer `None` is the operator
at the database (the command line), who sees every request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from followthrough.cases.models import Case, RequestCase
from followthrough.errors import NotFound
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind
from followthrough.insight import rules
from followthrough.insight.rules import Custody, CustodyEvent
from followthrough.org.actors import Actor
from followthrough.org.models import Team
from followthrough.requests.access import visibility_clause
from followthrough.requests.models import Request

CUSTODY_KINDS = (
    EventKind.OPENED,
    EventKind.ACCEPTED,
    EventKind.RESOLVED,
    EventKind.REOPENED,
    *rules.UNRESOLVED_ENDS,
)
DEFAULT_THRESHOLD = timedelta(hours=8)


@dataclass(frozen=True)
class CaseRipple:
    case_id: int
    reference: str
    customer: str
    wait_start: datetime
    wait_end: datetime
    still_waiting: bool
    total_hours: float
    hours_by_team: dict[str, float]
    requests: list[int]
    custody: list[Custody]


def _custody(
    session: Session, request_ids: Iterable[int], now: datetime
) -> dict[int, list[Custody]]:
    ids = sorted(set(request_ids))
    events: dict[int, list[CustodyEvent]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Event.request_id, Event.at, Event.kind, Event.team_id)
            .where(Event.request_id.in_(ids[start : start + 500]), Event.kind.in_(CUSTODY_KINDS))
            .order_by(Event.request_id, Event.id)
        )
        for request_id, at, kind, team_id in rows:
            if request_id is not None:
                events[request_id].append(CustodyEvent(at, kind, team_id))
    return {rid: rules.custody_of(rid, evs, now) for rid, evs in events.items()}


def _readable(viewer: Actor | None) -> ColumnElement[bool]:
    # The one place Insight reads the request row: who may read a request is a fact of now (its
    # confidentiality, its current team and owner, its open offers), not of its history, so it
    # comes from the requests' own rule (`requests.access`), never restated from events.
    return true() if viewer is None else visibility_clause(viewer)


def _ripples(
    session: Session, viewer: Actor | None, cases: list[Case], now: datetime
) -> list[tuple[Case, list[int], rules.Decomposition, list[Custody], datetime, bool]]:
    links: dict[int, list[int]] = defaultdict(list)
    case_ids = [c.id for c in cases]
    for start in range(0, len(case_ids), 500):
        for request_id, case_id in session.execute(
            select(RequestCase.request_id, RequestCase.case_id)
            .join(Request, Request.id == RequestCase.request_id)
            .where(RequestCase.case_id.in_(case_ids[start : start + 500]), _readable(viewer))
        ):
            links[case_id].append(request_id)
    custody = _custody(session, (r for rs in links.values() for r in rs), now)
    result = []
    for case in cases:
        stretches = [c for rid in links[case.id] for c in custody.get(rid, [])]
        still_open = any(c.end == now for c in stretches)
        end = now if still_open or not stretches else max(c.end for c in stretches)
        decomposition = rules.decompose_wait(case.created_at, end, stretches)
        result.append((case, sorted(links[case.id]), decomposition, stretches, end, still_open))
    return result


def _named(hours: dict[Hashable, float], names: dict[int, str]) -> dict[str, float]:
    return {
        (names.get(team, str(team)) if isinstance(team, int) else str(team)): value
        for team, value in sorted(hours.items(), key=lambda kv: -kv[1])
    }


def _team_names(session: Session) -> dict[int, str]:
    return {t.id: t.name for t in session.execute(select(Team.id, Team.name))}


def case_ripple(session: Session, viewer: Actor | None, case_id: int, now: datetime) -> CaseRipple:
    """One case: the requests it waited on that the viewer may read, and each team's share of
    the customer's wait on them."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist", field="case_id")
    ((_, requests, decomposition, custody, end, still_open),) = _ripples(
        session, viewer, [case], now
    )
    return CaseRipple(
        case.id,
        case.reference,
        case.customer,
        case.created_at,
        end,
        still_open,
        decomposition.total_hours,
        _named(decomposition.hours_by_team, _team_names(session)),
        requests,
        custody,
    )


@dataclass(frozen=True)
class CustomerLine:
    case_id: int
    reference: str
    customer: str
    team_hours: float
    total_hours: float
    still_waiting: bool


@dataclass(frozen=True)
class TeamRipple:
    """For one team and period: "your work touched N customers; M waited more than X because of
    requests in your queue", and the customers behind its work."""

    team_id: int
    team_name: str
    start: datetime
    end: datetime
    threshold_hours: float
    customers_touched: int
    customers_waited_over: int
    lines: list[CustomerLine]


def team_ripple(
    session: Session,
    viewer: Actor | None,
    team_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    threshold: timedelta = DEFAULT_THRESHOLD,
) -> TeamRipple:
    """The customers whose cases waited on requests the team held during [start, end), counting
    only the requests the viewer may read.

    A customer "waited more than X because of your queue" when the team's share of that case's
    wait (the decomposition, not the whole wait) exceeds X.
    """
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist", field="team_id")
    held = (
        select(Event.request_id)
        .where(
            Event.team_id == team_id,
            Event.kind.in_(CUSTODY_KINDS),
            Event.at >= start,
            Event.at < end,
        )
        .distinct()
        .subquery()
    )
    cases = list(
        session.scalars(
            select(Case)
            .where(
                Case.id.in_(
                    select(RequestCase.case_id)
                    .join(held, held.c.request_id == RequestCase.request_id)
                    .join(Request, Request.id == RequestCase.request_id)
                    .where(_readable(viewer))
                )
            )
            .order_by(Case.id)
        )
    )
    lines = []
    for case, _requests, decomposition, _custody_list, _end, still_open in _ripples(
        session, viewer, cases, min(now, end)
    ):
        lines.append(
            CustomerLine(
                case.id,
                case.reference,
                case.customer,
                decomposition.hours_by_team.get(team_id, 0.0),
                decomposition.total_hours,
                still_open,
            )
        )
    lines.sort(key=lambda line: -line.team_hours)
    limit = threshold.total_seconds() / 3600
    customers = {line.customer for line in lines}
    waited = {line.customer for line in lines if line.team_hours > limit}
    return TeamRipple(
        team_id,
        team.name,
        start,
        end,
        limit,
        len(customers),
        len(waited),
        lines,
    )
