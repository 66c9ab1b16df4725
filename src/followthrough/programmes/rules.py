"""Buddy pairing steered by the silo map: pure rules, no database, no clock.

Who is paired with whom is a maximum-weight matching (networkx) on a graph of candidate pairs:
people from different departments whose working weeks overlap and who have not met within the
cooldown. An edge weighs more the worse the two departments' relationship (low trust, many
bounces: the friction Insight measures), so the matching puts people together where the silo
hurts most. A person left out last round weighs far more, so they are paired first.

The graph is kept small in two ways, so 10,000 people pair in well under five seconds:
  - blocks: people are dealt, department by department, into blocks of about `BLOCK_SIZE`,
    so every block has the company's mix of departments; each block is matched on its own,
    and whoever a block leaves over is matched again with the other blocks' leftovers;
  - candidates: within a block each person keeps only their `CANDIDATES` best partners (by
    weight), so a block's graph has at most `CANDIDATES` edges per person.
The exact matching networkx finds on each block's graph is the best for that graph; blocks and
candidate lists trade a little weight for speed (bench/buddies.py measures both).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import networkx as nx

from followthrough.org.rules import WorkingCalendar, business_seconds_between

# How long a working week slot is, and how much shared working time two people need to meet.
SLOT = timedelta(minutes=30)
SLOTS_PER_WEEK = int(timedelta(days=7) / SLOT)
MIN_OVERLAP_SLOTS = 4  # two hours a week
# Rounds after meeting in which the same two people are not paired again.
DEFAULT_COOLDOWN_ROUNDS = 6
# networkx's blossom matching is pure Python and grows faster than linearly with the graph:
# 10,000 people took about 1.6 CPU s in blocks of 32, 3 s in blocks of 64 and 10 s in blocks of
# 128 (bench/buddies.py, on a busy machine). 48 keeps each block's choice wide enough (each
# person sees ~47 others, most from other departments) and the round under five seconds.
BLOCK_SIZE = 48
CANDIDATES = 8
# Edge weights: every cross-department pair is worth 1, up to 1 + FRICTION_WEIGHT for the
# department pair with the most friction; a same-department pair (only when a person has no one
# else) is worth little; a person left out last round adds PRIORITY to each of their edges,
# more than any other choice can gain, so the matching takes them whenever it can.
FRICTION_WEIGHT = 2.0
SAME_DEPARTMENT_WEIGHT = 0.05
PRIORITY = 100.0
# Leftovers are matched again with up to this many pairs per leftover opened up, a few times.
REPAIR_PAIRS_PER_LEFTOVER = 2
REPAIR_PASSES = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    """One person taking part in a round."""

    person: int
    department: int
    week: int  # bitmask of the week's working slots, in UTC (`working_week`)
    prefers_trio: bool = False
    left_out_last_round: bool = False


@dataclass(frozen=True, slots=True)
class Pairing:
    """A round's groups (pairs, and trios where people said a trio suits them) and who is left
    out (at most one person when everyone has someone to meet)."""

    groups: tuple[tuple[int, ...], ...]
    left_out: tuple[int, ...]


def working_week(calendar: WorkingCalendar, week_start: datetime) -> int:
    """The half-hours of the week from `week_start` in which `calendar` is at work, as a bitmask.

    Business time comes from the calendar itself (its time zone, days, hours and holidays), so
    two people in different zones overlap only where both are at work at the same instant.
    """
    mask = 0
    for slot in range(SLOTS_PER_WEEK):
        start = week_start + slot * SLOT
        if business_seconds_between(calendar, start, start + SLOT) >= SLOT.total_seconds():
            mask |= 1 << slot
    return mask


def overlap_slots(first: int, second: int) -> int:
    """How many working half-hours two weeks share."""
    return (first & second).bit_count()


def unordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True, slots=True)
class PairEvidence:
    """What Insight measured between two departments (either direction)."""

    trust_scores: tuple[float, ...]  # relationship health trust, 0-1, per team pair
    bounces: int


def department_friction(
    evidence: Mapping[tuple[int, int], PairEvidence],
) -> dict[tuple[int, int], float]:
    """Friction between 0 and 1 per unordered department pair: the mean of distrust (1 - mean
    trust; a pair with no evidence counts as the Beta prior's 0.5) and the pair's bounces as a
    share of the most any pair had."""
    most_bounces = max((e.bounces for e in evidence.values()), default=0)
    friction = {}
    for pair, e in evidence.items():
        distrust = 1.0 - (sum(e.trust_scores) / len(e.trust_scores) if e.trust_scores else 0.5)
        bounce_share = e.bounces / most_bounces if most_bounces else 0.0
        friction[unordered(*pair)] = (distrust + bounce_share) / 2
    return friction


def pair_weight(a: Candidate, b: Candidate, friction: Mapping[tuple[int, int], float]) -> float:
    """How much the round gains by pairing a and b (see the weights above)."""
    if a.department == b.department:
        weight = SAME_DEPARTMENT_WEIGHT
    else:
        weight = 1.0 + FRICTION_WEIGHT * friction.get(unordered(a.department, b.department), 0.25)
    if a.left_out_last_round or b.left_out_last_round:
        weight += PRIORITY
    return weight


def can_meet(a: Candidate, b: Candidate, recent: frozenset[tuple[int, int]]) -> bool:
    """Two people may be paired: not the same person, enough shared working time, and not
    paired with each other within the cooldown."""
    return (
        a.person != b.person
        and overlap_slots(a.week, b.week) >= MIN_OVERLAP_SLOTS
        and unordered(a.person, b.person) not in recent
    )


def candidate_graph(
    people: Sequence[Candidate],
    friction: Mapping[tuple[int, int], float],
    recent: frozenset[tuple[int, int]],
    candidates: int = CANDIDATES,
    rng: random.Random | None = None,
) -> nx.Graph:
    """The matching graph of one block: each person's `candidates` best partners from other
    departments (same-department partners only for someone with no one else); equally good
    partners are drawn at random, so nobody collects everyone's edges."""
    rng = rng or random.Random(0)
    graph = nx.Graph()
    graph.add_nodes_from(p.person for p in people)
    by_department: dict[int, list[Candidate]] = defaultdict(list)
    for p in people:
        by_department[p.department].append(p)
    for p in people:
        options = [
            (pair_weight(p, q, friction), q.person)
            for department, members in by_department.items()
            if department != p.department
            for q in members
            if can_meet(p, q, recent)
        ]
        if not options:
            options = [
                (pair_weight(p, q, friction), q.person)
                for q in by_department[p.department]
                if can_meet(p, q, recent)
            ]
        rng.shuffle(options)
        options.sort(key=lambda option: -option[0])  # stable: equal weights stay shuffled
        for weight, other in options[:candidates]:
            graph.add_edge(p.person, other, weight=weight)
    return graph


def matched_pairs(graph: nx.Graph) -> list[tuple[int, int]]:
    """A maximum-cardinality, then maximum-weight, matching of the graph (networkx)."""
    return sorted(unordered(a, b) for a, b in nx.max_weight_matching(graph, maxcardinality=True))


def blocks(
    people: Sequence[Candidate], block_size: int, rng: random.Random
) -> list[list[Candidate]]:
    """People shuffled and dealt round the blocks department by department, so each block has
    about the company's mix of departments (and of people left out last round)."""
    count = max(1, math.ceil(len(people) / block_size))
    shuffled = list(people)
    rng.shuffle(shuffled)
    # Left-out people first, then by department: dealing in this order spreads both evenly.
    shuffled.sort(key=lambda p: (not p.left_out_last_round, p.department))
    dealt: list[list[Candidate]] = [[] for _ in range(count)]
    for index, person in enumerate(shuffled):
        dealt[index % count].append(person)
    for block in dealt:
        rng.shuffle(block)
    return dealt


def pair_people(
    people: Iterable[Candidate],
    friction: Mapping[tuple[int, int], float],
    recent: frozenset[tuple[int, int]],
    seed: int,
    *,
    block_size: int = BLOCK_SIZE,
    candidates: int = CANDIDATES,
) -> Pairing:
    """The round's groups: pairs by maximum-weight matching, block by block, then the blocks'
    leftovers together; a person still left over joins a pair of two people who would welcome a
    trio if all three welcome one, or is left out (and told, and weighs first next round)."""
    rng = random.Random(seed)
    everyone = list(people)
    by_person = {p.person: p for p in everyone}
    pairs: list[tuple[int, int]] = []
    leftovers: list[Candidate] = []
    for block in blocks(everyone, block_size, rng):
        found = matched_pairs(candidate_graph(block, friction, recent, candidates, rng))
        pairs.extend(found)
        paired = {person for pair in found for person in pair}
        leftovers.extend(p for p in block if p.person not in paired)
    for _ in range(REPAIR_PASSES):
        if len(leftovers) < 2:
            break
        before = len(leftovers)
        pairs, leftovers = _repair(pairs, leftovers, by_person, friction, recent, rng)
        if len(leftovers) >= before:
            break
    groups: list[tuple[int, ...]] = sorted(pairs)
    left_out: list[int] = []
    for person in leftovers:
        joined = _join_a_trio(person, groups, by_person, recent)
        if joined is None:
            left_out.append(person.person)
        else:
            index, trio = joined
            groups[index] = trio
    return Pairing(tuple(groups), tuple(sorted(left_out)))


def _repair(
    pairs: list[tuple[int, int]],
    leftovers: list[Candidate],
    by_person: Mapping[int, Candidate],
    friction: Mapping[tuple[int, int], float],
    recent: frozenset[tuple[int, int]],
    rng: random.Random,
) -> tuple[list[tuple[int, int]], list[Candidate]]:
    # The blocks' leftovers, with some pairs around them opened up again, matched together:
    # a leftover may take someone's partner if that partner can meet someone else (an
    # augmenting path the blocks could not see).
    order = list(range(len(pairs)))
    rng.shuffle(order)
    limit = REPAIR_PAIRS_PER_LEFTOVER * len(leftovers)
    opened: list[int] = []
    for index in order:
        if len(opened) >= limit:
            break
        members = [by_person[m] for m in pairs[index]]
        if any(can_meet(left, m, recent) for left in leftovers for m in members):
            opened.append(index)
    pool = [*leftovers, *(by_person[m] for i in opened for m in pairs[i])]
    graph = candidate_graph(pool, friction, recent, min(len(pool), 3 * CANDIDATES), rng)
    found = matched_pairs(graph)
    closed = set(opened)
    kept = [pair for i, pair in enumerate(pairs) if i not in closed]
    paired = {person for pair in found for person in pair}
    return kept + found, [p for p in pool if p.person not in paired]


def _join_a_trio(
    person: Candidate,
    groups: list[tuple[int, ...]],
    by_person: Mapping[int, Candidate],
    recent: frozenset[tuple[int, int]],
) -> tuple[int, tuple[int, ...]] | None:
    # The pair both of whose members welcome a trio and can meet the person, preferring one
    # from other departments than the person's.
    best: tuple[int, int] | None = None
    for index, group in enumerate(groups):
        if len(group) != 2:
            continue
        members = [by_person[m] for m in group]
        if not person.prefers_trio or not all(
            m.prefers_trio and can_meet(person, m, recent) for m in members
        ):
            continue
        others = sum(m.department != person.department for m in members)
        if best is None or others > best[0]:
            best = (others, index)
    if best is None:
        return None
    index = best[1]
    return index, tuple(sorted((*groups[index], person.person)))


def pairs_of(groups: Iterable[Sequence[int]]) -> frozenset[tuple[int, int]]:
    """Every two people who were in a group together (a trio holds three pairs)."""
    return frozenset(
        unordered(a, b) for group in groups for i, a in enumerate(group) for b in group[i + 1 :]
    )


def meet_rate(answers: Iterable[bool | None]) -> float | None:
    """The share of answered groups that met; None when nobody has answered yet."""
    answered = [a for a in answers if a is not None]
    return sum(answered) / len(answered) if answered else None


def group_met(answers: Iterable[bool | None]) -> bool | None:
    """A group's answer to "did you meet?": yes when anyone says yes, no when someone says no
    and nobody yes, None while nobody has answered."""
    said = [a for a in answers if a is not None]
    if not said:
        return None
    return any(said)
