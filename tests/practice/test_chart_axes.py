"""The game's charts tell the truth: bars are compared from zero, and a share's axis never runs
past 100% or below 0%."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from followthrough.practice.charts import Chart, Series, axis_ticks, svg


def _one_round(*values: float) -> Chart:
    return Chart(
        title="Requests resolved within target",
        x_labels=("Round 1",),
        series=tuple(Series(f"Team {i + 1}", (v,)) for i, v in enumerate(values)),
        unit="%",
    )


def test_bars_start_at_zero_so_a_small_share_is_still_a_bar() -> None:
    chart = _one_round(0.2, 0.9)
    ticks = axis_ticks(chart)
    assert ticks[0] == 0.0
    assert ticks[-1] == 1.0
    heights = [
        float(h)
        for h in re.findall(
            r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"', svg(chart)
        )
    ]
    # The plot is 230 - 12 - 48 = 170 units tall for 0%..100%: 20% is 34 units, 90% is 153.
    assert heights[:2] == [34.0, 153.0]


def test_everyone_at_100_percent_is_not_drawn_against_110_percent() -> None:
    assert max(axis_ticks(_one_round(1.0, 1.0))) == 1.0
    line = Chart("Kept", ("Round 1", "Round 2"), (Series("Team 1", (1.0, 1.0)),), unit="%")
    assert max(axis_ticks(line)) == 1.0
    assert "110%" not in svg(line)


@given(
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=12),
    st.integers(min_value=1, max_value=4),
)
def test_a_share_axis_fits_the_data_within_0_and_100_percent(
    values: list[float], rounds: int
) -> None:
    labels = tuple(f"Round {i + 1}" for i in range(rounds))
    series = tuple(
        Series(f"Team {i}", tuple(values[(i + r) % len(values)] for r in range(rounds)))
        for i in range(2)
    )
    chart = Chart("Share", labels, series, unit="%")
    ticks = axis_ticks(chart)
    shown = [v for s in series for v in s.values if v is not None]
    assert 0.0 <= ticks[0] <= min(shown) + 1e-9
    assert max(shown) - 1e-9 <= ticks[-1] <= 1.0 + 1e-9
    if rounds == 1:
        assert ticks[0] == 0.0


def test_money_and_counts_start_at_zero_and_times_may_zoom() -> None:
    money = Chart("Cost", ("R1", "R2"), (Series("A", (9_000.0, 12_000.0)),), unit="money")
    assert axis_ticks(money)[0] == 0.0
    hours = Chart("Hours", ("R1", "R2"), (Series("A", (40.0, 44.0)),), unit="h")
    assert axis_ticks(hours)[0] > 0.0
