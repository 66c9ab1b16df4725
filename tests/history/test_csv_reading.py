"""The CSV reader's shortcuts spill exactly what reading every row the general way spills (the
same rows, cases, counts, people and groups in the same order, and the same problems): the
quick path for plain rows, and a large file read in two parts at once, the second by another
process, then merged."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from bench.import_bench import write_log
from hypothesis import given, settings
from hypothesis import strategies as st

from followthrough.history import log_reader
from followthrough.history.log_mapping import load_mapping
from followthrough.history.log_reader import Spill, _line_ends, read_csv

# Cells a real log holds (most often: most rows of a log are plain), and the ones that go
# wrong: blanks, padding, placeholders, non-ASCII names, times with and without an offset,
# times that do not read or are out of range, a NUL, a text over the length limit, quotes and
# line breaks inside a cell.
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
    "impact": st.sampled_from(["Low", "High", "", " Medium ", "x" * 10_001, "two\nlines", 'a "b"']),
    "case:title": st.sampled_from(["", "Printer down", "Printer broken", "cr\rin a title"]),
}


def _spilled(path: Path, quick: bool = True, split: bool = False) -> dict[str, Any]:
    # The department of a group from a column of its rows: the first row that names one counts.
    mapping = load_mapping(None, department_attribute="impact")
    problems: list[Any] = []
    spill = Spill(path.name, mapping, problems)
    try:
        read_csv(path, spill, quick=quick, split=split)
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


@st.composite
def csv_logs(draw: st.DrawFn) -> tuple[list[str], list[list[str]], str]:
    """A header (the required columns and some others), rows of its cells (some short, some
    with a cell too many) and a line ending."""
    order = draw(st.permutations(list(CELLS)))
    columns = order[: draw(st.integers(3, len(order)))]
    required = ("case_id", "activity", "timestamp")
    header = [*required, *(c for c in columns if c not in required)]
    rows = draw(
        st.lists(
            st.one_of(
                st.tuples(*(CELLS[c] for c in header)).map(list),
                st.tuples(*(CELLS[c] for c in header[:2])).map(list),  # a short row
                st.just([*("" for _ in header), "one too many"]),
            ),
            min_size=1,
            max_size=80,
        )
    )
    return header, rows, draw(st.sampled_from(["\n", "\r\n"]))


def _written(folder: Path, log: tuple[list[str], list[list[str]], str]) -> Path:
    header, rows, ending = log
    path = folder / "log.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator=ending)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@settings(max_examples=150, deadline=None)
@given(csv_logs())
def test_the_quick_path_spills_what_the_general_path_spills(
    tmp_path_factory: Any, log: tuple[list[str], list[list[str]], str]
) -> None:
    path = _written(tmp_path_factory.mktemp("log"), log)
    assert _spilled(path, quick=True) == _spilled(path, quick=False)


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


@contextmanager
def _split_in_a_thread() -> Iterator[list[int]]:
    """Every file split, its second part read in a thread of this process (the same code the
    other process runs, without starting one per example); yields the offsets read that way."""
    offsets: list[int] = []
    read_half = log_reader._read_half

    def recorded(path: Path, header: list[str], offset: int, *rest: Any) -> Any:
        offsets.append(offset)
        return read_half(path, header, offset, *rest)

    def in_a_thread() -> Executor:
        return ThreadPoolExecutor(max_workers=1)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(log_reader, "SPLIT_FROM_BYTES", 0)
        patch.setattr(log_reader, "_half_reader", in_a_thread)
        patch.setattr(log_reader, "_read_half", recorded)
        yield offsets


@settings(max_examples=150, deadline=None)
@given(csv_logs())
def test_a_file_read_in_two_parts_spills_what_reading_it_whole_spills(
    tmp_path_factory: Any, log: tuple[list[str], list[list[str]], str]
) -> None:
    path = _written(tmp_path_factory.mktemp("log"), log)
    whole = _spilled(path)
    with _split_in_a_thread():
        parts = _spilled(path, split=True)
    assert parts == whole


def _log_with_a_misleading_quote(path: Path) -> None:
    """A quote inside an unquoted field early on ("a 5" screen": the csv module keeps it as a
    character), so every line break after it has an odd number of quotes before it; the first
    "even" one past the middle is inside a quoted field that runs over two lines."""
    lines = ["case_id,activity,timestamp,impact", 'IM1,Queued,2025-01-08T02:04:00,a 5" screen']
    lines += [f"IM{n % 7},Queued,2025-01-08T0{n % 10}:04:00,Low" for n in range(300)]
    lines.append('IM9,Queued,2025-01-09T02:04:00,"over\ntwo lines"')
    lines += [f"IM{n % 5},Accepted,2025-01-09T0{n % 10}:04:00,High" for n in range(40)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_cut_inside_a_record_is_noticed_and_the_file_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    _log_with_a_misleading_quote(path)
    whole = _spilled(path)
    with _split_in_a_thread() as offsets:
        parts = _spilled(path, split=True)
    assert offsets, "the file was not split: the test checks nothing"
    assert parts == whole
    values = [row[-1] for row in parts["tables"]["log_event"] if row[-1] and "over" in row[-1]]
    assert values == ['{"impact": "over\\ntwo lines"}']


def test_the_other_part_is_read_by_another_process(tmp_path: Path) -> None:
    """The real thing: a second interpreter reads the second part."""
    path = tmp_path / "incidents.csv"
    written = write_log(path, 3000)
    whole = _spilled(path)
    pools: list[Executor] = []
    real = log_reader._half_reader

    def recorded() -> Executor:
        pools.append(real())
        return pools[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(log_reader, "SPLIT_FROM_BYTES", 0)
        patch.setattr(log_reader, "_half_reader", recorded)
        parts = _spilled(path, split=True)
    assert [type(p).__name__ for p in pools] == ["ProcessPoolExecutor"]
    assert parts == whole
    assert whole["facts"]["events"] == written


@given(st.text("\r\na", max_size=40), st.data())
def test_line_ends_are_counted_as_the_csv_module_counts_lines(
    text: str, data: st.DataObject
) -> None:
    """A line ends at LF, CR LF or a lone CR, also when a CR LF falls across two chunks."""
    raw = text.encode()
    cut = data.draw(st.integers(0, len(raw)))
    first, second = raw[:cut], raw[cut:]
    counted = _line_ends(first, False) + _line_ends(second, first.endswith(b"\r"))
    lines = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline="").readlines()
    assert counted == sum(1 for line in lines if line.endswith(("\n", "\r")))


class _NoProcess(Executor):
    """An executor whose process could not start."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(BrokenProcessPool("no process could start"))
        return future


def test_when_no_other_process_can_start_the_second_part_is_read_here(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    write_log(path, 500)
    whole = _spilled(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(log_reader, "SPLIT_FROM_BYTES", 0)
        patch.setattr(log_reader, "_half_reader", _NoProcess)
        parts = _spilled(path, split=True)
    assert parts == whole


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_semicolon_or_tab_separated_file_read_in_two_parts_reads_as_a_whole(
    tmp_path: Path, delimiter: str
) -> None:
    path = tmp_path / "log.csv"
    rows = [["case_id", "activity", "timestamp", "impact"]]
    rows += [
        [f"IM{n % 7}", "Queued", f"2025-01-08T0{n % 10}:04:00", "Low, very" if n % 3 else "a\nb"]
        for n in range(400)
    ]
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out, delimiter=delimiter).writerows(rows)
    whole = _spilled(path)
    with _split_in_a_thread() as offsets:
        parts = _spilled(path, split=True)
    assert offsets, "the file was not split: the test checks nothing"
    assert parts == whole
    assert not whole["problems"]
    assert whole["facts"]["events"] == 400
