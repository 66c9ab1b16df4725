"""The `followthrough` command: set up, run, sweep, manage people, import and export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from followthrough.config import Settings, load_settings
from followthrough.db import Database, normalise_url
from followthrough.errors import DomainError
from followthrough.insight import report_cli  # noqa: F401 - registers the Insight reports
from followthrough.insight.cli import insight_app
from followthrough.mail.cli import mail_app
from followthrough.practice.cli import sim_app
from followthrough.practice.fitted_cli import fitted_app
from followthrough.practice.roleplay.cli import roleplay_app
from followthrough.webhooks.cli import webhooks_app

# Each command imports the modules it runs when it runs (the web app, the demo, the importers):
# for start-up speed of `followthrough --help` and of every other command, not to hide a cycle;
# nothing below the command line imports this module (import-linter contracts, pyproject.toml).
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(
    help="Followthrough: internal requests with one owner and kept promises.", no_args_is_help=True
)
user_app = typer.Typer(help="Manage people who can sign in.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(sim_app, name="sim", help="Run and validate business simulation scenarios.")
app.add_typer(fitted_app, name="fitted")
app.add_typer(insight_app, name="insight")
app.add_typer(roleplay_app, name="roleplay")
app.add_typer(mail_app, name="mail")
app.add_typer(webhooks_app, name="webhooks")
console = Console()
# Messages and errors are never broken at the terminal's width: one problem per line, whole,
# for whoever greps or parses them (a pipe or CI has no width and would get 80 columns).
err = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Overrides FOLLOWTHROUGH_DATABASE_URL.", show_default=False
    ),
]


def _settings(database_url: str | None) -> Settings:
    """Settings for a command; a bad setting or database URL is a clear error, not a traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        settings = load_settings(database_url=database_url)
    except ValueError as exc:
        raise fail(f"settings: {exc}") from None
    try:
        make_url(normalise_url(settings.database_url)).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise fail(
            f"--database-url: {settings.database_url!r} is not a sqlite:/// or postgresql:// URL"
        ) from None
    return settings


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def parse_time(value: str | None, option: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} must be an ISO 8601 time, e.g. 2026-11-24T15:00:00+00:00") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    from followthrough.migrate import upgrade

    settings = _settings(database_url)
    _ensure_sqlite_folder(settings.database_url)
    upgrade(settings.database_url)
    console.print("[green]database is up to date[/green]")


@app.command()
def init(
    database_url: DatabaseUrl = None,
    admin_handle: Annotated[str, typer.Option(help="Sign-in name of the first admin.")] = "admin",
    admin_email: Annotated[
        str, typer.Option(help="Email of the first admin.")
    ] = "admin@example.com",
    admin_password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."
        ),
    ] = "",
) -> None:
    """Set up an empty database with a first admin."""
    from followthrough.auth.service import hash_password
    from followthrough.migrate import upgrade
    from followthrough.org.service import add_person

    settings = _settings(database_url)
    _ensure_sqlite_folder(settings.database_url)
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.unit_of_work() as session:
            add_person(
                session,
                admin_handle,
                "Administrator",
                admin_email,
                password_hash=hash_password(admin_password),
                is_admin=True,
            )
    except DomainError as exc:
        raise fail(exc.detail) from None
    finally:
        db.dispose()
    console.print(f"[green]ready[/green]: sign in as [bold]{admin_handle}[/bold]")


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (PostgreSQL for more than one).")
    ] = 1,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=200,
            help="Requests each worker process works on at once (default 4; about one per core"
            " is the most CPU-efficient under full load).",
        ),
    ] = None,
    clock_start: Annotated[
        str | None,
        typer.Option(
            help="Run the clock from this instant (ISO 8601), e.g. the demo history's end."
        ),
    ] = None,
) -> None:
    """Serve the web app and the API."""
    import os

    import uvicorn

    settings = _settings(database_url)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise fail("several workers need PostgreSQL; SQLite has a single writer")
    os.environ["FOLLOWTHROUGH_DATABASE_URL"] = settings.database_url
    if threads is not None:
        os.environ["FOLLOWTHROUGH_WORKER_THREADS"] = str(threads)
    if clock_start is not None:
        os.environ["FOLLOWTHROUGH_CLOCK_START"] = parse_time(
            clock_start, "--clock-start"
        ).isoformat()
    console.print(
        f"Followthrough on [bold]http://{host}:{port}/[/bold]  (API docs: http://{host}:{port}/docs)"
    )
    uvicorn.run(
        "followthrough.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # On SIGTERM, requests in flight get this long to finish; then they are cancelled (a
        # started unit of work still commits or rolls back) and the process exits.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        # X-Forwarded-For/-Proto are believed only from the addresses in
        # FORWARDED_ALLOW_IPS (uvicorn's setting; the local machine by default), so a client
        # cannot fake its address to dodge the sign-in limits.
        proxy_headers=True,
    )


