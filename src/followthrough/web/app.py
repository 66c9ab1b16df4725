"""The application factory: API routers, web pages, static assets, problem handlers, the sweeper."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from urllib.parse import quote

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from followthrough import __version__
from followthrough.attachments.api import router as attachments_router
from followthrough.attachments.web import router as attachment_pages
from followthrough.auth.api import router as auth_router
from followthrough.auth.reset_web import router as password_reset_pages
from followthrough.auth.web import router as auth_pages
from followthrough.cases.api import router as cases_router
from followthrough.cases.web import router as case_pages
from followthrough.chat.web import api as chat_admin_api
from followthrough.chat.web import router as chat_pages
from followthrough.config import Settings
from followthrough.db import Database, utcnow
from followthrough.feedback.api import router as feedback_router
from followthrough.insight.api import router as insight_router
from followthrough.insight.routing_api import router as routing_router
from followthrough.insight.web import router as insight_pages
from followthrough.learning.api import router as learning_router
from followthrough.learning.web import router as learning_pages
from followthrough.links.web import router as action_link_pages
from followthrough.mail.admin_web import api as mail_admin_api
from followthrough.mail.admin_web import pages as mail_admin_pages
from followthrough.mail.api import router as mail_choices_router
from followthrough.mail.web import router as mail_pages
from followthrough.notes.api import router as notes_router
from followthrough.notes.web import router as note_pages
from followthrough.notify.api import router as inbox_router
from followthrough.notify.web import router as home_pages
from followthrough.org.api import router as org_router
from followthrough.org.profile_web import router as profile_pages
from followthrough.org.web import router as admin_pages
from followthrough.practice.fitted_web import router as what_if_pages
from followthrough.practice.roleplay.api import router as roleplay_router
from followthrough.practice.roleplay.live_api import router as live_roleplay_router
from followthrough.practice.roleplay.live_web import router as live_roleplay_pages
from followthrough.practice.roleplay.web import router as roleplay_pages
from followthrough.practice.roleplay.xapi_api import router as learning_records_router
from followthrough.practice.web import router as game_pages
from followthrough.programmes.effect_web import router as buddy_effect_pages
from followthrough.programmes.lunch_web import router as lunch_pages
from followthrough.programmes.messages_web import router as leader_message_pages
from followthrough.programmes.shadowing_web import router as shadowing_pages
from followthrough.programmes.web import router as buddy_pages
from followthrough.promises.api import router as promises_router
from followthrough.requests.api import router as requests_router
from followthrough.requests.team_web import router as team_pages
from followthrough.requests.web import router as request_pages
from followthrough.search.api import router as search_router
from followthrough.search.web import router as search_pages
from followthrough.sweeper.service import PERIODIC_JOBS, PeriodicJob, jobs_for, sweep
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.openapi import install_api_reference, install_openapi
from followthrough.web.pages import STATIC, SignInRequired, error_page
from followthrough.web.problems import install_problem_handlers
from followthrough.web.security import install_security
from followthrough.webhooks.api import router as webhooks_router
from followthrough.webhooks.web import router as webhook_pages

log = logging.getLogger("followthrough.sweeper")


class SweeperThread(threading.Thread):
    """Runs the sweeper every few seconds inside the server process (the embedded default)."""

    def __init__(
        self,
        database: Database,
        interval: float,
        clock: Callable[[], datetime],
        jobs: Sequence[tuple[str, PeriodicJob]] = PERIODIC_JOBS,
    ) -> None:
        super().__init__(name="followthrough-sweeper", daemon=True)
        self.database = database
        self.interval = interval
        self.clock = clock
        self.jobs = jobs
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                sweep(self.database, self.clock(), jobs=self.jobs)
            except Exception:
                # A failed sweep is retried on the next tick; nothing it did was committed.
                log.exception("sweep failed")


def shifted_clock(start: datetime) -> Callable[[], datetime]:
    """A clock that reads `start` now and then runs forward in real time."""
    offset = start - utcnow()
    return lambda: utcnow() + offset


def create_app(
    settings: Settings,
    database: Database | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    db = database or Database(settings.database_url)
    if clock is None:
        clock = utcnow if settings.clock_start is None else shifted_clock(settings.clock_start)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The settings, database and clock are read from app.state, as every route reads them:
        # bound in one place, whoever serves the app (the tests serve one app many times).
        running: Settings = app.state.settings
        # How many requests this process works on at once is web.deps.Admission's bound; the
        # default pool only serves what runs outside a unit of work (static files), with room
        # to spare so it never holds one up.
        to_thread.current_default_thread_limiter().total_tokens = running.worker_threads + 4
        sweeper = None
        if running.sweeper_in_process:
            sweeper = SweeperThread(
                app.state.database,
                running.sweep_interval_seconds,
                app.state.clock,
                jobs_for(running),
            )
            sweeper.start()
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.stopped.set()
                sweeper.join(timeout=3)
            if database is None:
                app.state.database.dispose()

    app = FastAPI(
        title="Followthrough",
        version=__version__,
        description="Internal service desk API: requests, owners, offers, promises, updates.",
        lifespan=lifespan,
        # FastAPI's own reference pages load Swagger UI and ReDoc from a CDN; ours is local.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.clock = clock
    install_problem_handlers(app)
    install_openapi(app)
    install_api_reference(app)
    install_security(app)

    api = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)

    # A coroutine with no database: it answers from the event loop however busy the workers are.
    @api.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    # Routes are matched in order: the request desk's, called most, come first.
    for router in (
        requests_router,
        promises_router,
        auth_router,
        org_router,
        feedback_router,
        cases_router,
        inbox_router,
        attachments_router,
        notes_router,
        insight_router,
        routing_router,
        search_router,
        mail_choices_router,
        mail_admin_api,
        webhooks_router,
        chat_admin_api,
        roleplay_router,
        live_roleplay_router,
        learning_records_router,
        learning_router,
    ):
        api.include_router(router)
    app.include_router(api)

    # Pages answer errors with HTML pages; the API keeps its problem documents.
    app.state.render_error = error_page
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for pages in (
        auth_pages,
        profile_pages,
        home_pages,
        request_pages,
        attachment_pages,
        note_pages,
        team_pages,
        case_pages,
        admin_pages,
    ):
        app.include_router(pages)
    # Before the game's pages: its /practice/{game_id} would take /practice/role-plays.
    app.include_router(live_roleplay_pages)
    app.include_router(roleplay_pages)
    # Before the game pages: /practice/what-if is not a game's number.
    app.include_router(what_if_pages)
    app.include_router(game_pages)
    app.include_router(insight_pages)
    app.include_router(password_reset_pages)
    app.include_router(mail_pages)
    app.include_router(mail_admin_pages)
    app.include_router(action_link_pages)
    app.include_router(webhook_pages)
    app.include_router(chat_pages)
    app.include_router(search_pages)
    app.include_router(buddy_pages)
    app.include_router(shadowing_pages)
    app.include_router(buddy_effect_pages)
    app.include_router(lunch_pages)
    app.include_router(leader_message_pages)
    app.include_router(learning_pages)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        target = "/sign-in" if exc.next_path == "/" else f"/sign-in?next={quote(exc.next_path)}"
        if request.headers.get("hx-request"):
            # htmx would follow a redirect itself and draw the sign-in page inside the part it
            # asked for; this sends the whole browser there instead.
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    return app
