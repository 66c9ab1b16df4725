"""What the history import tells its user: the dry run's table and the summary afterwards."""

from __future__ import annotations

from rich.table import Table

from followthrough.history.importer import HistoryImportSummary, HistoryPreview
from followthrough.history.log_mapping import IGNORE


def preview_table(preview: HistoryPreview, file_name: str) -> Table:
    """One row per distinct (activity, lifecycle, status) of the log: how many rows, what they
    become, and which rule decided."""
    facts = preview.facts
    span = (
        f", {facts.first:%Y-%m-%d} to {facts.last:%Y-%m-%d}"
        if facts.first is not None and facts.last is not None
        else ""
    )
    table = Table(
        "activity",
        "lifecycle",
        "status",
        "rows",
        "becomes",
        "because of",
        title=f"{file_name}: {facts.events:,} rows in {facts.cases:,} cases{span}",
        caption=(
            f"{len(facts.people):,} people and {len(facts.groups):,} groups named; "
            f"{facts.placeholder_rows:,} rows without a real resource go to one 'unknown' person. "
            "Nothing was written."
        ),
    )
    for row in preview.rows:
        c, decision = row.combination, row.decision
        becomes = "left out" if decision.kind == IGNORE else decision.kind
        if decision.waiting_on is not None:
            becomes += f" (waiting on {decision.waiting_on})"
        table.add_row(
            c.activity,
            c.lifecycle or "",
            c.status or "",
            f"{row.count:,}",
            becomes,
            decision.reason,
        )
    return table


def summary_lines(summary: HistoryImportSummary, seconds: float | None = None) -> list[str]:
    """The import in a few lines: what was made, and what was left out and why."""
    speed = (
        f" in {seconds:.1f} s ({summary.log_rows / seconds:,.0f} rows/s)"
        if seconds and seconds >= 1
        else ""
    )
    lines = [
        f"imported {summary.requests:,} requests and {summary.events:,} events from "
        f"{summary.log_rows:,} log rows{speed}",
        f"created {summary.people_created:,} people, {summary.teams_created:,} teams and "
        f"{summary.departments_created:,} departments; handoffs: {summary.handoffs:,}, "
        f"pauses: {summary.pauses:,}",
    ]
    if summary.placeholder_rows:
        lines.append(
            f"{summary.placeholder_rows:,} rows named no real resource: recorded as 'unknown'"
        )
    if summary.cases_without_rows:
        lines.append(
            f"{summary.cases_without_rows:,} cases had no rows, or only rows the mapping leaves "
            "out: nothing to import"
        )
    if summary.cases_begun_finished:
        lines.append(
            f"{summary.cases_begun_finished:,} cases begin with their resolution or closing (they "
            "were opened before the log starts): left out, as how long they took is unknown"
        )
    for why, count in sorted(summary.left_out.items()):
        lines.append(f"  left out {count:,} '{why}' rows (they repeat the request's state)")
    for activity, count in sorted(summary.unmapped_activities.items()):
        lines.append(f"  unmapped activity {activity!r} ({count:,}) kept as update_posted")
    return lines
