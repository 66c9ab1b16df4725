import math

import pytest

from followthrough.practice.sim.stats import estimate, t_quantile


@pytest.mark.parametrize(
    ("p", "df", "table_value"),
    [
        (0.975, 1, 12.7062),
        (0.975, 9, 2.2622),
        (0.975, 29, 2.0452),
        (0.995, 4, 4.6041),
        (0.95, 120, 1.6577),
    ],
)
def test_t_quantile_matches_the_printed_t_table(p: float, df: int, table_value: float) -> None:
    assert t_quantile(p, df) == pytest.approx(table_value, abs=1e-4)


def test_t_quantile_is_symmetric_around_zero() -> None:
    assert t_quantile(0.025, 7) == pytest.approx(-t_quantile(0.975, 7))


def test_estimate_gives_mean_and_t_interval() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    result = estimate(values)
    sample_sd = math.sqrt(sum((v - 2.5) ** 2 for v in values) / 3)
    assert result.mean == 2.5
    assert result.half_width == pytest.approx(t_quantile(0.975, 3) * sample_sd / 2)
    assert result.covers(2.5)
    assert not result.covers(result.high + 1e-9)


def test_one_replication_has_no_finite_interval() -> None:
    assert estimate([5.0]).half_width == math.inf


def test_an_estimate_needs_values() -> None:
    with pytest.raises(ValueError, match="at least one"):
        estimate([])
