"""The training programme's rules, pure: when a member has completed, what a competency record
says, which subjects a module reached and when (the effect report's waves)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

MODULE_KINDS = ("course", "role play", "simulation")
BLOCKS = ("understand", "own", "serve", "communicate")
SOURCES = ("role play", "observer", "desk")
LOWEST_SCORE = 1.0
HIGHEST_SCORE = 5.0

# The catalog every desk starts from (the demo seeds it; a lead adds more).
STANDARD_CATALOG: tuple[tuple[str, str, str], ...] = (
    (
        "Why internal service is customer service",
        "course",
        "How a promise kept between two teams reaches the customer, and a broken one too.",
    ),
    ("Communication", "course", "Asking for the true need, restating it, checking back."),
    ("Feedback", "course", "Praise and constructive feedback that builds trust."),
    (
        "Emotional intelligence",
        "course",
        "Managing frustration on a bad day; empathy for the other team's load.",
    ),
    ("Service excellence", "course", "Owning the outcome, naming the next step and its time."),
    ("Role plays", "role play", "Practice conversations scored on the four building blocks."),
    ("Business simulation", "simulation", "The desk's week played as a game, in teams."),
)


def missing_sessions(held: Iterable[int], attended: Iterable[int]) -> list[int]:
    """The held sessions (ids) a member was not present at: completion waits for none."""
    present = set(attended)
    return sorted(s for s in held if s not in present)


def may_complete(held: Sequence[int], attended: Iterable[int]) -> bool:
    """A member completes a module when the cohort has met at least once and they were at
    every session held so far."""
    return bool(held) and not missing_sessions(held, attended)


@dataclass(frozen=True)
class Evidence:
    block: str
    score: float
    source: str
    rated_at: datetime


@dataclass(frozen=True)
class BlockRecord:
    """What the evidence on one block says: its mean, how much there is, the newest one."""

    block: str
    mean: float | None
    count: int
    by_source: Mapping[str, int]
    latest: datetime | None


def competency_record(evidence: Iterable[Evidence]) -> list[BlockRecord]:
    """One line per building block, in the blocks' order, from all the evidence (none: no mean)."""
    grouped: dict[str, list[Evidence]] = {b: [] for b in BLOCKS}
    for item in evidence:
        grouped.setdefault(item.block, []).append(item)
    record = []
    for block in BLOCKS:
        items = grouped[block]
        sources: dict[str, int] = {}
        for item in items:
            sources[item.source] = sources.get(item.source, 0) + 1
        record.append(
            BlockRecord(
                block,
                sum(i.score for i in items) / len(items) if items else None,
                len(items),
                sources,
                max((i.rated_at for i in items), default=None),
            )
        )
    return record


def points_as_score(points: float, most: float) -> float:
    """A role play's points on a block (0..most) on the record's 1..5 scale."""
    if most <= 0:
        raise ValueError("most must be positive")
    share = min(max(points / most, 0.0), 1.0)
    return LOWEST_SCORE + share * (HIGHEST_SCORE - LOWEST_SCORE)


def first_completions(completions: Iterable[tuple[int, datetime]]) -> dict[int, datetime]:
    """Each subject's first completion (a module taken twice counts from the first time)."""
    first: dict[int, datetime] = {}
    for subject, at in completions:
        if subject not in first or at < first[subject]:
            first[subject] = at
    return first


def team_reached(
    members: Mapping[int, Sequence[int]], completed: Mapping[int, datetime]
) -> dict[int, datetime | None]:
    """When a module reached each team: the day at least half of its members had completed it
    (None: not yet). A team of nobody is left out."""
    reached: dict[int, datetime | None] = {}
    for team, people in members.items():
        if not people:
            continue
        needed = (len(people) + 1) // 2
        dates = sorted(completed[p] for p in people if p in completed)
        reached[team] = dates[needed - 1] if len(dates) >= needed else None
    return reached


def subjects_reached(
    everyone: Iterable[int], completed: Mapping[int, datetime]
) -> dict[int, datetime | None]:
    """Every subject with the date it completed, or None for those who had not (yet): the
    comparison the effect report draws."""
    return {s: completed.get(s) for s in everyone}


def roleplay_block_scores(turns: Iterable[Mapping[str, int]]) -> dict[str, float]:
    """An attempt's score per block (1 to 5) from its scored replies' block points: the share of
    replies that showed a behaviour of the block (more points than none), on the 1..5 scale.
    A reply that deflects ("not my department") scores below zero on Own and so does not count."""
    scored = list(turns)
    if not scored:
        return {}
    return {
        block: points_as_score(sum(1 for t in scored if t.get(block, 0) > 0), len(scored))
        for block in BLOCKS
    }
