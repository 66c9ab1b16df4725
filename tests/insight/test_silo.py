"""The silo map over the hand-made story: edges, network measures equal to networkx, pair figures.

Edges in the story: Claims→Policy Admin: 3 requests and asha's handoff back (4); Policy Admin to
itself: dan's offer to cleo (1); Policy Admin→Claims: cleo's handoff (1). HR and Triage are alone.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import timedelta

import networkx as nx
import pytest
from sqlalchemy import insert

from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.insight import silo
from followthrough.org import service as org
from tests.conftest import T0
from tests.factories import World
from tests.insight.conftest import Story

START, END = T0 - timedelta(days=1), T0 + timedelta(days=6)


def silo_map(db: Database) -> silo.SiloMap:
    with db.unit_of_work(readonly=True) as session:
        return silo.silo_map(session, START, END)


def expected_graph(world: World) -> nx.DiGraph:
    t = world.teams
    graph = nx.DiGraph()
    graph.add_nodes_from(t.values())
    graph.add_weighted_edges_from(
        [(t["claims"], t["admin"], 4), (t["admin"], t["admin"], 1), (t["admin"], t["claims"], 1)]
    )
    return graph


def departments(world: World) -> list[set[int]]:
    t = world.teams
    return [{t["claims"]}, {t["admin"]}, {t["hr"]}, {t["triage"]}]


def test_requests_and_handoffs_become_weighted_team_edges(
    db: Database, world: World, story: Story
) -> None:
    t = world.teams
    edges = {(e.source, e.target): (e.requests, e.handoffs) for e in silo_map(db).edges}
    assert edges == {
        (t["claims"], t["admin"]): (3, 1),
        (t["admin"], t["admin"]): (0, 1),
        (t["admin"], t["claims"]): (0, 1),
    }


def test_ei_index_is_counted_outgoing_and_incoming(
    db: Database, world: World, story: Story
) -> None:
    by_name = {d.name: d for d in silo_map(db).departments}
    assert (by_name["Claims"].ei_outgoing, by_name["Claims"].ei_incoming) == (1.0, 1.0)
    admin = by_name["Policy Administration"]
    assert admin.ei_outgoing == pytest.approx(0.0)
    assert admin.ei_incoming == pytest.approx(0.6)


def test_modularity_and_brokers_equal_networkx_on_the_same_graph(
    db: Database, world: World, story: Story
) -> None:
    result = silo_map(db)
    graph = expected_graph(world)
    assert result.modularity_departments == pytest.approx(
        nx.community.modularity(graph, departments(world), weight="weight")
    )
    assert result.modularity_detected == pytest.approx(
        nx.community.modularity(
            graph, [set(c) for c in result.detected_communities], weight="weight"
        )
    )
    loopless = graph.copy()
    loopless.remove_edges_from(list(nx.selfloop_edges(loopless)))
    betweenness = nx.betweenness_centrality(loopless, normalized=True)
    constraint = nx.constraint(loopless, weight="weight")
    for team in result.teams:
        assert team.betweenness == pytest.approx(betweenness[team.team_id])
        if team.constraint is not None:
            assert team.constraint == pytest.approx(constraint[team.team_id])


def test_teams_without_ties_to_other_teams_are_isolated(
    db: Database, world: World, story: Story
) -> None:
    isolated = {t.name for t in silo_map(db).teams if t.isolated}
    assert isolated == {"HR", "Triage"}


def test_pair_figures_count_acceptances_bounces_and_stalls(
    db: Database, world: World, story: Story
) -> None:
    pairs = {(p.source_name, p.target_name): p for p in silo_map(db).pairs}
    claims_to_admin = pairs[("Claims", "Policy Administration")]
    assert claims_to_admin.volume == 4
    # R1 and R3 intake, and the bounce back: each accepted an hour after the offer.
    assert claims_to_admin.accepted == 3
    assert claims_to_admin.mean_accept_hours == pytest.approx(1.0)
    assert claims_to_admin.decline_rate == 0.0
    assert claims_to_admin.p90_accept_hours == pytest.approx(1.0)
    # In work at Policy Admin: 3 h (R1), 2 h and 1 h (R3): p90 by linear interpolation.
    assert claims_to_admin.p90_work_hours == pytest.approx(2.8)
    admin_to_claims = pairs[("Policy Administration", "Claims")]
    assert (admin_to_claims.handoffs, admin_to_claims.bounces) == (1, 1)
    assert admin_to_claims.bounce_rate == 1.0
    # cleo's decline of dan's offer stays inside the team: not a pair between teams.
    assert all(p.declined == 0 for p in pairs.values())


def test_the_handover_network_exports_as_graphml_and_csv(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work(readonly=True) as session:
        org = silo.load_org(session)
        edges = silo.team_edges(session, START, END)
    graph = nx.read_graphml(io.StringIO(silo.graphml(org, edges)), node_type=int)
    assert {(a, b): d["weight"] for a, b, d in graph.edges(data=True)} == {
        (a, b): d["weight"] for a, b, d in expected_graph(world).edges(data=True)
    }
    assert graph.nodes[world.teams["admin"]]["department"] == "Policy Administration"
    rows = list(csv.DictReader(io.StringIO(silo.edge_csv(org, edges))))
    assert {(r["source_team"], r["target_team"], r["weight"]) for r in rows} == {
        ("Claims", "Policy Admin", "4"),
        ("Policy Admin", "Policy Admin", "1"),
        ("Policy Admin", "Claims", "1"),
    }


def _ring_of_teams() -> tuple[silo.Org, list[silo.TeamEdge]]:
    """Twelve teams in three departments handing work round a ring with equal weights, plus a
    few cross ties: a graph whose communities Louvain can cut in several equally good ways."""
    teams = {t: f"Team {t}" for t in range(101, 113)}
    department_of = {t: 1 + (t - 101) // 4 for t in teams}
    edges = [silo.TeamEdge(t, 101 + (t - 100) % 12, 2, 1) for t in teams]
    edges += [silo.TeamEdge(101, 107, 0, 3), silo.TeamEdge(104, 110, 1, 2)]
    return silo.Org(teams, department_of, {1: "A", 2: "B", 3: "C"}), edges


def test_the_same_history_gives_the_same_communities_whatever_order_the_rows_come_in() -> None:
    """SQLite and PostgreSQL return teams and edges in their own order; the figures must not
    depend on it."""
    base, edges = _ring_of_teams()
    expected = silo.network_figures(base, edges)
    rng = random.Random(1)
    for _ in range(20):
        names = list(base.team_names.items())
        rng.shuffle(names)
        shuffled_org = silo.Org(
            dict(names),
            dict(rng.sample(list(base.department_of.items()), len(names))),
            base.department_names,
        )
        shuffled = rng.sample(edges, len(edges))
        assert silo.network_figures(shuffled_org, shuffled) == expected


def test_silo_metrics_equal_networkx_on_a_transfer_graph_built_here(
    db: Database, world: World
) -> None:
    t, d = world.teams, world.departments
    with db.unit_of_work() as session:
        t["claims2"] = org.add_team(session, d["Claims"], "Claims North").id
        t["admin2"] = org.add_team(session, d["Policy Administration"], "Renewals").id
        t["archive"] = org.add_team(session, d["Operations"], "Archive").id
        transfers = {
            ("claims", "admin"): 3,
            ("admin", "claims"): 1,
            ("claims", "claims2"): 2,
            ("admin", "admin2"): 2,
            ("admin2", "admin"): 1,
            ("admin2", "triage"): 1,
            ("triage", "claims"): 1,
            ("hr", "hr"): 1,  # an offer inside the team: a tie to itself only
        }
        at = T0
        rows = []
        for (source, target), count in transfers.items():
            for _ in range(count):
                at += timedelta(minutes=7)
                rows.append(
                    {"kind": "offered", "at": at, "team_id": t[source], "other_team_id": t[target]}
                )
        session.execute(insert(Event), rows)
    graph = nx.DiGraph()
    graph.add_nodes_from(t.values())
    for (source, target), count in transfers.items():
        graph.add_edge(t[source], t[target], weight=count)
    department_teams = {
        "Claims": {t["claims"], t["claims2"]},
        "Policy Administration": {t["admin"], t["admin2"]},
        "People": {t["hr"]},
        "Operations": {t["triage"], t["archive"]},
    }
    result = silo_map(db)

    by_name = {f.name: f for f in result.departments}
    for name, members in department_teams.items():
        inside = graph.subgraph(members).size(weight="weight")
        out = sum(w for _, _, w in nx.edge_boundary(graph, members, data="weight"))
        into = sum(w for _, _, w in nx.edge_boundary(graph.reverse(), members, data="weight"))
        figures = by_name[name]
        assert (figures.internal, figures.external_out, figures.external_in) == (inside, out, into)
        assert figures.ei_outgoing == pytest.approx((out - inside) / (out + inside))
        assert figures.ei_incoming == pytest.approx((into - inside) / (into + inside))
    assert result.modularity_departments == pytest.approx(
        nx.community.modularity(graph, list(department_teams.values()), weight="weight")
    )
    assert result.modularity_detected == pytest.approx(
        nx.community.modularity(
            graph, [set(c) for c in result.detected_communities], weight="weight"
        )
    )
    loopless = graph.copy()
    loopless.remove_edges_from(list(nx.selfloop_edges(loopless)))
    assert {f.team_id for f in result.teams if f.isolated} == set(nx.isolates(loopless))
    assert {f.team_id for f in result.teams if f.isolated} == {t["hr"], t["archive"]}
