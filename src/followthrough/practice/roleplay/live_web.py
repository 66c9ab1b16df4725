"""Live role-play pages: open a session, join it with its code on a phone, play and mark each
round, watch the board update, and read the debrief.

Screens follow changes through server-sent events. Each server process keeps one watcher per
open session that reads the session's version number (one indexed integer) every tenth of a
second and wakes every stream of that session held by the process. Short polling, not PostgreSQL
LISTEN/NOTIFY: the version is written in the change's own transaction, so any number of server
processes, on SQLite or PostgreSQL, see it without a broker or a connection held open per
process; the cost is one small read per session and process ten times a second, whatever the
number of screens, and a screen learns of a change at most a tenth of a second late.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import suppress
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from followthrough.db import Database
from followthrough.errors import InvalidInput, NotFound, ServiceBusy
from followthrough.fields import Id, Offset, form_id, form_whole
from followthrough.learning import service as learning
from followthrough.practice.roleplay import live_service, service
from followthrough.practice.roleplay.live_models import LiveSession
from followthrough.practice.roleplay.live_rules import MarkKind, Role
from followthrough.practice.roleplay.rubric import BEHAVIOURS, Block
from followthrough.practice.roleplay.scenario import shipped_scenarios
from followthrough.practice.roleplay.web import ShippedScorer
from followthrough.web.deps import UnitOfWorkRoute, admission
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage, templates

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
log = logging.getLogger(__name__)

BASE = "/practice/role-plays/live"
POLL_SECONDS = 0.1
STREAM_SECONDS = 120.0
BLOCKS = {
    Block.UNDERSTAND: "Understand",
    Block.OWN: "Own",
    Block.SERVE: "Serve",
    Block.COMMUNICATE: "Communicate",
}
ROLE_NAMES = {
    Role.PARTICIPANT.value: "participant",
    Role.CHARACTER.value: "the character",
    Role.OBSERVER.value: "observer",
}
_codes = random.SystemRandom()


@router.get(BASE)
def live_sessions(page: ReadPage) -> Response:
    return _index(page)


def _index(page: Page, errors: FormErrors | None = None) -> Response:
    return page.render(
        "roleplay/live_index.html",
        status=errors.status if errors else 200,
        errors=errors,
        scenarios=shipped_scenarios(),
        sessions=live_service.sessions_of(page.session, page.viewer.person_id),
        titles={s.name: s.title for s in shipped_scenarios()},
        cohorts=learning.cohort_choices(page.session) if page.viewer.leads else [],
    )


@router.post(BASE)
def open_session(page: ChangePage) -> Response:
    opened: list[int] = []

    def act() -> None:
        live = live_service.open_session(
            page.session, page.viewer.person_id, page.form.get("scenario"), page.now, _codes
        )
        cohort = page.form.get("cohort_id").strip()
        if cohort:
            cohort_id = form_id(cohort)
            if cohort_id is None:
                raise InvalidInput("choose a cohort from the list", field="cohort_id")
            learning.hold_for_cohort(
                page.session,
                live.id,
                cohort_id,
                page.viewer.person_id,
                page.viewer.leads,
                page.now,
            )
        opened.append(live.id)

    errors = page.attempt("open", act)
    if errors:
        return _index(page, errors)
    return page.redirect(f"{BASE}/{opened[0]}")


@router.post(f"{BASE}/join")
def join(page: ChangePage, model: ShippedScorer) -> Response:
    joined: list[int] = []

    def act() -> None:
        live = live_service.join(
            page.session,
            page.viewer.person_id,
            page.form.get("code"),
            page.form.get("group"),
            page.form.get("role"),
            model,
            page.now,
        )
        joined.append(live.id)

    errors = page.attempt("join", act)
    if errors:
        return _index(page, errors)
    return page.redirect(f"{BASE}/{joined[0]}")


def _context(page: Page, live: LiveSession) -> dict[str, Any]:
    member = live_service.member_of(page.session, live, page.viewer.person_id)
    groups = live_service.board(
        page.session, live, only_group=member.group_number if member else None
    )
    mine = groups[0] if member and groups else None
    attempt = mine.attempt if mine else None
    scenario = (
        live_service.played(attempt) if attempt else service.scenario_named(live.scenario_name)
    )
    return {
        "live": live,
        "member": member,
        "scenario": scenario,
        "groups": groups,
        "group": mine,
        "step": scenario.node(attempt.node) if attempt else None,
        "attempt": attempt,
        "blocks": BLOCKS,
        "behaviours": BEHAVIOURS,
        "role_names": ROLE_NAMES,
        "turns": attempt.turns_taken if attempt else 0,
        "facilitating": live.facilitator_id == page.viewer.person_id,
        "held_for": learning.cohort_of_live_session(page.session, live.id),
    }


def _session_page(page: Page, live_id: int, errors: FormErrors | None = None) -> Response:
    live = live_service.visible_session(page.session, page.viewer.person_id, live_id)
    return page.render(
        "roleplay/live_session.html",
        status=errors.status if errors else 200,
        errors=errors,
        **_context(page, live),
    )


@router.get(BASE + "/{live_id}")
def session_page(live_id: Id, page: ReadPage) -> Response:
    return _session_page(page, live_id)


@router.get(BASE + "/{live_id}/board")
def board(live_id: Id, page: ReadPage) -> Response:
    """The part of the session page that changes: transcript and scores, for the live script."""
    live = live_service.visible_session(page.session, page.viewer.person_id, live_id)
    # Only the fragment, without the page's header counts: every screen fetches it on every
    # change, so it costs the board's reads and nothing else.
    return templates.TemplateResponse(
        page.request,
        "roleplay/_live_board.html",
        {"viewer": page.viewer, **_context(page, live)},
        headers={"Cache-Control": "no-store"},
    )


def _version(database: Database, live_id: int) -> int | None:
    with database.unit_of_work(readonly=True) as session:
        return live_service.current_version(session, live_id)


class _Watcher:
    """One reader of a session's version per process, shared by all its streams there."""

    def __init__(self) -> None:
        self.version: int | None = -1
        # Set when the version moves on, then replaced by a fresh one. A stream takes the event
        # together with the version it has seen (nothing awaits in between), so a change can
        # never fall between its check and its wait. (An asyncio.Condition here lost wake-ups
        # and, cancelled by wait_for's timeout on Python 3.11, released a lock it no longer held.)
        self.moved = asyncio.Event()
        self.streams = 0
        self.task: asyncio.Task[None] | None = None

    async def poll(self, request: Request, live_id: int) -> None:
        database: Database = request.app.state.database
        while self.streams > 0:
            try:
                version = await admission(request).run(
                    partial(_version, database, live_id), write=False
                )
            except ServiceBusy:
                version = self.version
            except Exception:
                # A failed read (the database restarting, say) must not end every screen's
                # updates: logged, and tried again at the next poll.
                log.exception("reading live role-play session %s's version failed", live_id)
                version = self.version
            if version != self.version:
                self.version = version
                moved, self.moved = self.moved, asyncio.Event()
                moved.set()
            if version is None:
                return
            await asyncio.sleep(POLL_SECONDS)


