"""The demo insurer: the same seed gives the same rows, and the history keeps the product's rules."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import delete, func, select, text

from followthrough.db import Base, Database
from followthrough.demo.generator import DEMO_PASSWORD, build_demo
from followthrough.demo.history import END
from followthrough.feedback.models import Rating
from followthrough.history.models import Event
from followthrough.notify.models import Notification
from followthrough.org.models import Department, Person, Service, Team
from followthrough.promises.models import Promise
from followthrough.requests import rules
from followthrough.requests.models import PathStep, Request
from followthrough.search.documents import rebuild_documents
from followthrough.search.models import RequestSearch
from followthrough.sweeper.service import sweep

SMALL = 400
CLI = (sys.executable, "-c", "from followthrough.cli import app; app()")
STORY_TITLE = "Correct the policy error on policy HP-20417"


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    database = Database(url)
    try:
        with database.unit_of_work(readonly=True) as session:
            return {
                table.name: [
                    tuple(row)
                    for row in session.execute(
                        select(table).order_by(*table.primary_key.columns)
                    ).all()
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        database.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One small demo per backend, shared by the read-only checks below."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    build_demo(url, requests=SMALL, seed=7, console=_quiet())
    database = Database(url)
    yield database
    database.dispose()


def test_the_same_seed_writes_identical_rows(tmp_path: Path) -> None:
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.sqlite3", "b.sqlite3"))
    build_demo(first, requests=300, seed=11, console=_quiet())
    build_demo(second, requests=300, seed=11, console=_quiet())
    assert _dump(first) == _dump(second)


@pytest.mark.slow
def test_the_same_seed_writes_identical_rows_in_separate_processes(tmp_path: Path) -> None:
    """String hashing differs between processes; nothing may depend on set or hash order."""
    urls = []
    for hash_seed in ("1", "2"):
        url = f"sqlite:///{tmp_path / f'{hash_seed}.sqlite3'}"
        subprocess.run(
            [*CLI, "demo", "--database-url", url, "--requests", "200", "--seed", "4"],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        urls.append(url)
    assert _dump(urls[0]) == _dump(urls[1])


def test_a_different_seed_writes_a_different_history(tmp_path: Path) -> None:
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.sqlite3", "b.sqlite3"))
    build_demo(first, requests=200, seed=1, console=_quiet())
    build_demo(second, requests=200, seed=2, console=_quiet())
    assert _dump(first)["event"] != _dump(second)["event"]


def test_building_again_replaces_the_previous_demo(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    build_demo(url, requests=150, seed=3, console=_quiet())
    build_demo(url, requests=150, seed=3, console=_quiet())
    database = Database(url)
    with database.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Department)) == 7
    database.dispose()


def test_the_summary_names_who_to_sign_in_as_and_the_password(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=200)
    build_demo(f"sqlite:///{tmp_path / 'demo.sqlite3'}", requests=100, seed=5, console=console)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    for handle in ("asha", "priya", "colin", "linda", "ada"):
        assert handle in output
    assert DEMO_PASSWORD in output


def test_the_insurer_has_six_departments_and_about_sixty_people(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        departments = set(session.scalars(select(Department.name)))
        assert {
            "Claims",
            "Policy Administration",
            "Underwriting",
            "Customer Service",
            "Finance",
            "IT",
        } <= departments
        assert 55 <= (session.scalar(select(func.count()).select_from(Person)) or 0) <= 65
        assert session.scalar(select(func.count()).where(Person.is_admin.is_(True))) == 1
        assert session.scalar(select(func.count()).where(Team.is_triage.is_(True))) == 1
        assert session.scalar(select(func.count()).where(Service.confidential.is_(True))) == 1
        teams = session.scalars(select(Team)).all()
        assert all(t.lead_id is not None for t in teams)
        assert {t.timezone for t in teams} >= {"Europe/London", "Europe/Dublin", "Asia/Kolkata"}


def test_about_the_requested_number_of_requests_is_written(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        count = session.scalar(select(func.count()).select_from(Request)) or 0
        assert abs(count - SMALL) <= SMALL * 0.05
        latest = session.scalar(select(func.max(Event.at)))
        assert latest is not None
        assert latest <= END


def test_every_request_has_the_search_document_the_triggers_would_keep(demo: Database) -> None:
    """The history is written with the search triggers off and its documents made after it; the
    story and the programmes then write through the services with the triggers back on."""
    documents = select(
        RequestSearch.request_id,
        RequestSearch.title,
        RequestSearch.body,
        RequestSearch.cases,
        RequestSearch.scope,
    ).order_by(RequestSearch.request_id)
    with demo.engine.connect() as connection:
        written = connection.execute(documents).all()
        requests = connection.scalars(select(Request.id).order_by(Request.id)).all()
        # Made again from nothing by the triggers' definition (held equal to the triggers by
        # tests/search/test_scope.py), then rolled back.
        connection.execute(delete(RequestSearch))
        rebuild_documents(connection)
        remade = connection.execute(documents).all()
        connection.rollback()
    assert [row.request_id for row in written] == requests
    assert written == remade


def test_the_planner_statistics_are_current_once_the_demo_is_built(demo: Database) -> None:
    # Without them PostgreSQL takes the event table for an empty one and the Insight reports'
    # correlated look-ups become nested scans of the whole history (the buddy programme's effect
    # page took 160 s on the fresh 20,000-request demo, 2 s once analysed).
    if demo.is_sqlite:
        pytest.skip("SQLite's planner keeps no statistics the desk relies on")
    with demo.engine.connect() as connection:
        unanalysed = connection.execute(
            text(
                "SELECT relname FROM pg_stat_user_tables "
                "WHERE relname IN ('event', 'request', 'offer') "
                "AND (n_mod_since_analyze > 0 OR (last_analyze IS NULL "
                "AND last_autoanalyze IS NULL))"
            )
        ).all()
    assert unanalysed == []


def test_every_request_has_exactly_one_owner_who_exists(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        people = set(session.scalars(select(Person.id)))
        owners = session.execute(select(Request.id, Request.owner_id)).all()
        assert owners
        assert all(owner in people for _, owner in owners)


def test_every_resolved_request_has_a_resolved_event(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        resolved = set(
            session.scalars(
                select(Request.id).where(Request.state.in_((rules.RESOLVED, rules.CLOSED)))
            )
        )
        with_event = set(session.scalars(select(Event.request_id).where(Event.kind == "resolved")))
        assert resolved
        assert resolved <= with_event


def test_each_promise_has_the_event_its_state_implies(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        for state, kind in (("kept", "promise_kept"), ("broken", "promise_broken")):
            promises = set(session.scalars(select(Promise.id).where(Promise.state == state)))
            events = [
                e.payload["promise_id"]
                for e in session.scalars(select(Event).where(Event.kind == kind))
            ]
            assert promises
            assert sorted(events) == sorted(promises)
        made = session.scalar(select(func.count()).where(Event.kind == "promise_made"))
        assert made == session.scalar(select(func.count()).select_from(Promise))


def test_bounces_are_recorded_in_the_path(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        bounces = dict(
            session.execute(
                select(PathStep.request_id, func.count())
                .where(PathStep.is_bounce.is_(True))
                .group_by(PathStep.request_id)
            ).all()
        )
        counted = dict(
            session.execute(
                select(Request.id, Request.bounce_count).where(Request.bounce_count > 0)
            ).all()
        )
        assert counted
        assert bounces == counted


def test_events_of_a_request_are_in_time_order(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        rows = session.execute(
            select(Event.request_id, Event.at)
            .where(Event.request_id.is_not(None))
            .order_by(Event.request_id, Event.id)
        ).all()
        last: dict[int, Any] = {}
        for request_id, at in rows:
            assert at >= last.get(request_id, at)
            last[request_id] = at


def test_open_requests_show_an_owner_due_update_or_pause_and_a_timescale(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        open_requests = session.scalars(
            select(Request).where(Request.state.in_(rules.OPEN_STATES))
        ).all()
        assert open_requests
        for request in open_requests:
            assert request.eta_basis is not None
            assert request.next_update_due_at is not None or request.waiting_on is not None


def test_the_history_is_already_swept_at_its_end_date(demo: Database) -> None:
    fired = sweep(demo, END)
    assert {name: count for name, count in fired.items() if count} == {}


def test_the_story_request_breaks_its_promise_escalates_and_is_confirmed(demo: Database) -> None:
    with demo.unit_of_work(readonly=True) as session:
        story = session.scalar(select(Request).where(Request.title == STORY_TITLE))
        assert story is not None
        assert story.state == rules.CLOSED
        kinds = list(
            session.scalars(
                select(Event.kind).where(Event.request_id == story.id).order_by(Event.id)
            )
        )
        for kind in (
            "escalated",
            "accepted",
            "promise_broken",
            "update_escalated",
            "sub_request_opened",
            "resumed",
            "promise_kept",
            "resolved",
            "closed",
            "rated",
            "feedback_given",
        ):
            assert kind in kinds
        assert kinds.index("promise_broken") < kinds.index("update_escalated")
        states = sorted(
            session.scalars(select(Promise.state).where(Promise.request_id == story.id))
        )
        assert states == ["broken", "kept"]
        rating = session.scalar(select(Rating).where(Rating.request_id == story.id))
        assert rating is not None
        assert rating.communicate == 1


def test_requests_end_withdrawn_or_merged_and_move_to_another_service(demo: Database) -> None:
    """A requester withdraws with a reason; a duplicate is merged into an open-at-the-time
    request that names it back; a re-categorised request sits on the service its last move
    named. Notifications about a merge name both requests by their written ids."""
    with demo.unit_of_work(readonly=True) as session:
        withdrawn = session.scalars(select(Request).where(Request.state == rules.WITHDRAWN)).all()
        assert len(withdrawn) >= 3
        for request in withdrawn:
            ending = session.scalars(
                select(Event).where(
                    Event.request_id == request.id, Event.kind == "request_withdrawn"
                )
            ).one()
            assert ending.actor_id == request.requester_id
            assert ending.payload["reason"]
            assert request.closed_at == ending.at
            assert request.resolved_at is None

        merged = session.scalars(select(Request).where(Request.state == rules.MERGED)).all()
        assert len(merged) >= 2
        for duplicate in merged:
            assert duplicate.merged_into_id is not None
            into = session.get(Request, duplicate.merged_into_id)
            assert into is not None
            assert into.title == duplicate.title
            marker = session.scalars(
                select(Event).where(Event.request_id == into.id, Event.kind == "duplicate_merged")
            ).one()
            assert marker.payload["duplicate_id"] == duplicate.id
            text = f"#{duplicate.id} {duplicate.title} was merged into #{into.id} {into.title}"
            told = session.scalars(
                select(Notification.message).where(Notification.request_id == duplicate.id)
            ).all()
            assert all(text in message for message in told if "merged" in message)

        moves = session.scalars(
            select(Event).where(Event.kind == "recategorised").order_by(Event.at, Event.id)
        ).all()
        assert len(moves) >= 5
        last_move = {e.request_id: e for e in moves}
        for request_id, move in last_move.items():
            request = session.get(Request, request_id)
            assert request is not None
            assert request.service_id == move.payload["to_service_id"]
        # Triage files requests under a service (from none), owners move them between services.
        assert any(e.payload.get("from_service_id") is None for e in moves)
        assert any(e.payload.get("from_service_id") is not None for e in moves)
