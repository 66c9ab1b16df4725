"""Insight's pure arithmetic on small hand-made histories with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta

from followthrough.insight import rules
from followthrough.insight.rules import Custody, CustodyEvent, Interaction, Tally
from followthrough.org.local_time import clock_of

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# ---- scorecard -------------------------------------------------------------------------------


def test_figures_turn_counts_into_means_and_rates() -> None:
    tally = Tally(
        handled=4,
        within_target=3,
        measured=4,
        accepted=2,
        accept_seconds=3600 * 3,
        resolve_count=4,
        resolve_seconds=3600 * 40,
        promises_kept=3,
        promises_broken=1,
        updates_on_time=9,
        updates_missed=1,
        ratings=2,
        understand=9,
        own=8,
        serve=7,
        communicate=3,
    )
    figures = rules.figures_of(tally)
    assert figures.requests_handled == 4
    assert figures.mean_accept_hours == 1.5
    assert figures.mean_resolve_hours == 10
    assert figures.ola_attainment == 0.75
    assert figures.promises_kept == 0.75
    assert figures.updates_on_time == 0.9
    assert figures.rating_understand == 4.5
    assert figures.rating_communicate == 1.5


def test_ola_counts_only_resolutions_measured_against_a_target() -> None:
    # 10 resolutions, 6 of them imported with no target known: 3 of the 4 measured were in time.
    figures = rules.figures_of(Tally(handled=10, within_target=3, measured=4))
    assert figures.requests_handled == 10
    assert figures.ola_attainment == 0.75
    # None measured at all: no figure rather than 0% or 100%.
    assert rules.figures_of(Tally(handled=6)).ola_attainment is None


def test_figures_without_data_are_none_not_zero() -> None:
    figures = rules.figures_of(Tally())
    assert figures.ola_attainment is None
    assert figures.promises_kept is None
    assert figures.mean_accept_hours is None
    assert figures.requests_handled == 0


def test_bucket_tallies_add_up_to_the_period_tally() -> None:
    total = Tally(handled=1, accept_seconds=10) + Tally(handled=2, praise=1)
    assert total == Tally(handled=3, accept_seconds=10, praise=1)


def test_change_is_against_the_previous_period_of_equal_length() -> None:
    start, end = h(0), h(24 * 7)
    assert rules.previous_period(start, end) == (h(-24 * 7), start)
    assert rules.change(0.8, 0.5) == pytest.approx(0.3)
    assert rules.change(0.8, None) is None


def test_week_buckets_start_on_mondays_and_month_buckets_on_the_first() -> None:
    weeks = rules.bucket_starts(
        datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 17, tzinfo=UTC), "week"
    )
    assert weeks == [datetime(2026, 3, d, tzinfo=UTC) for d in (2, 9, 16)]
    months = rules.bucket_starts(
        datetime(2026, 11, 20, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC), "month"
    )
    assert [m.month for m in months] == [11, 12, 1]


# ---- privacy ---------------------------------------------------------------------------------


def test_small_groups_are_shown_only_inside_the_group() -> None:
    assert not rules.may_see_group(4, viewer_inside=False, minimum=5)
    assert rules.may_see_group(4, viewer_inside=True, minimum=5)
    assert rules.may_see_group(5, viewer_inside=False, minimum=5)


def test_a_person_scorecard_is_for_them_and_their_lead_only() -> None:
    assert rules.may_see_person(1, 1, leads_of_person={9})
    assert rules.may_see_person(9, 1, leads_of_person={9})
    assert not rules.may_see_person(2, 1, leads_of_person={9})


# ---- silo map --------------------------------------------------------------------------------

# Teams a1, a2 in department A; b1 in B; c1 in C.
GROUP = {"a1": "A", "a2": "A", "b1": "B", "c1": "C"}
EDGES = [
    ("a1", "a2", 6.0),
    ("a1", "b1", 2.0),
    ("b1", "a2", 4.0),
    ("c1", "c1", 1.0),
    ("b1", "c1", 1.0),
]


def test_ei_index_counts_outgoing_and_incoming_ties_separately() -> None:
    ei = rules.ei_indices(EDGES, GROUP)
    # A: internal 6; sends 2 out, receives 4.
    assert ei["A"].outgoing == pytest.approx((2 - 6) / 8)
    assert ei["A"].incoming == pytest.approx((4 - 6) / 10)
    # B has no internal ties: all outside.
    assert ei["B"].outgoing == 1.0
    assert ei["B"].incoming == 1.0
    # C's self-loop is internal; it receives one tie.
    assert ei["C"].outgoing == -1.0
    assert ei["C"].incoming == 0.0


def test_ei_index_of_a_group_without_ties_is_undefined() -> None:
    ei = rules.ei_indices([], {"x": "X"})
    assert ei["X"].outgoing is None


def test_modularity_equals_networkx_on_the_same_directed_graph() -> None:
    graph = nx.DiGraph()
    graph.add_weighted_edges_from(EDGES)
    communities = [{"a1", "a2"}, {"b1"}, {"c1"}]
    expected = nx.community.modularity(graph, communities, weight="weight")
    assert rules.directed_modularity(EDGES, communities) == pytest.approx(expected)


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 9)), min_size=1, max_size=25
    ),
    st.lists(st.integers(0, 2), min_size=6, max_size=6),
)
def test_modularity_equals_networkx_on_any_graph(
    raw: list[tuple[int, int, int]], labels: list[int]
) -> None:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(6))
    for a, b, w in raw:
        previous = graph.get_edge_data(a, b, {"weight": 0})["weight"]
        graph.add_edge(a, b, weight=previous + w)
    edges = [(a, b, float(d["weight"])) for a, b, d in graph.edges(data=True)]
    communities = [{n for n in range(6) if labels[n] == c} for c in set(labels)]
    expected = nx.community.modularity(graph, communities, weight="weight")
    assert rules.directed_modularity(edges, communities) == pytest.approx(expected)


def test_ping_pong_finds_every_return_to_the_previous_team() -> None:
    assert rules.ping_pongs(["A", "B", "A", "C", "A", "C"]) == [("A", "B"), ("A", "C"), ("C", "A")]
    assert rules.ping_pongs(["A", "B", "C"]) == []


def test_quantile_matches_linear_interpolation() -> None:
    assert rules.quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.9) == pytest.approx(4.6)
    assert rules.quantile([], 0.9) is None


# ---- relationship health ---------------------------------------------------------------------

HALF_LIFE = timedelta(days=30)


def test_trust_without_evidence_is_even_with_the_widest_interval() -> None:
    trust = rules.trust_of([], T0, HALF_LIFE)
    assert trust.score == 0.5
    assert trust.low == pytest.approx(0.05)
    assert trust.high == pytest.approx(0.95)


def test_trust_counts_fresh_positive_and_negative_evidence_fully() -> None:
    interactions = [Interaction(T0, True)] * 8 + [Interaction(T0, False)] * 2
    trust = rules.trust_of(interactions, T0, HALF_LIFE)
    assert (trust.positive, trust.negative) == (8, 2)
    assert trust.score == pytest.approx(9 / 12)
    assert trust.low == pytest.approx(beta.ppf(0.05, 9, 3))
    assert trust.high == pytest.approx(beta.ppf(0.95, 9, 3))


def test_evidence_one_half_life_old_counts_half() -> None:
    old = [Interaction(T0, False)] * 4
    trust = rules.trust_of(old, T0 + HALF_LIFE, HALF_LIFE)
    assert trust.negative == pytest.approx(2)
    assert trust.score == pytest.approx(1 / 4)


def test_interactions_after_now_do_not_count() -> None:
    trust = rules.trust_of([Interaction(h(1), False)], T0, HALF_LIFE)
    assert trust.negative == 0


def test_a_pair_that_turned_sour_is_deteriorating_and_a_steady_one_is_not() -> None:
    good = [Interaction(T0 + timedelta(days=d), True) for d in range(0, 60, 2)]
    bad = [Interaction(T0 + timedelta(days=d), False) for d in range(60, 90)]
    points = [T0 + timedelta(days=d) for d in (30, 60, 90)]
    assert rules.is_deteriorating(rules.trust_series(good + bad, points, HALF_LIFE))
    steady = [Interaction(T0 + timedelta(days=d), d % 5 != 0) for d in range(90)]
    assert not rules.is_deteriorating(rules.trust_series(steady, points, HALF_LIFE))


# ---- ripple to customers ---------------------------------------------------------------------


def test_custody_follows_the_request_between_teams_until_resolved() -> None:
    events = [
        CustodyEvent(h(0), "opened", "admin"),
        CustodyEvent(h(1), "accepted", "admin"),  # same team: no move
        CustodyEvent(h(3), "accepted", "it"),
        CustodyEvent(h(5), "resolved", "it"),
        CustodyEvent(h(7), "reopened", "it"),
    ]
    assert rules.custody_of(1, events, until=h(10)) == [
        Custody(1, "admin", h(0), h(3)),
        Custody(1, "it", h(3), h(5)),
        Custody(1, "it", h(7), h(10)),
    ]


@pytest.mark.parametrize("ended", ["request_withdrawn", "merged_into"])
def test_a_withdrawn_or_merged_request_is_held_by_nobody_afterwards(ended: str) -> None:
    events = [
        CustodyEvent(h(0), "opened", "admin"),
        CustodyEvent(h(2), "accepted", "it"),
        CustodyEvent(h(4), ended, "it"),
    ]
    # Not "still open" until h(10): the customer no longer waits on it.
    assert rules.custody_of(1, events, until=h(10)) == [
        Custody(1, "admin", h(0), h(2)),
        Custody(1, "it", h(2), h(4)),
    ]


def test_wait_with_one_request_splits_between_front_line_and_the_team() -> None:
    result = rules.decompose_wait(h(0), h(10), [Custody(1, "admin", h(2), h(6))])
    assert result.total_hours == 10
    assert result.hours_by_team == {rules.FRONT_LINE: 6, "admin": 4}


def test_overlapping_requests_of_two_teams_share_the_overlap_equally() -> None:
    custody = [Custody(1, "admin", h(0), h(4)), Custody(2, "it", h(2), h(8))]
    result = rules.decompose_wait(h(0), h(10), custody)
    assert result.hours_by_team == {"admin": 3, "it": 5, rules.FRONT_LINE: 2}


def test_two_requests_in_one_team_count_that_team_once() -> None:
    custody = [Custody(1, "admin", h(0), h(4)), Custody(2, "admin", h(1), h(3))]
    result = rules.decompose_wait(h(0), h(4), custody)
    assert result.hours_by_team == {"admin": 4}


def test_custody_outside_the_wait_is_clipped() -> None:
    result = rules.decompose_wait(h(2), h(4), [Custody(1, "admin", h(0), h(3))])
    assert result.hours_by_team == {"admin": 1, rules.FRONT_LINE: 1}


@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.integers(-5, 30), st.integers(1, 20)), max_size=8
    ),
    st.integers(1, 40),
)
def test_the_parts_of_a_wait_always_add_up_to_the_whole(
    raw: list[tuple[str, int, int]], length: int
) -> None:
    custody = [Custody(i, team, h(s), h(s + d)) for i, (team, s, d) in enumerate(raw)]
    result = rules.decompose_wait(h(0), h(length), custody)
    assert sum(result.hours_by_team.values()) == pytest.approx(result.total_hours)
    assert all(v >= 0 for v in result.hours_by_team.values())


# ---- recognition -----------------------------------------------------------------------------


def test_recognitions_are_suggested_for_cross_team_work_kept_promises_and_praise() -> None:
    records = [
        rules.PersonRecord(
            1,
            resolved_spanning_teams=3,
            promises_kept=0,
            promises_broken=0,
            praise_from_other_departments=0,
        ),
        rules.PersonRecord(
            2,
            resolved_spanning_teams=0,
            promises_kept=5,
            promises_broken=0,
            praise_from_other_departments=2,
        ),
        rules.PersonRecord(
            3,
            resolved_spanning_teams=2,
            promises_kept=5,
            promises_broken=1,
            praise_from_other_departments=1,
        ),
    ]
    found = {(s.person_id, s.reason) for s in rules.suggest_recognitions(records)}
    assert found == {(1, "cross_team"), (2, "promises"), (2, "praise")}


@given(st.lists(st.tuples(st.integers(0, 24 * 90), st.booleans(), st.integers(1, 5)), max_size=30))
def test_trust_series_equals_trust_at_each_point(raw: list[tuple[int, bool, int]]) -> None:
    interactions = [Interaction(h(hours), positive, weight) for hours, positive, weight in raw]
    points = [h(24 * d) for d in (0, 30, 60, 90)]
    series = rules.trust_series(interactions, points, HALF_LIFE)
    for point, trust in zip(points, series, strict=True):
        expected = rules.trust_of(interactions, point, HALF_LIFE)
        assert trust.score == pytest.approx(expected.score)
        assert trust.low == pytest.approx(expected.low)
        assert trust.high == pytest.approx(expected.high)


def test_week_buckets_start_at_the_viewers_monday_midnight_through_daylight_saving() -> None:
    """New York moves its clocks on Sunday 8 March 2026: its Mondays begin at 05:00 UTC before
    and 04:00 UTC after; Kolkata's always at 18:30 UTC the Sunday before."""
    new_york, kolkata = ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")
    start, end = datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 17, tzinfo=UTC)
    for zone in (new_york, kolkata):
        clock = clock_of(zone.key, None)
        weeks = rules.bucket_starts(start, end, "week", clock)
        first_monday = datetime(2026, 3, 2, tzinfo=zone)
        expected = [
            (first_monday + timedelta(days=7 * i)).astimezone(UTC)
            for i in range(4)
            if (first_monday + timedelta(days=7 * i)).astimezone(UTC) < end
        ]
        assert weeks == expected
        assert [rules.bucket_label(w, clock) for w in weeks] == [
            f"2026-03-{d:02d}" for d in (2, 9, 16)
        ]
    assert rules.bucket_starts(start, end, "week", clock_of("America/New_York", None))[:2] == [
        datetime(2026, 3, 2, 5, tzinfo=UTC),
        datetime(2026, 3, 9, 4, tzinfo=UTC),
    ]
    months = rules.bucket_starts(
        datetime(2026, 11, 20, tzinfo=UTC),
        datetime(2027, 1, 5, tzinfo=UTC),
        "month",
        clock_of("Asia/Kolkata", None),
    )
    assert months == [
        datetime(2026, 10, 31, 18, 30, tzinfo=UTC),
        datetime(2026, 11, 30, 18, 30, tzinfo=UTC),
        datetime(2026, 12, 31, 18, 30, tzinfo=UTC),
    ]
