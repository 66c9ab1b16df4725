"""Importing the organisation from YAML and CSV: all or nothing, idempotent, precise errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from followthrough.db import Base, Database
from followthrough.org.importer import (
    ImportRejected,
    import_org,
    parse_business_hours,
    parse_working_days,
    read_org,
)
from followthrough.org.models import Department, Holiday, Membership, Person, Service, Team

ORG_YAML = """\
departments:
  - name: Claims
teams:
  - name: Claims
    department: Claims
    timezone: Europe/London
    business_hours: "08:30-16:30"
    working_days: mon,tue,wed,thu
    lead: carl
    holidays:
      - {day: 2026-12-25, name: Christmas Day}
  - name: Policy Admin
    department: Policy Administration
    lead: lee
    duty_owner: dan
    triage: true
people:
  - {handle: carl, name: Carl Claims, email: carl@example.com, teams: [Claims]}
  - {handle: lee, name: Lee Lead, email: lee@example.com}
  - {handle: dan, name: Dan Duty, email: dan@example.com, teams: [Policy Admin], admin: true}
services:
  - team: Policy Admin
    name: Correct a policy document
    confidential: true
    accept_target_hours: 2
    update_every_hours: 4
    resolve_target_hours: 16
    auto_close_days: 3
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _import(db: Database, *paths: Path) -> None:
    spec = read_org(list(paths))
    with db.unit_of_work() as session:
        import_org(session, spec)


def _row_counts(db: Database) -> dict[str, int]:
    with db.unit_of_work(readonly=True) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def _rejected(db: Database, *paths: Path) -> ImportRejected:
    before = _row_counts(db)
    with pytest.raises(ImportRejected) as caught:
        _import(db, *paths)
    assert _row_counts(db) == before
    return caught.value


def test_yaml_import_creates_the_whole_organisation(db: Database, tmp_path: Path) -> None:
    _import(db, _write(tmp_path, "org.yaml", ORG_YAML))
    with db.unit_of_work(readonly=True) as session:
        departments = set(session.scalars(select(Department.name)))
        assert departments == {"Claims", "Policy Administration"}
        claims = session.scalar(select(Team).where(Team.name == "Claims"))
        admin = session.scalar(select(Team).where(Team.name == "Policy Admin"))
        assert claims is not None
        assert admin is not None
        people = {p.handle: p for p in session.scalars(select(Person))}
        assert claims.timezone == "Europe/London"
        assert (claims.day_start_minute, claims.day_end_minute) == (510, 990)
        assert claims.working_days == "1234"
        assert claims.lead_id == people["carl"].id
        assert not claims.is_triage
        assert admin.is_triage
        assert admin.duty_owner_id == people["dan"].id
        assert people["dan"].is_admin
        assert people["dan"].password_hash is None
        holidays = list(session.execute(select(Holiday.team_id, Holiday.day, Holiday.name)))
        assert [tuple(h) for h in holidays] == [(claims.id, date(2026, 12, 25), "Christmas Day")]
        members = set(session.execute(select(Membership.team_id, Membership.person_id)).all())
        assert members == {
            (claims.id, people["carl"].id),
            (admin.id, people["lee"].id),
            (admin.id, people["dan"].id),
        }
        service = session.scalar(select(Service))
        assert service is not None
        assert service.team_id == admin.id
        assert service.confidential
        assert (service.accept_target_hours, service.update_every_hours) == (2, 4)
        assert (service.resolve_target_hours, service.auto_close_days) == (16, 3)


def test_importing_the_same_file_twice_changes_nothing(db: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "org.yaml", ORG_YAML)
    _import(db, path)
    before = _row_counts(db)
    spec = read_org([path])
    with db.unit_of_work() as session:
        summary = import_org(session, spec)
    assert summary.created == {}
    assert summary.updated == {}
    assert _row_counts(db) == before


