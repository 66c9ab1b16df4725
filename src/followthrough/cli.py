"""The `followthrough` command: set up, run, sweep, manage people, import and export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from followthrough.config import Settings, load_settings
from followthrough.db import Database
from followthrough.errors import DomainError

app = typer.Typer(
    help="Followthrough: internal requests with one owner and kept promises.", no_args_is_help=True
)
user_app = typer.Typer(help="Manage people who can sign in.", no_args_is_help=True)
app.add_typer(user_app, name="user")
console = Console()
err = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Overrides FOLLOWTHROUGH_DATABASE_URL.", show_default=False
    ),
]


def _settings(database_url: str | None) -> Settings:
    return load_settings(database_url=database_url)


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
) -> None:
    """Serve the web app and the API."""
    import os

    import uvicorn

    settings = _settings(database_url)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise fail("several workers need PostgreSQL; SQLite has a single writer")
    os.environ["FOLLOWTHROUGH_DATABASE_URL"] = settings.database_url
    console.print(
        f"Followthrough on [bold]http://{host}:{port}/[/bold]  (API docs: http://{host}:{port}/docs)"
    )
    uvicorn.run(
        "followthrough.web.asgi:app", host=host, port=port, workers=workers, log_level="warning"
    )


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

    from followthrough.sweeper.service import sweep

    settings = _settings(database_url)
    db = Database(settings.database_url)
    try:
        while True:
            fired = sweep(db, parse_time(at, "--now"))
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


def main() -> None:
    app()
