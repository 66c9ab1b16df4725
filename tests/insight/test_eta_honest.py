"""The timescale stays honest on a history like a real desk's: drift, several teams, short and
long work, and a split where most of the newest requests are still open.

The history is generated here, from stated distributions, without any of the code under test:
every request's true time to resolve is known to the test, so coverage is checked against the
truth as well as against the evaluation's own count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from followthrough.insight.eta import Evaluation, walk_forward
from followthrough.org.rules import WorkingCalendar
from followthrough.timescale.calibration import EtaCase, EtaQuery

# Incident desks work round the clock, so business hours are plain hours here.
ALWAYS = WorkingCalendar(
    day_start_minute=0, day_end_minute=24 * 60, working_days=frozenset(range(1, 8))
)
START = datetime(2025, 3, 3, tzinfo=UTC)
DAYS = 60
COUNT = 4000


@dataclass(frozen=True)
class Kind:
    """A kind of request: its team, service, typical words, median hours at the log's start,
    spread (lognormal sigma) and how much slower it is by the log's end (drift: a quarter to a
    third slower after two months, more than the history curve's fixed bound can absorb)."""

    team: str
    service: str
    words: str
    median: float
    sigma: float
    slower_by_end: float


KINDS = (
    Kind("Service Desk", "Reset a password", "password locked out account", 1.5, 0.6, 1.35),
    Kind("Service Desk", "Grant access", "access rights shared folder", 6.0, 0.8, 1.35),
    Kind("Network", "Fix the VPN", "vpn connection drops home", 10.0, 0.8, 1.35),
    Kind("Network", "New network port", "network port cabling desk", 40.0, 0.7, 1.35),
    Kind("Applications", "Fix a report", "report totals wrong month", 30.0, 0.9, 1.25),
    Kind("Applications", "Change a workflow", "workflow approval step change", 100.0, 0.8, 1.25),
    # Facilities does not drift: where the history curve can cover, the model must not be wider.
    Kind("Facilities", "Move a desk", "move desk chair floor", 20.0, 0.7, 1.0),
    Kind("Facilities", "Repair a door", "door lock repair broken", 60.0, 0.9, 1.0),
)
PRIORITIES = (("high", 0.4, 0.2), ("normal", 1.0, 0.6), ("low", 1.8, 0.2))
# A migration wave: this many network and application requests in the day and a half before
# BURST_END, nearly all still open there (the evaluation's split falls at its end).
BURST = 600
BURST_END = START + timedelta(days=25)
BURST_KINDS = tuple(k for k in KINDS if k.team in ("Network", "Applications"))


@dataclass(frozen=True)
class Truth:
    case: EtaCase
    true_hours: float


def _history(rng: random.Random) -> tuple[list[Truth], datetime]:
    """COUNT requests: COUNT - BURST opened at random over DAYS, BURST in the wave. Each one's
    true time, and the case as known at the log's end (if it could not finish by then: still
    open, with its hours so far)."""
    end = START + timedelta(days=DAYS)
    span = (end - START).total_seconds()
    openings = [
        (START + timedelta(seconds=rng.uniform(0, span)), KINDS) for _ in range(COUNT - BURST)
    ]
    openings += [
        (BURST_END - timedelta(hours=rng.uniform(0, 36)), BURST_KINDS) for _ in range(BURST)
    ]
    history = []
    for opened, kinds in sorted(openings, key=lambda o: o[0]):
        kind = rng.choice(kinds)
        name, factor, _ = rng.choices(PRIORITIES, weights=[w for _, _, w in PRIORITIES])[0]
        progress = (opened - START).total_seconds() / span
        drift = 1.0 + (kind.slower_by_end - 1.0) * progress
        true_hours = kind.median * factor * drift * rng.lognormvariate(0.0, kind.sigma)
        query = EtaQuery(
            opened_at=opened,
            service=kind.service,
            team=kind.team,
            priority=name,
            text=f"{kind.words} {name}",
            load=0,
        )
        resolved_at = opened + timedelta(hours=true_hours)
        if resolved_at <= end:
            case = EtaCase(query, true_hours, True, resolved_at, ALWAYS)
        else:
            so_far = (end - opened).total_seconds() / 3600
            case = EtaCase(query, so_far, False, None, ALWAYS)
        history.append(Truth(case, true_hours))
    return history, end


@pytest.fixture(scope="module")
def walked() -> tuple[list[Truth], datetime, Evaluation]:
    history, end = _history(random.Random(11))
    return history, end, walk_forward([t.case for t in history], end)


def test_the_split_is_heavily_censored(walked: tuple[list[Truth], datetime, Evaluation]) -> None:
    history, _, result = walked
    # The newest quarter of the training half (the old calibration set), as known at the split.
    training = [t for t in history if t.case.query.opened_at < result.trained_until]
    newest = training[len(training) * 3 // 4 :]
    still_open = [t for t in newest if t.case.query.opened_at + timedelta(hours=t.true_hours)
                  > result.trained_until]  # fmt: skip
    assert len(still_open) > len(newest) / 2
    assert sum(t.true_hours < 10 for t in history) > 500
    assert sum(t.true_hours > 80 for t in history) > 500


def test_eight_in_ten_overall_and_for_every_team(
    walked: tuple[list[Truth], datetime, Evaluation],
) -> None:
    _, _, result = walked
    assert result.overall.counted > 1000
    assert 0.78 <= result.overall.coverage <= 0.82
    big = [t for t in result.teams if t.counted >= 100]
    assert len(big) == 4
    for team in big:
        assert 0.70 <= team.coverage <= 0.90, team
    # Nearly every counted request's outcome is known; the rest counted as missed.
    assert result.overall.still_open <= result.overall.counted * 0.02


def test_the_counted_coverage_matches_the_truth(
    walked: tuple[list[Truth], datetime, Evaluation],
) -> None:
    history, _, result = walked
    truth = {id(t.case): t.true_hours for t in history}
    counted = [s for s in result.stated if s.counted and s.bound_hours is not None]
    assert len(counted) == result.overall.counted
    within = sum(truth[id(s.case)] <= s.bound_hours for s in counted if s.bound_hours is not None)
    assert 0.78 <= within / len(counted) <= 0.82


def test_every_request_after_the_split_is_stated_once_and_counted_by_opening_time_only(
    walked: tuple[list[Truth], datetime, Evaluation],
) -> None:
    history, end, result = walked
    after = [t for t in history if t.case.query.opened_at >= result.trained_until]
    assert [s.case for s in result.stated] == [t.case for t in after]
    # Counted requests are exactly those opened at least the window before the end.
    cutoff = end - timedelta(hours=result.window_hours)
    assert all(s.counted == (s.case.query.opened_at <= cutoff) for s in result.stated)


def test_never_wider_than_the_history_curve_where_both_cover(
    walked: tuple[list[Truth], datetime, Evaluation],
) -> None:
    _, _, result = walked
    # The same requests count for both methods (none lost to "0 evaluated").
    both = result.baseline_overall
    assert both.counted + both.no_bound == result.overall.counted + result.overall.no_bound
    assert both.counted > 1000
    baseline = {t.team: t for t in result.baseline_teams}
    compared = 0
    for team in (*result.teams, result.overall):
        other = baseline.get(team.team, result.baseline_overall)
        if team.coverage >= 0.78 and other.coverage >= 0.78:
            compared += 1
            assert team.mean_width <= other.mean_width, (team, other)
    assert compared >= 1
