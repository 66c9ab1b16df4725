"""Hostile import files on the command line: refused quickly with the file and line, exit 2, and
nothing written (on both databases)."""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from followthrough.cli import app
from followthrough.db import Base, Database
from followthrough.history import importer as history_importer
from followthrough.org import importer as org_importer
from followthrough.org.models import Person
from followthrough.requests.models import Request

ORG = """\
departments:
  - {name: Operations}
teams:
  - {name: Desk, department: Operations}
"""

BILLION_LAUGHS = """\
departments:
  - {name: Operations}
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""

LOG_HEADER = "case_id,activity,timestamp,resource,group\n"
GOOD_CASE = (
    "A,Create,2026-01-05T09:00:00Z,mia,Desk\n"
    "A,Assign,2026-01-05T09:10:00Z,sam,Desk\n"
    "A,Resolve,2026-01-05T10:00:00Z,sam,Desk\n"
)


def _run(db: Database, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--database-url", db.url])
    return result.exit_code, result.stderr


def _counts(db: Database) -> dict[str, int]:
    with db.unit_of_work(readonly=True) as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def test_a_yaml_alias_bomb_is_refused_quickly_with_its_line(db: Database, tmp_path: Path) -> None:
    bomb = tmp_path / "org.yaml"
    bomb.write_text(BILLION_LAUGHS)
    before = _counts(db)
    started = time.monotonic()
    code, err = _run(db, "import", "org", str(bomb))
    assert time.monotonic() - started < 10
    assert code == 2, err
    assert "org.yaml: line 4" in err  # the first *a
    assert "aliases" in err
    assert "Traceback" not in err
    assert _counts(db) == before


def test_a_single_alias_is_refused_too(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        ORG + "people:\n  - &sam {handle: sam, name: Sam, email: s@example.com}\n  - *sam\n"
    )
    before = _counts(db)
    code, err = _run(db, "import", "org", str(path))
    assert code == 2, err
    assert "org.yaml: line 7" in err
    assert _counts(db) == before


def test_a_nul_character_in_an_org_csv_is_refused_with_line_and_field(
    db: Database, tmp_path: Path
) -> None:
    (tmp_path / "departments.csv").write_text("name\nOperations\nFinance\x00\n")
    before = _counts(db)
    code, err = _run(db, "import", "org", str(tmp_path / "departments.csv"))
    assert code == 2, err
    assert "departments.csv: line 3: name:" in err
    assert "NUL" in err
    assert _counts(db) == before


def test_a_nul_character_in_org_yaml_is_refused_with_line_and_field(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(ORG.replace("{name: Desk,", '{name: "De\\0sk",'))
    before = _counts(db)
    code, err = _run(db, "import", "org", str(path))
    assert code == 2, err
    assert "org.yaml: line 4: teams[0].name:" in err
    assert _counts(db) == before


@pytest.mark.parametrize("hours", ["1e308", ".inf", ".nan", "8761", "0"])
def test_an_impossible_service_target_in_an_org_file_is_refused(
    db: Database, tmp_path: Path, hours: str
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        ORG + f"services:\n  - {{team: Desk, name: Forever, resolve_target_hours: {hours}}}\n"
    )
    before = _counts(db)
    code, err = _run(db, "import", "org", str(path))
    assert code == 2, err
    assert "org.yaml: line 6: services[0].resolve_target_hours:" in err
    assert _counts(db) == before


def test_an_org_file_beyond_the_size_limit_is_refused_before_it_is_read(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "org.yaml"
    with path.open("w") as handle:
        handle.write(ORG)
        handle.write(("# padding\n") * (org_importer.MAX_FILE_BYTES // 10 + 1))
    before = _counts(db)
    code, err = _run(db, "import", "org", str(path))
    assert code == 2, err
    assert "org.yaml: the file is larger than the 10 MB limit" in err
    assert _counts(db) == before


def test_a_nul_character_in_a_history_csv_is_refused_and_nothing_is_written(
    db: Database, tmp_path: Path
) -> None:
    log = tmp_path / "log.csv"
    # Case A is fine and would be written first; the NUL is in case B, on line 5.
    log.write_text(LOG_HEADER + GOOD_CASE + "B,Create,2026-01-06T09:00:00Z,m\x00ia,Desk\n")
    before = _counts(db)
    code, err = _run(db, "import", "history", str(log))
    assert code == 2, err
    assert "log.csv: line 5: resource:" in err
    assert "NUL" in err
    assert _counts(db) == before


def test_an_over_long_history_cell_is_refused_with_its_line(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    long_name = "x" * (history_importer.MAX_FIELD_CHARS + 1)
    log.write_text(LOG_HEADER + GOOD_CASE + f"B,{long_name},2026-01-06T09:00:00Z,mia,Desk\n")
    before = _counts(db)
    code, err = _run(db, "import", "history", str(log))
    assert code == 2, err
    assert "log.csv: line 5: activity: longer than 10000 characters" in err
    assert _counts(db) == before


@pytest.mark.parametrize("stamp", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00"])
def test_a_history_time_at_the_end_of_the_calendar_is_refused_not_overflowed(
    db: Database, tmp_path: Path, stamp: str
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(LOG_HEADER + GOOD_CASE + f"B,Create,{stamp},mia,Desk\n")
    before = _counts(db)
    code, err = _run(db, "import", "history", str(log))
    assert code == 2, err
    assert "log.csv: line 5: timestamp:" in err
    assert _counts(db) == before


def test_a_history_log_beyond_the_size_limit_is_refused(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real limit is a gigabyte; the same check with a small one.
    monkeypatch.setattr(history_importer, "MAX_FILE_BYTES", 100)
    log = tmp_path / "log.csv"
    log.write_text(LOG_HEADER + GOOD_CASE)
    before = _counts(db)
    code, err = _run(db, "import", "history", str(log))
    assert code == 2, err
    assert "log.csv: the file is larger than the limit of 100 bytes" in err
    assert _counts(db) == before


def test_a_windows_1252_history_csv_is_refused_naming_the_line_of_its_first_bad_byte(
    db: Database, tmp_path: Path
) -> None:
    log = tmp_path / "log.csv"
    text = LOG_HEADER + GOOD_CASE + "B,Create,2026-01-06T09:00:00Z,André,Desk\n"
    log.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    before = _counts(db)
    code, err = _run(db, "import", "history", str(log))
    assert code == 2, err
    assert "log.csv: line 5: not UTF-8 text (byte 0xE9" in err
    assert "Traceback" not in err
    assert _counts(db) == before


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        # Cut off in the middle of a quoted description: the last row is not shorter, it is gone.
        ('B,Create,2026-01-06T09:00:00Z,mia,"Printer on floor 3\nsays', "ends inside a quoted"),
        # A quote that never closes swallows every row after it into one cell.
        ('B,Create,2026-01-06T09:00:00Z,mia,"Desk\n' + GOOD_CASE.replace("A,", "C,"), "ends"),
        ('B,Create,2026-01-06T09:00:00Z,mia,"24" screen\n', "after its closing quote"),
        (f'B,Create,2026-01-06T09:00:00Z,mia,"{"x" * 200_000}"\n', "longer than 10000"),
    ],
    ids=["cut-off", "unclosed", "stray-quote", "beyond-the-csv-limit"],
)
def test_a_history_csv_whose_quotes_do_not_close_is_refused_naming_the_line(
    db: Database, tmp_path: Path, tail: str, reason: str
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(LOG_HEADER + GOOD_CASE + tail)
    before = _counts(db)
    code, err = _run(db, "import", "history", str(log))
    assert code == 2, err
    assert "log.csv: line 5: not valid CSV:" in err
    assert reason in err
    assert "Traceback" not in err
    assert _counts(db) == before


@pytest.mark.parametrize(
    ("delimiter", "quoting"),
    [(";", csv.QUOTE_MINIMAL), ("\t", csv.QUOTE_MINIMAL), (";", csv.QUOTE_ALL)],
    ids=["semicolon", "tab", "semicolon-every-cell-quoted"],
)
def test_a_semicolon_or_tab_separated_history_log_imports_like_a_comma_separated_one(
    db: Database, tmp_path: Path, delimiter: str, quoting: int
) -> None:
    # As spreadsheets save where the decimal separator is a comma (and a description has one).
    log = tmp_path / "log.csv"
    rows = [line.split(",") for line in (LOG_HEADER + GOOD_CASE).splitlines()]
    rows.append(["B", "Create", "2026-01-06T09:00:00Z", "Lund, André", "Desk"])
    with log.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out, delimiter=delimiter, quoting=quoting).writerows(rows)
    code, err = _run(db, "import", "history", str(log))
    assert code == 0, err
    assert "imported 2 requests" in err
    with db.unit_of_work(readonly=True) as session:
        names = set(session.scalars(select(Person.name)))
    assert {"mia", "sam", "Lund, André"} <= names


def test_a_case_imported_before_from_another_file_is_refused_not_made_twice(
    db: Database, tmp_path: Path
) -> None:
    january = tmp_path / "january.csv"
    january.write_text(LOG_HEADER + GOOD_CASE.replace("A,Resolve", "A,Comment"))
    code, err = _run(db, "import", "history", str(january))
    assert code == 0, err
    # The February export holds the same ticket's resolution: as a request of its own it would
    # be resolved the moment it opened, and January's would stay open for ever.
    february = tmp_path / "february.csv"
    february.write_text(
        LOG_HEADER
        + "B,Create,2026-02-02T09:00:00Z,mia,Desk\n"
        + "A,Resolve,2026-02-03T10:00:00Z,sam,Desk\n"
    )
    before = _counts(db)
    code, err = _run(db, "import", "history", str(february))
    assert code == 2, err
    assert "february.csv: line 3: case_id: case 'A' was imported before (request " in err
    assert "Traceback" not in err
    assert _counts(db) == before


def test_a_history_row_from_the_future_is_refused_with_its_line(
    db: Database, tmp_path: Path
) -> None:
    # 2062 typed for 2026: imported, a request opened decades from now.
    log = tmp_path / "log.csv"
    log.write_text(LOG_HEADER + GOOD_CASE + "B,Create,2062-01-06T09:00:00Z,mia,Desk\n")
    before = _counts(db)
    for dry_run in (["--dry-run"], []):
        code, err = _run(db, "import", "history", str(log), *dry_run)
        assert code == 2, err
        assert "log.csv: line 5: timestamp: 2062-01-06T09:00:00.000000+00:00 is after" in err
        assert "Traceback" not in err
    assert _counts(db) == before


def test_a_history_row_hours_ahead_of_the_clock_still_imports(db: Database, tmp_path: Path) -> None:
    # Exported moments ago where the clocks are ahead of UTC, without an offset (read as UTC).
    ahead = (datetime.now(UTC) + timedelta(hours=10)).replace(tzinfo=None).isoformat()
    log = tmp_path / "log.csv"
    log.write_text(LOG_HEADER + GOOD_CASE + f"B,Create,{ahead},mia,Desk\n")
    code, err = _run(db, "import", "history", str(log))
    assert code == 0, err
    assert "imported 2 requests" in err


def test_a_case_that_begins_with_its_resolution_is_left_out_and_said(
    db: Database, tmp_path: Path
) -> None:
    """An export cut by date holds cases opened before it starts; those whose first row is
    their resolution or closing would be made requests resolved the moment they were opened,
    which the timescale would learn as resolutions in no time."""
    log = tmp_path / "log.csv"
    log.write_text(
        LOG_HEADER
        + GOOD_CASE
        + "B,Resolve,2026-01-05T11:00:00Z,sam,Desk\n"
        + "B,Close,2026-01-06T09:00:00Z,sam,Desk\n"
        + "C,Close,2026-01-05T12:00:00Z,sam,Desk\n"
        # Its clock out of step: resolved before it is opened, but opened in the log.
        + "D,Resolve,2026-01-05T08:00:00Z,sam,Desk\n"
        + "D,Create,2026-01-05T08:30:00Z,mia,Desk\n"
    )
    code, err = _run(db, "import", "history", str(log))
    assert code == 0, err
    assert "imported 2 requests" in err
    assert "2 cases begin with their resolution or closing" in err
    with db.unit_of_work(readonly=True) as session:
        kept = set(session.scalars(select(Request.source_case_id)))
    assert kept == {"A", "D"}