def test_reimport_updates_given_fields_and_keeps_the_others(db: Database, tmp_path: Path) -> None:
    _import(db, _write(tmp_path, "org.yaml", ORG_YAML))
    _import(
        db,
        _write(
            tmp_path,
            "change.yaml",
            "teams:\n  - {name: Claims, department: Claims, timezone: Europe/Paris}\n"
            "services:\n  - {team: Policy Admin, name: Correct a policy document,"
            " resolve_target_hours: 8}\n",
        ),
    )
    with db.unit_of_work(readonly=True) as session:
        claims = session.scalar(select(Team).where(Team.name == "Claims"))
        service = session.scalar(select(Service))
        assert claims is not None
        assert service is not None
        assert claims.timezone == "Europe/Paris"
        assert claims.working_days == "1234"  # not in the second file: kept
        assert claims.lead_id is not None
        assert service.resolve_target_hours == 8
        assert service.accept_target_hours == 2
        assert service.confidential


def test_unknown_lead_names_file_line_and_field_and_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    text = ORG_YAML.replace("    lead: lee\n", "    lead: bob\n")
    problem = _rejected(db, _write(tmp_path, "org.yaml", text)).problems[0]
    assert str(problem) == "org.yaml: line 14: teams[1].lead: no person with handle 'bob'"


def test_every_problem_is_reported_not_only_the_first(db: Database, tmp_path: Path) -> None:
    text = ORG_YAML.replace("lead: lee", "lead: bob").replace("team: Policy Admin", "team: Nope")
    problems = _rejected(db, _write(tmp_path, "org.yaml", text)).problems
    assert [p.field for p in problems] == ["teams[1].lead", "services[0].team"]
    assert problems[1].reason == "no team named 'Nope'"


def test_unknown_or_invalid_yaml_fields_are_rejected_with_their_line(
    db: Database, tmp_path: Path
) -> None:
    text = ORG_YAML.replace("    triage: true\n", "    triage: true\n    colour: blue\n").replace(
        "timezone: Europe/London", "timezone: Mars/Olympus"
    )
    problems = _rejected(db, _write(tmp_path, "org.yaml", text)).problems
    assert {(p.line, p.field, p.reason) for p in problems} == {
        (
            6,
            "teams[0].timezone",
            "unknown time zone 'Mars/Olympus' (use a name like Europe/London)",
        ),
        (17, "teams[1].colour", "unknown field"),
    }


def test_broken_yaml_names_the_line(db: Database, tmp_path: Path) -> None:
    problem = _rejected(db, _write(tmp_path, "org.yaml", "teams:\n  - name: [oops\n")).problems[0]
    assert problem.file == "org.yaml"
    assert problem.line == 3
    assert "not valid YAML" in problem.reason


def test_duplicate_handles_and_emails_in_one_file_are_refused(db: Database, tmp_path: Path) -> None:
    people = "people:\n" + "\n".join(
        [
            "  - {handle: carl, name: Carl Claims, email: carl@example.com}",
            "  - {handle: carl, name: Other Carl, email: carl@example.com}",
        ]
    )
    problems = _rejected(db, _write(tmp_path, "people.yaml", people)).problems
    assert [str(p) for p in problems] == [
        "people.yaml: line 3: people[1].handle: this handle is also on line 2",
        "people.yaml: line 3: people[1].email: this email is also on line 2",
    ]


def test_an_email_of_another_person_in_the_database_is_refused(
    db: Database, tmp_path: Path
) -> None:
    _import(db, _write(tmp_path, "org.yaml", ORG_YAML))
    problem = _rejected(
        db,
        _write(
            tmp_path, "p.yaml", "people:\n  - {handle: eve, name: Eve, email: lee@example.com}\n"
        ),
    ).problems[0]
    assert str(problem) == "p.yaml: line 2: people[0].email: 'lee@example.com' belongs to 'lee'"


