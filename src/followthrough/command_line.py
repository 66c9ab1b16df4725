"""What the `followthrough` sub-commands share (mail, mail in, webhooks and chat): the
`--database-url` option, settings that fail with exit 2 naming the setting, and a change made
in one unit of work as the admin named by `--by`, audited in their name as on the admin pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.config import Settings, load_settings
from followthrough.db import Database
from followthrough.errors import DomainError
from followthrough.org.actors import Actor
from followthrough.org.models import Person
from followthrough.org.service import actor_for

Result = TypeVar("Result")

err = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Overrides FOLLOWTHROUGH_DATABASE_URL.", show_default=False
    ),
]
AdminHandle = Annotated[str, typer.Option("--by", help="Your handle (an admin).")]


def fail(message: str) -> typer.Exit:
    """Print `message` as an error and return the exit (2) for the caller to raise."""
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code=2)


def settings_or_exit(**overrides: object) -> Settings:
    """The settings (environment and `overrides`); a wrong one exits 2 naming it."""
    try:
        return load_settings(**overrides)
    except ValueError as exc:
        raise fail(f"settings: {exc}") from None


def acting_admin(session: Session, handle: str) -> Actor:
    """The admin a command acts as (its changes are audited in their name); exit 2 otherwise."""
    person = session.scalar(select(Person).where(Person.handle == handle))
    if person is None or not person.is_admin:
        raise fail(f"--by: {handle!r} is not an admin's handle")
    return actor_for(session, person)


def change_as_admin(
    settings: Settings,
    handle: str,
    change: Callable[[Session, Actor], Result],
    *,
    field: str,
) -> Result:
    """Run `change` in one unit of work as the admin `handle`; a refusal (a domain error)
    exits 2 naming its field (`field` when it names none)."""
    database = Database(settings.database_url)
    try:
        with database.unit_of_work() as session:
            return change(session, acting_admin(session, handle))
    except DomainError as exc:
        raise fail(f"{exc.field or field}: {exc}") from None
    finally:
        database.dispose()
