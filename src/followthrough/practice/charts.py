"""Charts of the game, drawn on the server: SVG for pages and reports, PNG for download.

A `Chart` is plain data (rounds along the bottom, one series per team). `svg` writes it as a
self-contained, accessible SVG (a title and a description listing every value, so a screen
reader or a printed report loses nothing); `png` draws the same chart with matplotlib's Agg
backend, imported only when a PNG is asked for.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from followthrough.errors import NotFound

# Okabe-Ito colours (distinguishable with colour blindness), plus a dash pattern per series
# so lines differ without colour too.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000", "#999999")
Scale = Callable[[float], float]
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4", "3 1")


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart: a team, and its value in each round (None before it played)."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart across rounds. `unit`: "%" for shares (0.5 is 50%), "money", "h", "d" or ""."""

    title: str
    x_labels: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str = ""
    currency: str = "EUR"
    note: str = ""

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


def format_value(value: float | None, unit: str, currency: str = "EUR") -> str:
    """A value as people read it: 83%, 4.2 h, 1.3 d, EUR 1.2M, 57."""
    if value is None or math.isnan(value):
        return "\u2013"
    if unit == "%":
        return f"{value * 100:.0f}%"
    if unit == "money":
        size = abs(value)
        if size >= 1e6:
            return f"{currency} {value / 1e6:.2f}M"
        if size >= 1e3:
            return f"{currency} {value / 1e3:.0f}k"
        return f"{currency} {value:.0f}"
    if unit in ("h", "d"):
        return f"{value:.1f} {unit}"
    return f"{value:.1f}" if abs(value) < 10 and value != int(value) else f"{value:.0f}"


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    # A span too small to draw (equal values, or a difference lost in rounding such as 5e-324)
    # is drawn as a flat line on a readable axis.
    if high - low <= 1e-9 * max(abs(low), abs(high), 1.0):
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


def is_bar_chart(chart: Chart) -> bool:
    """One round: the teams' values are drawn as bars side by side."""
    return len(chart.x_labels) == 1


def axis_ticks(chart: Chart) -> list[float]:
    """The value axis: bars, which are compared by their length, always start at zero; lines of
    money and counts too, while lines of shares and times zoom in on the differences. A share
    never runs below 0% or past 100%."""
    values = [v for s in chart.series for v in s.values if v is not None and not math.isnan(v)]
    if not values:
        return [0.0, 1.0]
    low, high = min(values), max(values)
    if low > 0 and (is_bar_chart(chart) or chart.unit in ("money", "")):
        low = 0.0
    if low == high:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    if chart.unit == "%":
        low, high = max(low, 0.0), min(high, 1.0)
        if low >= high:
            low = 0.0
    ticks = nice_ticks(low, high)
    if chart.unit == "%":
        # A round step can overshoot the data's range: 110% is never a share.
        ticks = [t for t in ticks if -1e-9 <= t <= 1 + 1e-9]
    return ticks


def description(chart: Chart) -> str:
    """Every value in words, for screen readers and for the text of a printed report."""
    parts = []
    for series in chart.series:
        values = ", ".join(
            f"{label} {format_value(v, chart.unit, chart.currency)}"
            for label, v in zip(chart.x_labels, series.values, strict=True)
        )
        parts.append(f"{series.name}: {values}")
    return "; ".join(parts) + "."