def _csv_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "org"
    folder.mkdir()
    _write(folder, "departments.csv", "name\nClaims\n")
    _write(
        folder,
        "teams.csv",
        "name,department,timezone,business_hours,working_days,lead,duty_owner,triage\n"
        "Claims,Claims,Europe/London,08:30-16:30,1234,carl,,false\n"
        "Policy Admin,Policy Administration,,,,lee,dan,true\n",
    )
    _write(folder, "holidays.csv", "team,day,name\nClaims,2026-12-25,Christmas Day\n")
    _write(
        folder,
        "people.csv",
        "handle,name,email,teams,admin\n"
        "carl,Carl Claims,carl@example.com,Claims,\n"
        "lee,Lee Lead,lee@example.com,,\n"
        "dan,Dan Duty,dan@example.com,Policy Admin,yes\n",
    )
    _write(
        folder,
        "services.csv",
        "team,name,description,confidential,accept_target_hours,update_every_hours,"
        "resolve_target_hours,auto_close_days\n"
        "Policy Admin,Correct a policy document,,true,2,4,16,3\n",
    )
    return folder


def test_a_folder_of_csv_files_imports_the_same_organisation_as_yaml(
    db: Database, tmp_path: Path
) -> None:
    _import(db, _csv_folder(tmp_path))
    from_csv = _snapshot(db)
    _import(db, _write(tmp_path, "org.yaml", ORG_YAML))
    assert _snapshot(db) == from_csv  # the YAML describes the same thing: nothing changes


def _snapshot(db: Database) -> dict[str, object]:
    with db.unit_of_work(readonly=True) as session:
        return {
            "counts": _row_counts(db),
            "teams": sorted(
                (t.name, t.timezone, t.day_start_minute, t.working_days, t.is_triage)
                for t in session.scalars(select(Team))
            ),
            "admins": sorted(p.handle for p in session.scalars(select(Person)) if p.is_admin),
        }


def test_a_bad_csv_cell_names_file_line_and_column(db: Database, tmp_path: Path) -> None:
    folder = _csv_folder(tmp_path)
    _write(
        folder,
        "people.csv",
        "handle,name,email,teams,admin\n"
        "carl,Carl Claims,carl@example.com,Claims,\n"
        '"Lee Lead!",Lee Lead,lee-at-example.com,,\n',
    )
    problems = _rejected(db, folder).problems
    assert [str(p) for p in problems] == [
        "people.csv: line 3: handle: a handle is 1-64 letters, digits, '.', '-' or '_'",
        "people.csv: line 3: email: 'lee-at-example.com' is not an email address",
    ]


def test_an_unknown_csv_column_or_file_is_refused(db: Database, tmp_path: Path) -> None:
    folder = _csv_folder(tmp_path)
    _write(folder, "departments.csv", "name,budget\nClaims,12\n")
    assert (
        str(_rejected(db, folder).problems[0]) == "departments.csv: line 1: budget: unknown column"
    )
    stray = _write(tmp_path, "staff.csv", "handle\nx\n")
    assert "expected one of departments.csv" in str(_rejected(db, stray).problems[0])


def test_a_csv_team_member_of_an_unknown_team_is_refused(db: Database, tmp_path: Path) -> None:
    folder = _csv_folder(tmp_path)
    _write(
        folder, "people.csv", "handle,name,email,teams\ncarl,Carl,carl@example.com,Claims;Clams\n"
    )
    problems = _rejected(db, folder).problems
    assert [str(p) for p in problems] == [
        "people.csv: line 2: teams: no team named 'Clams'",
        "teams.csv: line 3: lead: no person with handle 'lee'",
        "teams.csv: line 3: duty_owner: no person with handle 'dan'",
    ]


@pytest.mark.parametrize(
    ("text", "digits"),
    [("12345", "12345"), ("mon,tue,wed", "123"), ("Sat Sunday", "67"), ("5,1", "15")],
)
def test_working_days_read_as_iso_digits(text: str, digits: str) -> None:
    assert parse_working_days(text) == digits


@pytest.mark.parametrize("text", ["", "0", "8", "funday", "mon,xyz"])
def test_impossible_working_days_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="day"):
        parse_working_days(text)


def test_business_hours_read_as_minutes_and_must_be_in_order() -> None:
    assert parse_business_hours("08:30-16:45") == (510, 1005)
    assert parse_business_hours("00:00-24:00") == (0, 1440)
    for text in ("17:00-09:00", "9-5", "09:00-25:00", "09:75-10:00"):
        with pytest.raises(ValueError, match="business hours"):
            parse_business_hours(text)