SHUTDOWN_GRACE_SECONDS = 3


@app.command("sweep")
def sweep_command(
    database_url: DatabaseUrl = None,
    once: Annotated[bool, typer.Option("--once", help="Sweep once and exit.")] = False,
    at: Annotated[
        str | None, typer.Option("--now", help="Sweep as if it were this time (ISO 8601).")
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between sweeps when not --once.")] = 30.0,
) -> None:
    """Fire due escalations, reminders, broken promises and auto-closes."""
    import time

    from followthrough.sweeper.service import jobs_for, sweep

    settings = _settings(database_url)
    db = Database(settings.database_url)
    try:
        while True:
            fired = sweep(db, parse_time(at, "--now"), jobs=jobs_for(settings))
            table = Table("due item", "fired")
            for name, count in fired.items():
                table.add_row(name, str(count))
            console.print(table)
            if once:
                break
            time.sleep(interval)
    finally:
        db.dispose()


@user_app.command("add")
def user_add(
    handle: Annotated[str, typer.Argument(help="Sign-in name.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    email: Annotated[str, typer.Option(help="Email address.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    admin: Annotated[bool, typer.Option("--admin", help="May manage the organisation.")] = False,
    team: Annotated[list[str] | None, typer.Option(help="Team name to join (repeatable).")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a person who can sign in."""
    from sqlalchemy import select

    from followthrough.auth.service import hash_password
    from followthrough.org.models import Team
    from followthrough.org.service import add_member, add_person

    settings = _settings(database_url)
    db = Database(settings.database_url)
    try:
        with db.unit_of_work() as session:
            person = add_person(
                session, handle, name, email, password_hash=hash_password(password), is_admin=admin
            )
            for team_name in team or []:
                found = session.scalar(select(Team).where(Team.name == team_name))
                if found is None:
                    raise fail(f"no team named {team_name!r}")
                add_member(session, found.id, person.id)
    except DomainError as exc:
        raise fail(f"{exc.field}: {exc.detail}" if exc.field else exc.detail) from None
    finally:
        db.dispose()
    console.print(f"[green]added[/green] {handle}")


@user_app.command("token")
def user_token(
    handle: Annotated[str, typer.Argument(help="Sign-in name of the person.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Mint a personal API token for a person and print it (shown once)."""
    from sqlalchemy import select

    from followthrough.auth.service import create_api_token
    from followthrough.org.models import Person

    settings = _settings(database_url)
    db = Database(settings.database_url)
    try:
        with db.unit_of_work() as session:
            person = session.scalar(select(Person).where(Person.handle == handle.strip().lower()))
            if person is None or not person.active:
                raise fail(f"no person with handle {handle!r}")
            secret, _ = create_api_token(session, person, name, datetime.now(UTC))
    except DomainError as exc:
        raise fail(f"{exc.field}: {exc.detail}" if exc.field else exc.detail) from None
    finally:
        db.dispose()
    typer.echo(secret)


@app.command()
def demo(
    database_url: DatabaseUrl = None,
    requests: Annotated[
        int, typer.Option(help="How many requests of history to generate.")
    ] = 20_000,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same company.")
    ] = 2026,
) -> None:
    """Create (or re-create) the demo insurer with six months of history."""
    from followthrough.demo.generator import build_demo

    settings = _settings(database_url)
    _ensure_sqlite_folder(settings.database_url)
    build_demo(settings.database_url, requests=requests, seed=seed, console=console)


# --- import and export ------------------------------------------------------------------------

import_app = typer.Typer(help="Import the organisation or another system's history.")
export_app = typer.Typer(help="Export requests and the event history.")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


class _Bar:
    """A rich progress bar on stderr, fed by the importers and exporters."""

    def __init__(self, progress: Progress, description: str) -> None:
        self.progress = progress
        self.task = progress.add_task(description, total=None)

    def total(self, amount: int) -> None:
        # A new total starts the bar again: the history import reads, then writes.
        self.progress.reset(self.task, total=amount)

    def advance(self, amount: int) -> None:
        self.progress.advance(self.task, amount)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _rejected(exc: DomainError) -> typer.Exit:
    from followthrough.org.importer import ImportRejected

    if isinstance(exc, ImportRejected):
        for problem in exc.problems[:-1]:
            err.print(f"error: {problem}", markup=False, highlight=False)
        return fail_plain(str(exc.problems[-1]))
    return fail_plain(f"{exc.field}: {exc.detail}" if exc.field else exc.detail)


def fail_plain(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(code=2)


@import_app.command("org")
def import_org_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="A YAML file, a folder of CSV files, or CSV files named departments.csv, "
            "teams.csv, holidays.csv, people.csv, services.csv."
        ),
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Create or update departments, teams, people and services; all or nothing."""
    from followthrough.org.admin import record_organisation_import
    from followthrough.org.importer import import_org, read_org

    settings = _settings(database_url)
    db = Database(settings.database_url)
    try:
        spec = read_org(files)
        with db.unit_of_work() as session:
            summary = import_org(session, spec)
            created = ", ".join(f"{n} {w}" for w, n in summary.created.items()) or "nothing"
            updated = ", ".join(f"{n} {w}" for w, n in summary.updated.items()) or "nothing"
            # Audited like an admin's edits, in the import's own transaction.
            names = ", ".join(f.name for f in files)
            record_organisation_import(session, names, created, updated, datetime.now(UTC))
    except DomainError as exc:
        raise _rejected(exc) from None
    finally:
        db.dispose()
    err.print(f"created {created}; updated {updated}", markup=False, highlight=False)


@import_app.command("history")
def import_history_command(
    file: Annotated[Path, typer.Argument(help="An XES or CSV event log.")],
    log_format: Annotated[
        str | None,
        typer.Option("--format", help="xes or csv; by default from the file name."),
    ] = None,
    mapping_file: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="A TOML or YAML file of rules (activity, lifecycle, status -> kind or ignore) "
            "and departments.",
        ),
    ] = None,
    activity_map: Annotated[
        list[str] | None,
        typer.Option("--map", help="ACTIVITY=KIND, before the other rules (repeatable)."),
    ] = None,
    department_attribute: Annotated[
        str | None,
        typer.Option(
            "--department-attribute", help="An event attribute naming the group's department."
        ),
    ] = None,
    department_pattern: Annotated[
        str | None,
        typer.Option(
            "--department-pattern",
            help="A regular expression over the group name; its first group names the department.",
        ),
    ] = None,
    status_attribute: Annotated[
        str | None,
        typer.Option("--status-attribute", help="The attribute or column holding the status."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what each combination becomes; write nothing."),
    ] = False,
    reject_unmapped: Annotated[
        bool,
        typer.Option("--reject-unmapped", help="Refuse activities the mapping does not know."),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Import another system's tickets as requests and their history; all or nothing."""
    import time

    from followthrough.history.import_report import preview_table, summary_lines
    from followthrough.history.importer import import_history_file, preview_history
    from followthrough.history.log_mapping import load_mapping

    if log_format not in (None, "xes", "csv"):
        raise fail_plain(f"--format: {log_format!r} is not one of xes, csv")
    fmt: Literal["xes", "csv"] | None = (
        "xes" if log_format == "xes" else "csv" if log_format == "csv" else None
    )
    entries: dict[str, str] = {}
    for entry in activity_map or []:
        activity, sep, kind = entry.partition("=")
        if not sep or not activity.strip() or not kind.strip():
            raise fail_plain(f"--map: {entry!r} is not ACTIVITY=KIND")
        entries[activity.strip()] = kind.strip()
    try:
        mapping = load_mapping(
            mapping_file,
            activity_map=entries,
            department_attribute=department_attribute,
            department_pattern=department_pattern,
            status_attribute=status_attribute,
        )
        if dry_run:
            with _progress() as progress:
                preview = preview_history(
                    file,
                    fmt=fmt,
                    mapping=mapping,
                    reject_unmapped=reject_unmapped,
                    progress=_Bar(progress, f"reading {file.name}"),
                    now=datetime.now(UTC),
                )
            console.print(preview_table(preview, file.name))
            return
    except DomainError as exc:
        raise _rejected(exc) from None
    settings = _settings(database_url)
    db = Database(settings.database_url)
    started = time.perf_counter()
    try:
        # Reads and replays the log before its own write transaction opens.
        with _progress() as progress:
            summary = import_history_file(
                db,
                file,
                datetime.now(UTC),
                fmt=fmt,
                mapping=mapping,
                reject_unmapped=reject_unmapped,
                progress=_Bar(progress, f"importing {file.name}"),
            )
        db.refresh_statistics()
    except DomainError as exc:
        raise _rejected(exc) from None
    finally:
        db.dispose()
    for line in summary_lines(summary, time.perf_counter() - started):
        err.print(line, markup=False, highlight=False)


OutputFile = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here instead of to standard output.")
]


@export_app.command("requests")
def export_requests_command(
    out_format: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    output: OutputFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """One row per request."""
    from followthrough.history.export import count_requests, export_requests

    if out_format not in ("csv", "jsonl"):
        raise fail_plain(f"--format: {out_format!r} is not one of csv, jsonl")
    _export(database_url, output, "requests", count_requests, export_requests, out_format)


@export_app.command("events")
def export_events_command(
    out_format: Annotated[str, typer.Option("--format", help="csv, jsonl or xes.")] = "csv",
    output: OutputFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The full event history."""
    from followthrough.history.export import count_events, export_events

    if out_format not in ("csv", "jsonl", "xes"):
        raise fail_plain(f"--format: {out_format!r} is not one of csv, jsonl, xes")

    def count(session: Session) -> int:
        return count_events(session, with_request_only=out_format == "xes")

    _export(database_url, output, "events", count, export_events, out_format)


def _export(
    database_url: str | None,
    output: Path | None,
    what: str,
    count: Callable[[Session], int],
    write: Callable[[Session, TextIO, Any, Callable[[int], None]], int],
    out_format: str,
) -> None:
    """Stream an export to a file (written whole or not at all) or to standard output."""
    import os
    import sys
    import tempfile

    settings = _settings(database_url)
    db = Database(settings.database_url)
    partial: Path | None = None
    try:
        with db.unit_of_work(readonly=True) as session, _progress() as progress:
            bar = _Bar(progress, f"exporting {what}")
            bar.total(count(session))
            if output is None:
                written = write(session, sys.stdout, out_format, bar.advance)
                sys.stdout.flush()
            else:
                fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
                partial = Path(name)
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                    written = write(session, out, out_format, bar.advance)
                partial.replace(output)
                partial = None
    except OSError as exc:
        raise fail_plain(f"{output}: {exc.strerror or exc}") from None
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
        db.dispose()
    err.print(f"exported {written} {what}", markup=False, highlight=False)


def main() -> None:
    """Entry point: a database that cannot be reached is a one-line error with exit code 2."""
    from sqlalchemy.exc import OperationalError

    try:
        app()
    except OperationalError as exc:
        err.print(f"[red]error:[/red] cannot use the database: {exc.orig}", highlight=False)
        raise SystemExit(2) from None
