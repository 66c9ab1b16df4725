"""The buddy pairing benchmark runs end to end at a small size (its timings are never asserted)."""

from __future__ import annotations

import io
import re

from bench import buddies
from rich.console import Console


def figure(text: str, name: str) -> str:
    found = re.search(rf"{re.escape(name)}\s*│\s*([^│\s]+)", text)
    assert found, name
    return found.group(1)


def test_the_pairing_bench_reports_a_round_with_nobody_repeated() -> None:
    out = io.StringIO()
    buddies.run(Console(file=out, width=200), people=400)
    text = out.getvalue()
    assert figure(text, "Pairs repeated within the cooldown") == "0"
    assert int(figure(text, "Left out")) <= 1
    assert int(figure(text, "Groups")) >= 199
