"""Buddy pairing rules: cooldowns, nobody silently left out, across departments, toward the
department pairs with the most friction, and the matching checked by brute force and against
networkx on the same graph."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followthrough.org.rules import WorkingCalendar
from followthrough.programmes.rules import (
    MIN_OVERLAP_SLOTS,
    SLOTS_PER_WEEK,
    Candidate,
    PairEvidence,
    candidate_graph,
    department_friction,
    matched_pairs,
    meet_rate,
    overlap_slots,
    pair_people,
    pairs_of,
    working_week,
)

EVERY_SLOT = (1 << SLOTS_PER_WEEK) - 1
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, no time change that week


def company(sizes: list[int], rng: random.Random, trio_share: float = 0.0) -> list[Candidate]:
    people = []
    for department, size in enumerate(sizes):
        for _ in range(size):
            people.append(
                Candidate(
                    person=len(people),
                    department=department,
                    week=EVERY_SLOT,
                    prefers_trio=rng.random() < trio_share,
                )
            )
    return people


def play_rounds(
    people: list[Candidate], rounds: int, cooldown: int, seed: int, block_size: int = 128
) -> list[tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]]:
    history: list[tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]] = []
    left_out: tuple[int, ...] = ()
    for number in range(rounds):
        recent = frozenset().union(*(pairs_of(groups) for groups, _ in history[-cooldown:]))
        marked = [
            Candidate(p.person, p.department, p.week, p.prefers_trio, p.person in left_out)
            for p in people
        ]
        pairing = pair_people(marked, {}, recent, seed + number, block_size=block_size)
        history.append((pairing.groups, pairing.left_out))
        left_out = pairing.left_out
    return history


@pytest.mark.parametrize("block_size", [16, 128])
def test_nobody_is_paired_again_within_the_cooldown(block_size: int) -> None:
    people = company([9, 7, 6, 5, 4], random.Random(1))
    cooldown = 4
    history = play_rounds(people, 10, cooldown, seed=3, block_size=block_size)
    for number, (groups, _) in enumerate(history):
        this_round = pairs_of(groups)
        for earlier, _ in history[max(0, number - cooldown) : number]:
            assert not this_round & pairs_of(earlier)


@pytest.mark.parametrize("size", [31, 57, 101, 333])
def test_at_most_one_person_is_left_out_and_they_are_paired_first_next_round(size: int) -> None:
    rng = random.Random(size)
    sizes = [size // 5 + (1 if i < size % 5 else 0) for i in range(5)]
    people = company(sizes, rng)
    history = play_rounds(people, 6, 3, seed=size, block_size=32)
    for number, (groups, left_out) in enumerate(history):
        in_groups = [p for g in groups for p in g]
        assert len(in_groups) == len(set(in_groups))
        assert sorted(in_groups + list(left_out)) == list(range(size))
        assert len(left_out) <= 1
        if number:
            assert not set(history[number - 1][1]) & set(left_out)
            assert all(any(p in g for g in groups) for p in history[number - 1][1])


def test_an_odd_person_joins_a_pair_that_welcomes_a_trio() -> None:
    people = [
        Candidate(0, 0, EVERY_SLOT, prefers_trio=True),
        Candidate(1, 1, EVERY_SLOT, prefers_trio=True),
        Candidate(2, 2, EVERY_SLOT, prefers_trio=True),
    ]
    pairing = pair_people(people, {}, frozenset(), seed=1)
    assert pairing.groups == ((0, 1, 2),)
    assert pairing.left_out == ()


def test_an_odd_person_is_left_out_when_not_all_three_want_a_trio() -> None:
    people = [Candidate(i, i, EVERY_SLOT, prefers_trio=i > 0) for i in range(3)]
    pairing = pair_people(people, {}, frozenset(), seed=1)
    assert len(pairing.groups) == 1
    assert len(pairing.left_out) == 1


def test_at_least_nine_in_ten_pairs_are_across_departments() -> None:
    rng = random.Random(5)
    # Uneven departments, the largest a third of the company (like the demo insurer's).
    people = company([120, 80, 60, 40, 30, 20, 10], rng)
    for groups, _ in play_rounds(people, 4, 3, seed=11):
        people_of = {p.person: p.department for p in people}
        pairs = pairs_of(groups)
        across = sum(people_of[a] != people_of[b] for a, b in pairs)
        assert across / len(pairs) >= 0.9


def test_people_who_never_work_at_the_same_time_are_not_paired() -> None:
    early = (1 << (SLOTS_PER_WEEK // 2)) - 1
    late = EVERY_SLOT ^ early
    people = [Candidate(0, 0, early), Candidate(1, 1, late), Candidate(2, 2, early)]
    pairing = pair_people(people, {}, frozenset(), seed=2)
    assert pairing.groups == ((0, 2),)
    assert pairing.left_out == (1,)


def test_working_weeks_overlap_only_where_both_zones_are_at_work() -> None:
    london = WorkingCalendar(timezone="Europe/London")
    sydney = WorkingCalendar(timezone="Australia/Sydney")
    new_york = WorkingCalendar(timezone="America/New_York")
    # London 9-17 is 09:00-17:00 UTC in March before the change; New York (already on summer
    # time from 8 March, but not this week) 14:00-22:00 UTC: three hours a day, five days.
    assert overlap_slots(working_week(london, MONDAY), working_week(new_york, MONDAY)) == 5 * 6
    # Sydney 9-17 (UTC+11) is 22:00-06:00 UTC: no overlap with London's day at all.
    assert overlap_slots(working_week(london, MONDAY), working_week(sydney, MONDAY)) == 0
    # A holiday takes the day out.
    off = WorkingCalendar(timezone="Europe/London", holidays=frozenset({date(2026, 3, 3)}))
    assert working_week(off, MONDAY).bit_count() == 4 * 16
    assert MIN_OVERLAP_SLOTS <= 5 * 6


def brute_force_best(graph: nx.Graph) -> tuple[int, float]:
    """The largest number of pairs, then the most weight, over every matching (tiny graphs)."""
    edges = list(graph.edges(data="weight"))
    best = (0, 0.0)
    for count in range(len(graph) // 2, 0, -1):
        for chosen in itertools.combinations(edges, count):
            people = [p for a, b, _ in chosen for p in (a, b)]
            if len(people) == len(set(people)):
                best = max(best, (count, sum(w for _, _, w in chosen)))
        if best[0]:
            return best
    return best


@settings(max_examples=40)
@given(
    st.lists(st.integers(min_value=0, max_value=3), min_size=2, max_size=8),
    st.dictionaries(
        st.tuples(st.integers(0, 3), st.integers(0, 3)).map(lambda p: (min(p), max(p))),
        st.floats(min_value=0.0, max_value=1.0),
        max_size=6,
    ),
)
def test_the_matching_is_the_best_possible_on_its_graph(
    departments: list[int], friction: dict[tuple[int, int], float]
) -> None:
    people = [Candidate(i, d, EVERY_SLOT) for i, d in enumerate(departments)]
    graph = candidate_graph(people, friction, frozenset(), candidates=len(people))
    pairs = matched_pairs(graph)
    weight = sum(graph.edges[a, b]["weight"] for a, b in pairs)
    count, best = brute_force_best(graph)
    assert len(pairs) == count
    assert weight == pytest.approx(best)


def test_pairing_favours_the_department_pairs_with_the_most_friction() -> None:
    # Four departments of 30; claims (0) and finance (1) distrust each other and bounce work
    # back and forth, every other pair gets on well.
    evidence = {
        (a, b): PairEvidence(trust_scores=(0.9,), bounces=0)
        for a, b in itertools.combinations(range(4), 2)
    }
    evidence[(0, 1)] = PairEvidence(trust_scores=(0.2, 0.3), bounces=40)
    friction = department_friction(evidence)
    assert max(friction, key=lambda pair: friction[pair]) == (0, 1)
    people = company([30, 30, 30, 30], random.Random(2))
    pairing = pair_people(people, friction, frozenset(), seed=4)
    department_of = {p.person: p.department for p in people}
    worst = sum(
        1 for a, b in pairs_of(pairing.groups) if {department_of[a], department_of[b]} == {0, 1}
    )
    # Every claims person can be paired with someone from finance: the matching does so.
    assert worst == 30
    # The same weight as networkx's own maximum-weight matching on the full graph of this block.
    graph = candidate_graph(people, friction, frozenset(), candidates=len(people))
    ours = sum(graph.edges[a, b]["weight"] for a, b in pairs_of(pairing.groups))
    theirs = sum(
        graph.edges[a, b]["weight"] for a, b in nx.max_weight_matching(graph, maxcardinality=True)
    )
    assert ours == pytest.approx(theirs)


def test_friction_reads_distrust_and_bounces() -> None:
    friction = department_friction(
        {
            (1, 2): PairEvidence(trust_scores=(0.25, 0.75), bounces=10),
            (3, 1): PairEvidence(trust_scores=(), bounces=5),
            (2, 3): PairEvidence(trust_scores=(1.0,), bounces=0),
        }
    )
    assert friction == {(1, 2): pytest.approx(0.75), (1, 3): pytest.approx(0.5), (2, 3): 0.0}


def test_meet_rate_counts_answered_groups_only() -> None:
    assert meet_rate([True, False, None, True]) == pytest.approx(2 / 3)
    assert meet_rate([None]) is None
