"""The silo map: who requests from whom and who hands off to whom, between teams and departments.

Edges come from the event history, aggregated in SQL: a request is an edge from the requester's
home team to the team it was opened with; a handoff is an edge from the team that offered the
request to the team it was offered to. Network measures come from networkx on that graph (E-I
and modularity from `rules`, checked against networkx); per department pair, the acceptance,
decline, bounce and stall figures. Every figure is defined in docs/insight.md.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import networkx as nx
import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from followthrough.history.models import Event
from followthrough.history.payloads import Accepted, EventKind, Offered
from followthrough.insight import rules
from followthrough.insight.sql import home_teams, seconds_between
from followthrough.org.models import Department, Team

STALL_QUANTILE = 0.9
# Louvain shuffles the nodes with this seed: the same graph always gives the same communities.
LOUVAIN_SEED = 0


@dataclass(frozen=True)
class TeamEdge:
    source: int
    target: int
    requests: int
    handoffs: int

    @property
    def weight(self) -> int:
        return self.requests + self.handoffs


@dataclass(frozen=True)
class Org:
    """Team and department names, and which department each team belongs to."""

    team_names: dict[int, str]
    department_of: dict[int, int]
    department_names: dict[int, str]


def load_org(session: Session) -> Org:
    """Teams and departments in id order (the network's node order, see `team_graph`)."""
    teams = list(session.execute(select(Team.id, Team.name, Team.department_id).order_by(Team.id)))
    departments = {
        d.id: d.name
        for d in session.execute(select(Department.id, Department.name).order_by(Department.id))
    }
    return Org({t.id: t.name for t in teams}, {t.id: t.department_id for t in teams}, departments)


def _in(column: Any, start: datetime, end: datetime) -> list[Any]:
    return [column >= start, column < end]


def team_edges(session: Session, start: datetime, end: datetime) -> list[TeamEdge]:
    """Requests and handoffs between teams in [start, end); a team's edge to itself is kept."""
    home = home_teams()
    requests = (
        select(
            home.c.team_id.label("source"), Event.team_id.label("target"), func.count().label("n")
        )
        .join(home, home.c.person_id == Event.actor_id)
        .where(Event.kind == EventKind.OPENED, *_in(Event.at, start, end))
        .group_by(home.c.team_id, Event.team_id)
    )
    handoffs = (
        select(Event.team_id, Event.other_team_id, func.count())
        .where(
            Event.kind == EventKind.OFFERED,
            Event.other_team_id.is_not(None),
            Event.team_id.is_not(None),
            *_in(Event.at, start, end),
        )
        .group_by(Event.team_id, Event.other_team_id)
    )
    counts: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for source, target, n in session.execute(requests):
        counts[(source, target)][0] += n
    for source, target, n in session.execute(handoffs):
        if source is not None and target is not None:
            counts[(source, target)][1] += n
    return [TeamEdge(s, t, r, h) for (s, t), (r, h) in sorted(counts.items())]


def team_graph(org: Org, edges: list[TeamEdge]) -> nx.DiGraph:
    """The handover network: every team a node (named, with its department), edges weighted by
    requests + handoffs.

    Nodes go in by team id and edges by (source, target), whatever order the rows came in:
    Louvain visits nodes and neighbours in insertion order (shuffled by its seed), so the same
    history must build the same graph on SQLite and PostgreSQL to find the same communities.
    """
    graph = nx.DiGraph()
    for team_id in sorted(org.team_names):
        department = org.department_of[team_id]
        graph.add_node(
            team_id,
            name=org.team_names[team_id],
            department_id=department,
            department=org.department_names.get(department, ""),
        )
    for edge in sorted(edges, key=lambda e: (e.source, e.target)):
        graph.add_edge(
            edge.source,
            edge.target,
            weight=edge.weight,
            requests=edge.requests,
            handoffs=edge.handoffs,
        )
    return graph


@dataclass(frozen=True)
class DepartmentFigures:
    department_id: int
    name: str
    ei_outgoing: float | None
    ei_incoming: float | None
    internal: float
    external_out: float
    external_in: float


@dataclass(frozen=True)
class TeamFigures:
    team_id: int
    name: str
    department: str
    betweenness: float
    constraint: float | None
    isolated: bool
    community: int


@dataclass(frozen=True)
class PairFigures:
    """One ordered department pair: requests and handoffs from `source` to `target`."""

    source: int
    target: int
    source_name: str
    target_name: str
    volume: int
    accepted: int
    mean_accept_hours: float | None
    declined: int
    decline_rate: float | None
    handoffs: int
    bounces: int
    bounce_rate: float | None
    bounce_extra_hours: float | None
    p90_accept_hours: float | None
    p90_work_hours: float | None


@dataclass(frozen=True)
class SiloMap:
    start: datetime
    end: datetime
    departments: list[DepartmentFigures]
    teams: list[TeamFigures]
    pairs: list[PairFigures]
    department_edges: list[tuple[int, int, int]]
    modularity_departments: float
    modularity_detected: float
    detected_communities: list[list[int]]
    edges: list[TeamEdge]


def network_figures(
    org: Org, edges: list[TeamEdge]
) -> tuple[list[DepartmentFigures], list[TeamFigures], float, float, list[list[int]]]:
    """E-I per department, brokers and isolated teams, and the modularity of the departments
    against communities detected by Louvain (seeded, so the same graph gives the same answer)."""
    graph = team_graph(org, edges)
    weighted = sorted((e.source, e.target, float(e.weight)) for e in edges)
    ei = rules.ei_indices(weighted, {t: org.department_of[t] for t in org.team_names})
    departments = [
        DepartmentFigures(
            d,
            name,
            ei[d].outgoing if d in ei else None,
            ei[d].incoming if d in ei else None,
            ei[d].internal if d in ei else 0.0,
            ei[d].external_out if d in ei else 0.0,
            ei[d].external_in if d in ei else 0.0,
        )
        for d, name in sorted(org.department_names.items(), key=lambda kv: kv[1])
    ]
    by_department: dict[int, set[int]] = defaultdict(set)
    for team, department in org.department_of.items():
        by_department[department].add(team)
    real = [sorted(by_department[d]) for d in sorted(by_department)]
    # Communities numbered by their lowest team id, so the numbering is stable too.
    detected = (
        sorted(
            sorted(c)
            for c in nx.community.louvain_communities(graph, weight="weight", seed=LOUVAIN_SEED)
        )
        if weighted
        else [[t] for t in sorted(org.team_names)]
    )
    q_real = rules.directed_modularity(weighted, real)
    q_detected = rules.directed_modularity(weighted, detected)
    loopless = graph.copy()
    loopless.remove_edges_from(list(nx.selfloop_edges(loopless)))
    betweenness = nx.betweenness_centrality(loopless, normalized=True)
    constraint = nx.constraint(loopless, weight="weight")
    community_of = {t: i for i, members in enumerate(detected) for t in members}
    teams = [
        TeamFigures(
            t,
            org.team_names[t],
            org.department_names.get(org.department_of[t], ""),
            float(betweenness.get(t, 0.0)),
            None if np.isnan(constraint.get(t, np.nan)) else float(constraint[t]),
            loopless.degree(t) == 0,
            community_of.get(t, -1),
        )
        for t in sorted(org.team_names, key=lambda t: org.team_names[t])
    ]
    return departments, teams, q_real, q_detected, detected


@dataclass(frozen=True)
class OfferAnswer:
    """An offer accepted or declined: who offered (the handing-on team, or for an intake offer
    the requester's home team) and who answered."""

    request_id: int
    sender: int
    receiver: int
    accepted: bool
    waited_seconds: float
    bounce: bool


# The payload keys read in SQL, checked against the typed payloads when this module loads.
WAITED_SECONDS = Accepted.key("waited_seconds")
BOUNCE = Accepted.key("bounce")
INTAKE = Offered.key("intake")

# An answer's offer is the request's latest offer before it (a request has at most one open
# offer), looked for this far before the period.
OFFER_LOOKBACK = timedelta(days=60)


def offer_answers(session: Session, start: datetime, end: datetime) -> list[OfferAnswer]:
    """Every offer answered in [start, end), paired with its offer by a window over the
    request's offers and answers."""
    home = home_teams()
    offers = (
        select(
            Event.request_id,
            Event.kind,
            Event.at,
            Event.payload[WAITED_SECONDS].as_float().label("waited"),
            Event.payload[BOUNCE].as_boolean().label("bounce"),
            *(
                func.lag(column).over(partition_by=Event.request_id, order_by=Event.id).label(name)
                for name, column in (
                    ("offer_kind", Event.kind),
                    ("offer_team", Event.team_id),
                    ("offer_to", Event.other_team_id),
                    ("offer_intake", Event.payload[INTAKE].as_boolean()),
                )
            ),
        )
        .where(
            Event.kind.in_((EventKind.OFFERED, EventKind.ACCEPTED, EventKind.DECLINED)),
            Event.at >= start - OFFER_LOOKBACK,
            Event.at < end,
        )
        .subquery()
    )
    opened = aliased(Event)
    rows = session.execute(
        select(
            offers.c.request_id,
            offers.c.kind,
            offers.c.waited,
            offers.c.bounce,
            offers.c.offer_team,
            offers.c.offer_to,
            offers.c.offer_intake,
            home.c.team_id,
        )
        .join(
            opened, and_(opened.request_id == offers.c.request_id, opened.kind == EventKind.OPENED)
        )
        .outerjoin(home, home.c.person_id == opened.actor_id)
        .where(
            offers.c.kind.in_((EventKind.ACCEPTED, EventKind.DECLINED)),
            offers.c.offer_kind == EventKind.OFFERED,
            offers.c.at >= start,
        )
    )
    result = []
    for request_id, kind, waited, bounce, team, to, intake, requester_team in rows:
        sender, receiver = (requester_team, team) if intake else (team, to)
        if sender is None or receiver is None:
            continue
        result.append(
            OfferAnswer(
                request_id,
                sender,
                receiver,
                kind == EventKind.ACCEPTED,
                waited or 0.0,
                bool(bounce),
            )
        )
    return result


def bounced_requests(
    session: Session, start: datetime, end: datetime, org: Org
) -> dict[tuple[int, int], set[int]]:
    """The requests sent back in [start, end), per department pair (the department it came
    back to, the department that sent it back): a pair's bounces in the silo map."""
    department = org.department_of
    bounced: dict[tuple[int, int], set[int]] = defaultdict(set)
    for request_id, back_to, sent_back_by in session.execute(
        select(Event.request_id, Event.team_id, Event.other_team_id).where(
            Event.kind == EventKind.ACCEPTED,
            Event.payload[BOUNCE].as_boolean().is_(True),
            *_in(Event.at, start, end),
        )
    ):
        if request_id is None or back_to is None or sent_back_by is None:
            continue
        bounced[(department[back_to], department[sent_back_by])].add(request_id)
    return bounced


def _pair_rows(session: Session, start: datetime, end: datetime, org: Org) -> list[PairFigures]:
    department = org.department_of
    accepted: dict[tuple[int, int], list[float]] = defaultdict(list)
    declined: dict[tuple[int, int], int] = defaultdict(int)
    for answer in offer_answers(session, start, end):
        if answer.sender != answer.receiver:
            key = (department[answer.sender], department[answer.receiver])
            if answer.accepted:
                accepted[key].append(answer.waited_seconds)
            else:
                declined[key] += 1

    # In work: from accepting to the request's next acceptance or resolution, on the pair
    # (requester's department, accepting department).
    steps = (
        select(
            Event.request_id,
            Event.kind,
            Event.team_id,
            Event.at,
            func.lead(Event.at)
            .over(partition_by=Event.request_id, order_by=Event.id)
            .label("until"),
        )
        .where(Event.kind.in_((EventKind.ACCEPTED, EventKind.RESOLVED)), *_in(Event.at, start, end))
        .subquery()
    )
    # The requester, looked up per step through the (request_id, id) index: a join here makes
    # SQLite walk the whole event table.
    opened = aliased(Event)
    requester = (
        select(opened.actor_id)
        .where(opened.request_id == steps.c.request_id, opened.kind == EventKind.OPENED)
        .limit(1)
        .scalar_subquery()
    )
    home = {row.person_id: row.team_id for row in session.execute(select(home_teams()))}
    work_rows = (
        (home.get(person), team, seconds)
        for person, team, seconds in session.execute(
            select(requester, steps.c.team_id, seconds_between(steps.c.at, steps.c.until))
            .select_from(steps)
            .where(steps.c.kind == EventKind.ACCEPTED, steps.c.until.is_not(None))
        )
    )
    work: dict[tuple[int, int], list[float]] = defaultdict(list)
    for came_from, team, seconds in work_rows:
        if came_from is not None and team is not None:
            work[(department[came_from], department[team])].append(seconds)

    # Handoffs offered, and bounces: A→B→A is a bounce on the pair (A, B).
    handoffs: dict[tuple[int, int], int] = defaultdict(int)
    for source, target, n in session.execute(
        select(Event.team_id, Event.other_team_id, func.count())
        .where(
            Event.kind == EventKind.OFFERED,
            Event.other_team_id.is_not(None),
            *_in(Event.at, start, end),
        )
        .group_by(Event.team_id, Event.other_team_id)
    ):
        if source is not None and target is not None and source != target:
            handoffs[(department[source], department[target])] += n
    bounced = bounced_requests(session, start, end, org)

    # Extra duration: mean time to resolve of requests handed A→B that bounced, minus those
    # handed A→B that did not.
    resolved = aliased(Event)
    first_opened = aliased(Event)
    durations = (
        select(
            Event.request_id,
            Event.team_id,
            Event.other_team_id,
            func.max(seconds_between(first_opened.at, resolved.at)).label("seconds"),
        )
        .join(
            first_opened,
            and_(
                first_opened.request_id == Event.request_id, first_opened.kind == EventKind.OPENED
            ),
        )
        .join(
            resolved,
            and_(resolved.request_id == Event.request_id, resolved.kind == EventKind.RESOLVED),
        )
        .where(
            Event.kind == EventKind.OFFERED,
            Event.other_team_id.is_not(None),
            Event.team_id != Event.other_team_id,
            *_in(Event.at, start, end),
        )
        .group_by(Event.request_id, Event.team_id, Event.other_team_id)
    )
    with_bounce: dict[tuple[int, int], list[float]] = defaultdict(list)
    without: dict[tuple[int, int], list[float]] = defaultdict(list)
    for request_id, source, target, seconds in session.execute(durations):
        if source is None or target is None:
            continue
        key = (department[source], department[target])
        (with_bounce if request_id in bounced.get(key, ()) else without)[key].append(seconds)

    volume: dict[tuple[int, int], int] = defaultdict(int)
    for edge in team_edges(session, start, end):
        volume[(department[edge.source], department[edge.target])] += edge.weight

    keys = set(volume) | set(accepted) | set(declined) | set(handoffs) | set(bounced)
    result = []
    for a, b in sorted(keys):
        waits = accepted.get((a, b), [])
        n_declined = declined.get((a, b), 0)
        n_handoffs = handoffs.get((a, b), 0)
        n_bounces = len(bounced.get((a, b), ()))
        extra = None
        if with_bounce.get((a, b)) and without.get((a, b)):
            extra = (np.mean(with_bounce[(a, b)]) - np.mean(without[(a, b)])) / 3600
        p90_accept = rules.quantile(waits, STALL_QUANTILE)
        p90_work = rules.quantile(work.get((a, b), []), STALL_QUANTILE)
        result.append(
            PairFigures(
                a,
                b,
                org.department_names.get(a, ""),
                org.department_names.get(b, ""),
                volume.get((a, b), 0),
                len(waits),
                None if not waits else float(np.mean(waits)) / 3600,
                n_declined,
                rules.ratio(n_declined, len(waits) + n_declined),
                n_handoffs,
                n_bounces,
                rules.ratio(n_bounces, n_handoffs),
                None if extra is None else float(extra),
                None if p90_accept is None else p90_accept / 3600,
                None if p90_work is None else p90_work / 3600,
            )
        )
    return result


def silo_map(session: Session, start: datetime, end: datetime) -> SiloMap:
    """The whole silo map for [start, end)."""
    org = load_org(session)
    edges = team_edges(session, start, end)
    departments, teams, q_real, q_detected, detected = network_figures(org, edges)
    department_edges: dict[tuple[int, int], int] = defaultdict(int)
    for edge in edges:
        department_edges[(org.department_of[edge.source], org.department_of[edge.target])] += (
            edge.weight
        )
    return SiloMap(
        start,
        end,
        departments,
        teams,
        _pair_rows(session, start, end, org),
        [(a, b, w) for (a, b), w in sorted(department_edges.items())],
        q_real,
        q_detected,
        detected,
        edges,
    )


def graphml(org: Org, edges: list[TeamEdge]) -> str:
    """The handover network as GraphML (nodes: teams with their department)."""
    buffer = io.BytesIO()
    nx.write_graphml(team_graph(org, edges), buffer)
    return buffer.getvalue().decode()


EDGE_COLUMNS = (
    "source_team",
    "target_team",
    "source_department",
    "target_department",
    "requests",
    "handoffs",
    "weight",
)


def edge_csv(org: Org, edges: list[TeamEdge]) -> str:
    """The handover network as a CSV edge list, one row per ordered team pair."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EDGE_COLUMNS)
    for edge in edges:
        writer.writerow(
            (
                org.team_names[edge.source],
                org.team_names[edge.target],
                org.department_names.get(org.department_of[edge.source], ""),
                org.department_names.get(org.department_of[edge.target], ""),
                edge.requests,
                edge.handoffs,
                edge.weight,
            )
        )
    return buffer.getvalue()
