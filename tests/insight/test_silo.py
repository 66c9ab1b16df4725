"""The silo map over the hand-made story: edges, network measures equal to networkx, pair figures.

Edges in the story: Claims→Policy Admin: 3 requests and asha's handoff back (4); Policy Admin to
itself: dan's offer to cleo (1); Policy Admin→Claims: cleo's handoff (1). HR and Triage are alone.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import networkx as nx
import pytest

from followthrough.db import Database
from followthrough.insight import silo
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
