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