def svg(chart: Chart, width: int = 460, height: int = 230) -> str:
    """The chart as an SVG element: lines across rounds, or bars when there is one round."""
    ticks = axis_ticks(chart)
    low, high = ticks[0], ticks[-1]
    left, right, top, bottom = 64, 12, 12, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(1, len(chart.x_labels))

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    def x(index: float) -> float:
        if count == 1:
            return left + plot_w / 2
        return left + plot_w * (0.06 + 0.88 * index / (count - 1))

    ident = f"chart-{chart.slug}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{ident}-t {ident}-d" class="game-chart">',
        f'<title id="{ident}-t">{escape(chart.title)}</title>',
        f'<desc id="{ident}-d">{escape(description(chart))}</desc>',
        '<g font-family="system-ui, sans-serif" font-size="11" fill="#545d6e">',
    ]
    for tick in ticks:
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#d9dee7"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{escape(format_value(tick, chart.unit, chart.currency))}</text>"
        )
    for index, label in enumerate(chart.x_labels):
        out.append(
            f'<text x="{x(index):.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    if count == 1:
        out.extend(_bars(chart, y, left, plot_w, low))
    else:
        out.extend(_lines(chart, x, y))
    out.extend(_legend(chart, left, height - 12))
    out.append("</g></svg>")
    return "".join(out)


def _lines(chart: Chart, x: Scale, y: Scale) -> list[str]:
    out = []
    for number, series in enumerate(chart.series):
        colour, dash = COLOURS[number % len(COLOURS)], DASHES[number % len(DASHES)]
        points = [(x(i), y(v)) for i, v in enumerate(series.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"'
                f"{dashed}/>"
            )
        for px, py in points:
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"/>')
    return out


def _bars(chart: Chart, y: Scale, left: float, plot_w: float, low: float) -> list[str]:
    out = []
    slots = max(1, len(chart.series))
    width = min(48.0, plot_w * 0.8 / slots)
    start = left + (plot_w - width * slots) / 2
    zero = y(max(low, 0.0))
    for number, series in enumerate(chart.series):
        value = series.values[0]
        if value is None:
            continue
        colour = COLOURS[number % len(COLOURS)]
        top = min(y(value), zero)
        out.append(
            f'<rect x="{start + number * width + 2:.1f}" y="{top:.1f}" width="{width - 4:.1f}" '
            f'height="{abs(zero - y(value)):.1f}" fill="{colour}"/>'
        )
    return out


def _legend(chart: Chart, left: float, baseline: float) -> list[str]:
    out = []
    position = left
    for number, series in enumerate(chart.series):
        colour = COLOURS[number % len(COLOURS)]
        out.append(
            f'<rect x="{position:.1f}" y="{baseline - 9}" width="12" height="10" fill="{colour}"/>'
            f'<text x="{position + 16:.1f}" y="{baseline}" fill="#1a1f2b">'
            f"{escape(series.name)}</text>"
        )
        position += 28 + 7 * len(series.name)
    return out


def png(chart: Chart, width_inches: float = 6.4, height_inches: float = 3.2) -> bytes:
    """The same chart as a PNG, drawn with matplotlib (Agg: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_inches, height_inches), dpi=120)
    axes = figure.subplots()
    positions = list(range(len(chart.x_labels)))
    scale = 100.0 if chart.unit == "%" else 1.0
    for number, series in enumerate(chart.series):
        colour = COLOURS[number % len(COLOURS)]
        points = [
            (i, v * scale) for i, v in zip(positions, series.values, strict=True) if v is not None
        ]
        if len(chart.x_labels) == 1:
            axes.bar([number], [v for _, v in points], color=colour, label=series.name, width=0.6)
        else:
            axes.plot(
                [p for p, _ in points],
                [v for _, v in points],
                marker="o",
                color=colour,
                linestyle=("-", "--", ":", "-.")[number % 4],
                label=series.name,
            )
    if len(chart.x_labels) == 1:
        axes.set_xticks(range(len(chart.series)), [s.name for s in chart.series])
    else:
        axes.set_xticks(positions, list(chart.x_labels))
    axes.set_title(chart.title)
    axes.set_ylabel(
        {"%": "%", "money": chart.currency, "h": "hours", "d": "days"}.get(chart.unit, "")
    )
    ticks = axis_ticks(chart)
    axes.set_ylim(ticks[0] * scale, ticks[-1] * scale)
    axes.grid(axis="y", color="#d9dee7")
    axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def chart_named(charts: Sequence[Chart], slug: str) -> Chart:
    """The chart with this slug, for a download link."""
    for chart in charts:
        if chart.slug == slug:
            return chart
    raise NotFound("no chart has this name", field="chart")
