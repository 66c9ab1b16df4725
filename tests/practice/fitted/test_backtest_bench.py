"""`python -m bench --only backtest` runs end to end (here on a small demo): every team's row
with its errors and margins, and the count of each verdict."""

from __future__ import annotations

import io
from pathlib import Path

from bench import backtest
from rich.console import Console

from followthrough.practice.fitted.backtest import Verdict


def test_the_back_test_bench_shows_every_team_and_counts_the_verdicts(tmp_path: Path) -> None:
    out = io.StringIO()
    result = backtest.run(Console(file=out, width=200), requests=3000, folder=tmp_path)
    printed = out.getvalue()
    assert result.teams
    for team in result.teams:
        row = next(line for line in printed.splitlines() if team.team in line)
        assert f"{team.accept_error:+.1%} ±{team.accept_margin:.1%}" in row
        assert team.verdict.value in row
    within = sum(1 for t in result.teams if t.verdict == Verdict.WITHIN)
    assert f"{within} of {len(result.teams)} teams within 10% on both" in printed
    # Every team that joined the buddy programme before the fitted months' last two weeks is
    # fitted as it accepts since.
    assert any(t.accept_since is not None for t in result.fit.history.teams)
    assert list(tmp_path.iterdir()) == [], "the bench's database is removed"


def test_the_back_test_bench_keeps_its_demo_and_back_tests_the_kept_one(tmp_path: Path) -> None:
    first = io.StringIO()
    kept = backtest.run(Console(file=first, width=200), requests=3000, folder=tmp_path, keep=True)
    assert "built in" in first.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "backtest-3000.built",
        "backtest-3000.sqlite3",
    ]
    again = io.StringIO()
    result = backtest.run(Console(file=again, width=200), requests=3000, folder=tmp_path, keep=True)
    assert "built before" in again.getvalue()
    # The same database, fit and seeds: the same figures.
    assert result.teams == kept.teams
    # Without --keep the next run builds afresh and leaves nothing behind.
    backtest.run(Console(file=io.StringIO(), width=200), requests=3000, folder=tmp_path)
    assert list(tmp_path.iterdir()) == []
