"""The programme effect report: it recovers an effect built into a staggered roll-out, says
"no effect shown" where there is none, and "too little data" where it cannot tell."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind
from followthrough.insight.effect import (
    OUTCOME_NAMES,
    Cell,
    estimate,
    programme_effect,
)
from followthrough.org import service as org
from tests.factories import World

WAVES = (8, 12, 16, None)  # the week each quarter of the subjects first took part


def _panel(
    seed: int, effect: float, *, subjects: int = 40, weeks: int = 26, noise: float = 0.05
) -> tuple[list[Cell], dict[int, int | None]]:
    """Promises-kept shares: each subject's own level, a trend and a bad week all share, the
    effect from the subject's first week on, and noise."""
    rng = random.Random(seed)
    first = {s: WAVES[s % len(WAVES)] for s in range(subjects)}
    shock = {w: rng.gauss(0, 0.03) for w in range(1, weeks + 1)}
    cells = []
    for s in range(subjects):
        level = rng.gauss(0.7, 0.05)
        for w in range(1, weeks + 1):
            treated = first[s] is not None and w >= (first[s] or 0)
            value = level + 0.002 * w + shock[w] + (effect if treated else 0) + rng.gauss(0, noise)
            cells.append(Cell(s, w, value))
    return cells, first


def test_a_built_in_effect_is_recovered_within_its_interval() -> None:
    outcome = OUTCOME_NAMES["promises_kept"]
    covered = better = 0
    for seed in range(10):
        cells, first = _panel(seed, 0.10)
        report = estimate(outcome, cells, first)
        assert report.overall is not None
        covered += report.overall.low <= 0.10 <= report.overall.high
        better += report.verdict == "better"
        assert report.subjects_in == 30
        assert report.subjects_not_yet == 10
    # A 95% interval: about 9.5 in 10 cover the truth; the effect is twice the noise.
    assert covered >= 8
    assert better == 10


def test_no_effect_is_reported_as_none_shown() -> None:
    outcome = OUTCOME_NAMES["promises_kept"]
    verdicts = [estimate(outcome, *_panel(seed, 0.0)).verdict for seed in range(10)]
    assert verdicts.count("no effect shown") >= 8
    report = estimate(outcome, *_panel(0, 0.0))
    if report.verdict == "no effect shown":
        assert report.summary.startswith("No effect shown on promises kept")


def test_the_horizons_are_read_at_30_60_and_90_days() -> None:
    cells, first = _panel(3, 0.10)
    report = estimate(OUTCOME_NAMES["promises_kept"], cells, first)
    assert [h.days for h in report.horizons] == [30, 60, 90]
    thirty = report.horizons[0].effect
    assert thirty is not None
    assert thirty.low < 0.10 < thirty.high


def test_lower_is_better_for_time_to_accept() -> None:
    cells, first = _panel(5, -0.10)
    faster = [Cell(c.subject, c.week, 10 + 20 * c.value) for c in cells]  # hours, 2 h faster
    report = estimate(OUTCOME_NAMES["accept_hours"], faster, first)
    assert report.verdict == "better"
    assert report.overall is not None
    assert report.overall.low <= -2.0 <= report.overall.high
    assert report.summary.startswith("Time to accept an offer: -")


def test_too_few_subjects_or_weeks_say_too_little_data() -> None:
    outcome = OUTCOME_NAMES["promises_kept"]
    cells, first = _panel(1, 0.10, subjects=8)  # 2 per wave: 6 taking part, 2 never
    few = {s: w for s, w in first.items() if s < 6 or w is None}
    few = {s: (w if s < 2 or w is None else None) for s, w in few.items()}  # 2 taking part
    report = estimate(outcome, [c for c in cells if c.subject in few], few)
    assert report.verdict == "too little data"
    assert report.overall is None
    assert "2 taking part" in report.summary

    late = {s: (1 if w is not None else None) for s, w in first.items()}  # no week before
    assert estimate(outcome, cells, late).verdict == "too little data"


def test_identical_input_gives_identical_report() -> None:
    cells, first = _panel(7, 0.05)
    outcome = OUTCOME_NAMES["updates_on_time"]
    assert estimate(outcome, cells, first) == estimate(outcome, list(cells), dict(first))


START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def test_the_desk_history_recovers_a_programme_effect(db: Database, world: World) -> None:
    """Twelve people keep promises week by week; two waves of them take a programme that lifts
    the chance of keeping one from 60% to 85%."""
    rng = random.Random(11)
    weeks = 20
    started: dict[int, datetime | None] = {}
    with db.unit_of_work() as session:
        people = [
            org.add_person(session, f"keeper{n}", f"Keeper {n}", f"keeper{n}@example.com").id
            for n in range(12)
        ]
        for n, person in enumerate(people):
            wave = (8, 12, None)[n % 3]
            started[person] = None if wave is None else START + timedelta(weeks=wave - 1)
            for week in range(weeks):
                at = START + timedelta(weeks=week, days=2)
                took_part = started[person] is not None and at >= (started[person] or at)
                chance = 0.85 if took_part else 0.60
                for promise in range(20):
                    kept = rng.random() < chance
                    kind = EventKind.PROMISE_KEPT if kept else EventKind.PROMISE_BROKEN
                    session.add(
                        Event(
                            kind=kind,
                            at=at + timedelta(minutes=promise),
                            person_id=person,
                            actor_id=person,
                            payload={},
                        )
                    )
    with db.unit_of_work(readonly=True) as session:
        report = programme_effect(
            session,
            "person",
            started,
            START,
            START + timedelta(weeks=weeks),
            outcomes=[OUTCOME_NAMES["promises_kept"]],
        )
    (kept,) = report
    assert kept.verdict == "better"
    assert kept.subjects_in == 8
    assert kept.subjects_not_yet == 4
    assert kept.overall is not None
    assert kept.overall.low <= 0.25 <= kept.overall.high
