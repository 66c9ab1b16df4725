"""The Insight benchmark runs end to end on a small bulk history and its figures agree with
the pandas baseline."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench import insight
from rich.console import Console


@pytest.mark.slow
def test_insight_bench_times_every_report_and_agrees_with_pandas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSIGHT_BENCH_REQUESTS", "2000")
    monkeypatch.setenv("INSIGHT_BENCH_EVENTS", "20000")
    monkeypatch.setattr(insight, "OUT", tmp_path)
    with (tmp_path / "out.txt").open("w") as out:
        result = insight.run_backend("sqlite", Console(file=out))
    assert len(result.timings) == 7
    assert all(t.agrees is not False for t in result.timings)
    assert result.load_seconds is not None
