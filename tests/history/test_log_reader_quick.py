"""The CSV reader's quick path for plain rows spills exactly what the general path spills:
the same rows, cases, counts, people and groups in the same order, and the same problems."""

from __future__ import annotations

import csv
from dataclasses import fields
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from followthrough.history.log_mapping import load_mapping
from followthrough.history.log_reader import Spill, read_csv

# Cells a real log holds (most often: most rows of a log are plain), and the ones that go wrong: blanks, padding, placeholders,
# non-ASCII names, times with and without an offset, times that do not read or are out of
# range, a NUL, a text over the length limit.
CELLS = {
    "case_id": st.sampled_from(["IM1", "IM2", " IM3 ", "Ärende 4"] * 3 + ["", "  ", "IM1\x00"]),
    "activity": st.sampled_from(
        ["Queued", "Accepted", "Completed", " Queued ", "Closed"] * 2 + [""]
    ),
    "timestamp": st.sampled_from(
        [
            "2025-01-08T02:04:00+00:00",
            "2025-01-08T02:04:00",
            " 2025-01-09T10:00:00+02:00 ",
            "2025-01-08T02:04:00+00:00",
            "2025-01-08T02:04:00+00:00",
            "2025-01-08T02:04:00+00:00",
            "yesterday",
            "0001-01-01T00:00:00",
            "",
        ]
    ),
    "resource": st.sampled_from(["Person 1", "-", "", " Åse  Öberg ", "Unknown", "Person 2"]),
    "group": st.sampled_from(["D1 Group 1", "D2 Group 2", "", "-", "d1 group 1"]),
    "lifecycle:transition": st.sampled_from(["Awaiting Assignment", "Resolved", "", "Wait - User"]),
    "status": st.sampled_from(["Open", "Closed", "", " Open"]),
    "impact": st.sampled_from(["Low", "High", "", " Medium ", "x" * 10_001]),
}


def _spilled(path: Path, quick: bool) -> dict[str, Any]:
    mapping = load_mapping(None, department_pattern=r"^(D\d+)")
    problems: list[Any] = []
    spill = Spill(path.name, mapping, problems)
    try:
        read_csv(path, spill, quick=quick)
        spill.finish_reading()
        facts = {f.name: getattr(spill.facts, f.name) for f in fields(spill.facts)}
        # Dictionaries compare without their order; the order is what names people and teams.
        ordered = {k: list(v.items()) for k, v in facts.items() if isinstance(v, dict)}
        tables = {
            table: spill._db.execute(f"SELECT * FROM {table}").fetchall()
            for table in ("log_case", "case_attribute", "log_event")  # in the order written
        }
        return {"facts": facts, "ordered": ordered, "tables": tables, "problems": problems}
    finally:
        spill.close()


@settings(max_examples=150, deadline=None)
@given(
    columns=st.permutations(list(CELLS)).flatmap(
        lambda order: st.integers(3, len(order)).map(lambda n: order[:n])
    ),
    data=st.data(),
)
def test_the_quick_path_spills_what_the_general_path_spills(
    tmp_path_factory: Any, columns: list[str], data: st.DataObject
) -> None:
    required = ("case_id", "activity", "timestamp")
    header = [*required, *(c for c in columns if c not in required)]
    rows = data.draw(
        st.lists(
            st.one_of(
                st.tuples(*(CELLS[c] for c in header)).map(list),
                st.tuples(*(CELLS[c] for c in header[:2])).map(list),  # a short row
                st.just([*("" for _ in header), "one too many"]),
            ),
            min_size=1,
            max_size=40,
        )
    )
    path = tmp_path_factory.mktemp("log") / "log.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)

    quick = _spilled(path, quick=True)
    general = _spilled(path, quick=False)

    assert quick == general


def test_a_header_naming_a_column_twice_reads_as_before(tmp_path: Path) -> None:
    """Two columns that mean the same (`lifecycle` and `transition`): the last filled one
    counts, as the general path has always read it."""
    path = tmp_path / "twice.csv"
    path.write_text(
        "case_id,activity,timestamp,lifecycle,transition\n"
        "IM1,Queued,2025-01-08T02:04:00,Awaiting Assignment,\n"
        "IM1,Queued,2025-01-08T03:04:00,,Resolved\n"
        "IM1,Queued,2025-01-08T04:04:00,Awaiting Assignment,Resolved\n",
        encoding="utf-8",
    )
    quick = _spilled(path, quick=True)
    assert quick == _spilled(path, quick=False)
    lifecycles = [c.lifecycle for c in quick["facts"]["combinations"]]
    assert sorted(lifecycles) == ["Awaiting Assignment", "Resolved"]
