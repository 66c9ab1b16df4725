"""`followthrough demo`: re-create the database and fill it with the demo insurer.

The same seed always writes the same rows: one `random.Random(seed)` drives every choice, the
history ends at a fixed moment (END), and the demo password's hash uses a salt derived from the
seed. See docs/demo.md for what is modelled.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import MetaData, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from followthrough.db import Base, Database, make_engine, normalise_url
from followthrough.demo import buddies
from followthrough.demo.company import Company, write_company
from followthrough.demo.history import END, START, simulate
from followthrough.demo.programme import LIFT, plan_rollout, write_programme
from followthrough.demo.story import Story, play_story
from followthrough.demo.writer import restart_sequences, row_count, write_history
from followthrough.history.models import Event
from followthrough.migrate import upgrade
from followthrough.org.models import Department, Person, Service, Team
from followthrough.promises.models import Promise
from followthrough.requests import rules
from followthrough.requests.models import Request
from followthrough.timescale.service import refresh_curve, refresh_estimate

# Every demo person signs in with this password.
DEMO_PASSWORD = "followthrough"

# Who to sign in as to see the story from each side: (handle, role).
SIGN_INS = (
    ("asha", "Motor Claims assessor (raised the story's request)"),
    ("priya", "Policy Admin duty owner"),
    ("colin", "Policy Admin clerk (broke the call-back promise)"),
    ("linda", "Policy Admin team lead (escalations land here)"),
    ("ada", "Administrator"),
)


class NotADemoDatabase(Exception):
    """The PostgreSQL database holds tables that are not Followthrough's; nothing was dropped."""


def demo_password_hash(seed: int) -> str:
    """The one argon2 hash every demo person shares; the salt comes from the seed, so the
    stored hash is identical on every run."""
    salt = hashlib.sha256(f"followthrough-demo-{seed}".encode()).digest()[:16]
    return PasswordHasher().hash(DEMO_PASSWORD, salt=salt)


def reset_database(database_url: str) -> None:
    """An empty, fully migrated database: SQLite by deleting the file, PostgreSQL by dropping
    Followthrough's tables (and refusing if the database holds anything else)."""
    url = normalise_url(database_url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not path or path == ":memory:":
            raise NotADemoDatabase("the demo needs a SQLite file, not an in-memory database")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)
        upgrade(url)
        return
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            tables = set(inspect(connection).get_table_names())
            if tables and not {"alembic_version", "request", "event"} <= tables:
                raise NotADemoDatabase(
                    "refusing to drop tables: the database holds tables that are not "
                    f"Followthrough's ({', '.join(sorted(tables)[:5])}...)"
                )
            existing = MetaData()
            existing.reflect(connection)
            existing.drop_all(connection)
    finally:
        engine.dispose()
    upgrade(url)


# Open requests stamped between flushes in `_refresh_timescales`.
FLUSH_EVERY = 200


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]
    story: Story


def _refresh_timescales(session: Session, progress: Progress) -> None:
    """Curves per service at the end date, then the estimate every open request shows."""
    service_ids = list(session.scalars(select(Service.id).order_by(Service.id)))
    open_requests = list(
        session.scalars(
            select(Request).where(Request.state.in_(rules.OPEN_STATES)).order_by(Request.id)
        )
    )
    task = progress.add_task("Timescales", total=len(service_ids) + len(open_requests))
    for service_id in service_ids:
        refresh_curve(session, service_id, END)
        progress.advance(task)
    for number, request in enumerate(open_requests, start=1):
        refresh_estimate(session, request, END)
        progress.advance(task)
        if number % FLUSH_EVERY == 0:
            # Every estimate asks whether the organisation changed unflushed, over the
            # session's modified objects: unflushed, they would make the step quadratic.
            session.flush()
    session.flush()


def _counts(session: Session) -> dict[str, int]:
    def count(model: type[Base], *where: ColumnElement[bool]) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    promise_states = Counter(
        dict(session.execute(select(Promise.state, func.count()).group_by(Promise.state)).all())
    )
    return {
        "departments": count(Department),
        "teams": count(Team),
        "people": count(Person),
        "services": count(Service),
        "requests": count(Request),
        "open requests": count(Request, Request.state.in_(rules.OPEN_STATES)),
        "bounced requests": count(Request, Request.bounce_count > 0),
        "withdrawn requests": count(Request, Request.state == rules.WITHDRAWN),
        "duplicates merged": count(Request, Request.state == rules.MERGED),
        "re-categorised": count(Event, Event.kind == "recategorised"),
        "events": count(Event),
        "promises kept": promise_states["kept"],
        "promises broken": promise_states["broken"],
        "promises open": promise_states["open"],
        "ratings": count(Event, Event.kind == "rated"),
        "colleague feedback": count(Event, Event.kind == "feedback_given"),
    }


def build_demo(
    database_url: str,
    *,
    requests: int = 20_000,
    seed: int = 2026,
    console: Console,
    programme_lift: float = LIFT,
    buddy_effect: float = buddies.EFFECT,
) -> None:
    """Re-create the database as the demo insurer with about `requests` requests of history
    ending at END, the story played through the real services, and fresh timescales. The
    training programme's communication module is rolled out in waves; `programme_lift` is the
    share of would-be broken promises its completers keep afterwards (0: no effect). The
    departments join the buddy programme in waves; `buddy_effect` is the share of their time to
    accept other departments' requests, and of their bounces back, they save (0: no effect)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    reset_database(database_url)
    database = Database(database_url)
    try:
        progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        with progress, database.unit_of_work() as session:
            company = write_company(session, demo_password_hash(seed))
            simulating = progress.add_task("Simulating", total=None)
            rollout = plan_rollout(company, START, lift=programme_lift)
            buddy_plan = buddies.plan_buddies(START, END, effect=buddy_effect)
            history = simulate(
                company,
                rng,
                requests,
                tick=lambda: progress.advance(simulating),
                rollout=rollout,
                buddies=buddy_plan,
            )
            progress.update(
                simulating, total=len(history.requests), completed=len(history.requests)
            )
            writing = progress.add_task("Writing", total=row_count(history))
            write_history(session, history, company, tick=lambda n: progress.advance(writing, n))
            restart_sequences(session)
            story = play_story(session, company)
            write_programme(session, company, rollout)
            buddies.write_buddies(session, company, buddy_plan, END, seed)
            _refresh_timescales(session, progress)
            summary = Summary(_counts(session), story)
        database.refresh_statistics()
    finally:
        database.dispose()
    _print_summary(console, company, summary, time.perf_counter() - started)


def _print_summary(console: Console, company: Company, summary: Summary, seconds: float) -> None:
    counts = Table("what", "how many", title="Demo insurer", title_justify="left")
    for name, value in summary.counts.items():
        counts.add_row(name, f"{value:,}")
    console.print(counts)
    sign_ins = Table("sign in as", "name", "role", title="Sign in", title_justify="left")
    for handle, role in SIGN_INS:
        sign_ins.add_row(handle, company.names[handle], role)
    console.print(sign_ins)
    console.print(
        f"Every demo person's password is [bold]{DEMO_PASSWORD}[/bold]. "
        f"The story is request {summary.story.request_id} "
        f"(history ends {END:%Y-%m-%d %H:%M} UTC). Built in {seconds:.1f} s."
    )