_watchers: dict[int, _Watcher] = {}


@router.get(BASE + "/{live_id}/live")
def live(live_id: Id, request: Request, page: ReadPage, after: Offset = 0) -> StreamingResponse:
    """Server-sent events: 'change' with the session's version whenever it moves on from the
    version the page was drawn at (`after`, or the stream's Last-Event-ID when it reconnects),
    so a change between drawing the page and opening the stream is not missed."""
    live_service.visible_session(page.session, page.viewer.person_id, live_id)
    start = form_id(request.headers.get("last-event-id", "")) or after

    async def stream() -> AsyncIterator[str]:
        watcher = _watchers.setdefault(live_id, _Watcher())
        watcher.streams += 1
        if watcher.task is None or watcher.task.done():
            watcher.task = asyncio.create_task(watcher.poll(request, live_id))
        try:
            last = start
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STREAM_SECONDS
            yield f"retry: 1000\nid: {last}\nevent: hello\ndata: {last}\n\n"
            while loop.time() < deadline:
                version, moved = watcher.version, watcher.moved
                if version is None:
                    yield "event: gone\ndata: \n\n"
                    return
                if version not in (-1, last):
                    last = version
                    yield f"id: {last}\nevent: change\ndata: {last}\n\n"
                    continue
                # Wakes on a change, or after a while to notice a closed connection.
                with suppress(TimeoutError):
                    await asyncio.wait_for(moved.wait(), 5)
                if await request.is_disconnected():
                    return
        finally:
            watcher.streams -= 1
            if watcher.streams == 0:
                _watchers.pop(live_id, None)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _whole(value: str, name: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    number = form_whole(text)
    if number is None or number > 9999:
        raise InvalidInput("must be a whole number", field=name)
    return number


@router.post(BASE + "/{live_id}/turns")
def take_turn(live_id: Id, page: ChangePage, model: ShippedScorer) -> Response:

    def act() -> None:
        live = live_service.visible_session(page.session, page.viewer.person_id, live_id)
        live_service.take_turn(
            page.session,
            live,
            page.viewer.person_id,
            _whole(page.form.get("choice"), "choice"),
            page.form.get("text"),
            _whole(page.form.get("turn"), "turn"),
            model,
            page.now,
        )

    errors = page.attempt("reply", act)
    if errors:
        return _session_page(page, live_id, errors)
    return page.redirect(f"{BASE}/{live_id}#latest")


@router.post(BASE + "/{live_id}/marks")
def add_mark(live_id: Id, page: ChangePage) -> Response:
    kind = page.form.get("kind")

    def act() -> None:
        live = live_service.visible_session(page.session, page.viewer.person_id, live_id)
        turn = _whole(page.form.get("turn"), "turn") or 0
        text = page.form.get("text")
        heard = page.form.getlist("heard") if kind == MarkKind.SCORE.value else []
        live_service.mark(
            page.session, live, page.viewer.person_id, kind, turn, heard, text, page.now
        )

    errors = page.attempt("mark", act)
    if errors:
        return _session_page(page, live_id, errors)
    said = {"score": "Score saved.", "note": "Note saved.", "line": "Line said."}
    return page.redirect(f"{BASE}/{live_id}", said.get(kind, ""))


@router.post(BASE + "/{live_id}/close")
def close(live_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        live = live_service.visible_session(page.session, page.viewer.person_id, live_id)
        live_service.close(page.session, live, page.viewer.person_id, page.now)

    errors = page.attempt("close", act)
    if errors:
        return _session_page(page, live_id, errors)
    return page.redirect(f"{BASE}/{live_id}/debrief", "The session has ended.")


@router.get(BASE + "/{live_id}/debrief")
def debrief(live_id: Id, page: ReadPage) -> Response:
    """Per group: each round with the three scores; for the cohort: the means and agreement.
    A member sees their own group and the cohort figures; the facilitator every group."""
    live = live_service.visible_session(page.session, page.viewer.person_id, live_id)
    context = _context(page, live)
    everyone = live_service.board(page.session, live)
    if not everyone and live.facilitator_id != page.viewer.person_id:
        raise NotFound("There is no such live session.")
    return page.render(
        "roleplay/live_debrief.html",
        cohort=live_service.cohort_debrief(everyone),
        **context,
    )
