"""Role-play scoring benchmark: time per free-text turn, on one core, over the labelled replies.

Each reply of the shipped labelled set (and each again at five times its length, for the long
answers some participants give) is scored alone, as the page scores a turn: cut into sentences,
embedded, every behaviour's phrases and similarity checked. The model is loaded once before
timing, as a running server does. Times are wall-clock per call with the process pinned to one
core where the system allows it, and the thread's CPU time per call (what a turn costs, whatever
else the machine is running); the target is p95 at most 50 ms.
"""

from __future__ import annotations

import os
import statistics
import time

from rich.console import Console
from rich.table import Table

from followthrough.practice.roleplay.calibration import shipped_labelled
from followthrough.practice.roleplay.scoring import score_reply, shipped_model

TARGET_MS = 50.0
ROUNDS = 3


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(rounds: int = ROUNDS) -> dict[str, dict[str, float]]:
    """Milliseconds per turn (p50, p95, max) for the replies as written and five times longer."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    started = time.perf_counter()
    model = shipped_model()
    load_ms = (time.perf_counter() - started) * 1000
    replies = [reply.text for reply in shipped_labelled()]
    sets = {"as written": replies, "5x longer": [" ".join([text] * 5) for text in replies]}
    results: dict[str, dict[str, float]] = {}
    for name, texts in sets.items():
        times = []
        cpu_times = []
        for _ in range(rounds):
            for text in texts:
                start, cpu_start = time.perf_counter(), time.thread_time()
                score_reply(text, model)
                times.append((time.perf_counter() - start) * 1000)
                cpu_times.append((time.thread_time() - cpu_start) * 1000)
        results[name] = {
            "turns": float(len(times)),
            "chars": statistics.mean(len(t) for t in texts),
            "p50": statistics.median(times),
            "p95": _percentile(times, 0.95),
            "max": max(times),
            "cpu p95": _percentile(cpu_times, 0.95),
        }
    results["model load"] = {
        "turns": 1.0,
        "chars": 0.0,
        "p50": load_ms,
        "p95": load_ms,
        "max": load_ms,
        "cpu p95": load_ms,
    }
    return results


def run(console: Console, rounds: int = ROUNDS) -> dict[str, dict[str, float]]:
    results = measure(rounds)
    table = Table(title=f"Role-play scoring per turn, one core (target p95 <= {TARGET_MS:.0f} ms)")
    for column in (
        "replies",
        "turns timed",
        "mean chars",
        "p50 ms",
        "p95 ms",
        "max ms",
        "CPU p95 ms",
    ):
        table.add_column(column, justify="right" if column != "replies" else "left")
    for name, row in results.items():
        table.add_row(
            name,
            f"{row['turns']:.0f}",
            f"{row['chars']:.0f}",
            f"{row['p50']:.2f}",
            f"{row['p95']:.2f}",
            f"{row['max']:.2f}",
            f"{row['cpu p95']:.2f}",
        )
    console.print(table)
    worst = max(results["as written"]["p95"], results["5x longer"]["p95"])
    console.print(
        f"p95 per turn {worst:.2f} ms: {'meets' if worst <= TARGET_MS else 'misses'} the target"
    )
    return results


if __name__ == "__main__":
    run(Console())
