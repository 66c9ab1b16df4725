"""Game pages: the facilitator's console and debrief, and the teams' join and decision pages.

Facilitators are signed-in people (anyone may run a session) and use the app's web session
and CSRF token. Players need no account: a team's join code gives its browsers the team's
secret as a cookie (`ft_team`), and every team form carries the team's own CSRF token.
Routes only translate HTTP into `practice.service` calls; the unit of work commits.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from followthrough.auth.rules import AttemptKind, wait_in_words
from followthrough.auth.service import check_join_code_allowed, record_failed_attempt
from followthrough.errors import DomainError, NotAllowed, ServiceBusy, TooManyAttempts
from followthrough.fields import Id, Offset, form_number, same_secret
from followthrough.practice import debrief, service
from followthrough.practice.charts import Chart, chart_named, png, svg
from followthrough.practice.fitted import cache
from followthrough.practice.fitted.fit import modelled_teams
from followthrough.practice.fitted.history import History, read_history
from followthrough.practice.fitted.toml_file import scenario_toml
from followthrough.practice.game.decisions import (
    Decisions,
    InvalidDecisions,
    Policies,
    Prices,
    Targets,
    Theme,
    decision_field_problems,
    round_cost,
)
from followthrough.practice.game.effects import Effects, PublishedCorrelations
from followthrough.practice.models import GameSession, GameTeam
from followthrough.practice.sim.scenario import SHIPPED, Scenario, load_scenario
from followthrough.programmes.effect import teams_joined
from followthrough.web.deps import DbSession, Now, UnitOfWorkRoute, run_in_unit_of_work
from followthrough.web.pages import (
    CHECK_FIELDS,
    CSRF_FIELD,
    FLASH_COOKIE,
    ChangePage,
    FieldProblem,
    FormErrors,
    FormFields,
    Page,
    PageForm,
    ReadPage,
    change_page_in,
    read_form,
    templates,
)
from followthrough.web.security import client_address, cookies_secure

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
log = logging.getLogger(__name__)

TEAM_COOKIE = "ft_team"
JOIN_COOKIE = "ft_join"
TEAM_COOKIE_DAYS = 7

templates.env.globals.update(chart_svg=svg)


# ---- facilitator ------------------------------------------------------------------------------


@router.get("/practice")
def games_page(page: ReadPage) -> Response:
    games = service.games_of(page.session, page.viewer.person_id)
    return page.render("practice/index.html", games=games)


@dataclass(frozen=True)
class _Choice:
    name: str


# Leads and admins may also play their own company, fitted from the desk's history: it shows
# every team's figures, which the what-if page shows them too.
FITTED_CHOICE = _Choice(f"Your own company (fitted from the last {cache.HISTORY_DAYS} days)")


def _fitted_history(page: Page) -> History | None:
    """The history the fitted company is fitted on, for a lead or admin; None for others."""
    if not page.viewer.leads:
        return None
    since, until = cache.window(page.now)
    return read_history(page.session, since, until, teams_joined(page.session))


def _new_form(page: Page, errors: FormErrors | None = None) -> Response:
    scenarios: dict[str, Any] = {name: load_scenario(name) for name in SHIPPED}
    if page.viewer.leads:
        scenarios[service.FITTED] = FITTED_CHOICE
    return page.render(
        "practice/new.html",
        status=errors.status if errors else 200,
        errors=errors,
        scenarios=scenarios,
        defaults=service.GameSetup(title="", scenario="insurance", team_names=()),
        values=page.form if errors else None,
    )


@router.get("/practice/new")
def new_game_page(page: ReadPage) -> Response:
    history = _fitted_history(page)
    if history is not None and modelled_teams(history):
        # Fitting takes seconds: begun now, in the background, it is ready or nearly by the
        # time the facilitator has filled in the form.
        cache.start_fitting(history)
    return _new_form(page)


def _number(form: FormFields, name: str, default: float, fields: dict[str, str]) -> float:
    raw = form.get(name).strip().replace(",", "")
    if not raw:
        return default
    number = form_number(raw)
    if number is None:
        # Said after the field's label (web.pages.FieldProblem): "“Rounds” must be a number."
        fields[name] = "must be a number"
        return default
    return number


def _whole(form: FormFields, name: str, default: int, fields: dict[str, str]) -> int:
    number = _number(form, name, default, fields)
    if number != int(number):
        fields.setdefault(name, "must be a whole number")
    return int(number)


@router.post("/practice/new")
async def create_game(request: Request) -> Response:
    """Three steps when the company is the fitted one: read its history (a short read-only unit
    of work), fit it off the database (kept per version, usually begun by the form's page), then
    create the session in a write unit of work holding the fitted scenario file."""
    form = await read_form(request)
    fitted_toml = None
    if form.get("scenario") == service.FITTED:

        def read(session: Session, now: datetime) -> History | None:
            return _fitted_history(change_page_in(request, session, now, form))

        history = await run_in_unit_of_work(request, read, write=False)
        if history is not None and modelled_teams(history):
            fitted = await run_in_threadpool(cache.fitted_company, history)
            fitted_toml = scenario_toml(fitted.scenario)

    def create(session: Session, now: datetime) -> Response:
        return _create_game(change_page_in(request, session, now, form), fitted_toml)

    return await run_in_unit_of_work(request, create, write=True)


def _create_game(page: Page, fitted_toml: str | None) -> Response:
    form = page.form
    fields: dict[str, str] = {}
    setup = service.GameSetup(
        title=form.get("title"),
        scenario=form.get("scenario"),
        team_names=[line.strip() for line in form.get("teams").splitlines() if line.strip()],
        rounds=_whole(form, "rounds", 4, fields),
        days_per_round=_whole(form, "days_per_round", service.DAYS_PER_ROUND, fields),
        budget_per_round=_number(form, "budget_per_round", 100_000, fields),
        replications=_whole(form, "replications", service.REPLICATIONS, fields),
        fitted_toml=fitted_toml,
    )
    problems = {
        **{
            name: FieldProblem(text, about_field=False)
            for name, text in service.setup_problems(setup).items()
        },
        **{name: FieldProblem(text) for name, text in fields.items()},
    }
    if problems:
        return _new_form(page, FormErrors("new", message=CHECK_FIELDS, problems=problems))
    game = service.create_game(page.session, page.viewer.person_id, setup, page.now)
    return page.redirect(f"/practice/{game.id}", "Session created. Give each team its join code.")


def _game(page: Page, game_id: int, *, for_update: bool = False) -> GameSession:
    return service.facilitated_game(
        page.session, game_id, page.viewer.person_id, for_update=for_update
    )


def _console(page: Page, game: GameSession, errors: FormErrors | None = None) -> Response:
    board = service.board(page.session, game)
    return page.render(
        "practice/console.html",
        status=errors.status if errors else 200,
        errors=errors,
        board=board,
        game=game,
        areas=debrief.AREAS,
        score=debrief.SCORE,
        charts=debrief.board_charts(board)[:4] if game.rounds_played else [],
        d=debrief,
        currency=board.scenario.currency,
        join_url=str(page.request.base_url).rstrip("/") + "/play",
        playing=service.round_playing(game, page.now),
    )


@router.get("/practice/{game_id}")
def console_page(game_id: Id, page: ReadPage) -> Response:
    return _console(page, _game(page, game_id))


@router.get("/practice/{game_id}/status")
def console_status(game_id: Id, page: ReadPage, playing: Offset = 0) -> Response:
    """The teams' join and decision status, polled by the console; while the console shows
    round `playing` being played, the console is loaded again once it no longer is."""
    game = _game(page, game_id)
    if playing and service.round_playing(game, page.now) != playing:
        done = game.rounds_played >= playing
        return page.load_page(
            f"/practice/{game_id}", f"Round {playing} has been played." if done else ""
        )
    return page.render(
        "practice/_status.html",
        board=service.board(page.session, game),
        game=game,
        playing=service.round_playing(game, page.now),
    )


@router.post("/practice/{game_id}/rounds")
async def run_round(game_id: Id, request: Request) -> Response:
    """Start the next round and answer at once; it is simulated in the background (seconds, or
    minutes for a year of ten replications on your own company) with no transaction open, and
    stored if nothing it was read from changed meanwhile. The console shows it being played
    and reloads when it is done (`console_status`)."""
    form = await read_form(request)
    fill = form.get("fill_missing") == "on"

    def start(session: Session, now: datetime) -> _Started | Response:
        page = change_page_in(request, session, now, form)
        planned: list[service.RoundPlan] = []
        errors = page.attempt(
            "round",
            lambda: planned.append(
                service.start_round(session, game_id, page.viewer.person_id, now, fill_missing=fill)
            ),
            rename={"round": ""},
        )
        if errors:
            return _console(page, _game(page, game_id), errors)
        answer = page.redirect(
            f"/practice/{game_id}",
            f"Round {planned[0].number} is being played; the board shows it when it is done.",
        )
        return _Started(planned[0], page.viewer.person_id, answer)

    started = await run_in_unit_of_work(request, start, write=True)
    if not isinstance(started, _Started):
        return started
    # Only once the start is committed: the background run records against it.
    _in_background(_play_and_record(request, started.plan, started.person_id))
    return started.answer


@dataclass(frozen=True)
class _Started:
    plan: service.RoundPlan
    person_id: int
    answer: Response


# Rounds being played in the background, held so they are not collected while they run; and
# at most two simulated at once per process, so a burst of sessions cannot take every core.
_playing: set[asyncio.Task[None]] = set()
_simulations = ThreadPoolExecutor(max_workers=2, thread_name_prefix="game-round")
RECORD_ATTEMPTS = 3


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(work)
    _playing.add(task)
    task.add_done_callback(_playing.discard)


async def _play_and_record(request: Request, plan: service.RoundPlan, person_id: int) -> None:
    """Simulate a started round off every transaction, then store it (or say why not)."""

    def not_stored(reason: str) -> Callable[[Session, datetime], None]:
        return lambda session, now: service.round_not_stored(
            session, plan.game_id, plan.number, reason
        )

    def record(session: Session, now: datetime) -> None:
        service.record_round(session, plan, played, person_id, now)

    outcome = not_stored("it could not be played or stored; run it again")
    try:
        loop = asyncio.get_running_loop()
        played = await loop.run_in_executor(_simulations, service.play_planned, plan)
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                await run_in_unit_of_work(request, record, write=True)
                return
            except ServiceBusy:
                if attempt == RECORD_ATTEMPTS:
                    outcome = not_stored("the desk was too busy to store it; run it again")
    except DomainError as refused:  # Conflict: played meanwhile, or its decisions changed
        outcome = not_stored(refused.detail)
    except Exception:
        log.exception("round %s of game %s could not be played", plan.number, plan.game_id)
    try:
        await run_in_unit_of_work(request, outcome, write=True)
    except Exception:  # the console gives the round up after ROUND_GIVEN_UP_AFTER
        log.exception("round %s of game %s: the refusal was not stored", plan.number, plan.game_id)


CORRELATIONS = (
    (
        "turnover_per_10_points_purpose",
        "Staff turnover per +10 points of connection to purpose",
        "Gallup's meta-analysis of engagement and business outcomes, as its figures are "
        "usually quoted: "
        "+10% connection to purpose, -8.1% turnover. The engine applies it to each "
        "department's yearly leaving rate, compounding.",
    ),
    (
        "profitability_per_10_points_purpose",
        "Profitability per +10 points of connection to purpose",
        "Same source: +4.4% profitability. Shown beside the simulated profit, not added to it.",
    ),
    (
        "revenue_per_10_points_satisfaction",
        "Revenue per +10 points of customer satisfaction",
        "McKinsey's customer-experience research, as its figures are usually quoted: "
        "+2-7% revenue; "
        "the default is the middle, 4.5%. Shown, not added to profit.",
    ),
    (
        "profitability_per_10_points_satisfaction",
        "Profitability per +10 points of customer satisfaction",
        "Same source: +1-2% profitability; the default is the middle, 1.5%.",
    ),
)


def _assumptions(page: Page, game: GameSession, errors: FormErrors | None = None) -> Response:
    current = service.correlations_of(game)
    defaults = PublishedCorrelations()
    effects = Effects()
    return page.render(
        "practice/assumptions.html",
        status=errors.status if errors else 200,
        errors=errors,
        game=game,
        rows=[
            (name, label, source, getattr(defaults, name), getattr(current, name))
            for name, label, source in CORRELATIONS
        ],
        values=page.form if errors else None,
        effects=effects,
        themes=debrief.THEME_LABELS,
        behaviour=service.game_scenario(game).behaviour,
        prices=Prices(),
    )


@router.get("/practice/{game_id}/assumptions")
def assumptions_page(game_id: Id, page: ReadPage) -> Response:
    return _assumptions(page, _game(page, game_id))


@router.post("/practice/{game_id}/assumptions")
def change_assumptions(game_id: Id, page: ChangePage) -> Response:
    game = _game(page, game_id)
    fields: dict[str, str] = {}
    if page.form.get("reset") == "1":
        correlations = PublishedCorrelations()
    else:
        # Entered as percentages (-8.1), stored as shares (-0.081).
        correlations = PublishedCorrelations(
            **{
                name: _number(page.form, name, getattr(PublishedCorrelations(), name) * 100, fields)
                / 100
                for name, _label, _source in CORRELATIONS
            }
        )
    if fields:
        return _assumptions(
            page,
            game,
            FormErrors(
                "assumptions",
                message="Please check the figures.",
                problems={name: FieldProblem(text) for name, text in fields.items()},
            ),
        )
    errors = page.attempt(
        "assumptions",
        lambda: service.set_correlations(
            page.session, game_id, page.viewer.person_id, correlations, page.now
        ),
    )
    if errors:
        return _assumptions(page, _game(page, game_id), errors)
    return page.redirect(
        f"/practice/{game_id}/assumptions", "The published correlations for this session are saved."
    )


def _debrief_context(session: Session, game: GameSession) -> dict[str, Any]:
    board = service.board(session, game)
    currency = board.scenario.currency
    return {
        "board": board,
        "game": game,
        "charts": debrief.board_charts(board) if game.rounds_played else [],
        "areas": debrief.AREAS,
        "score": debrief.SCORE,
        "d": debrief,
        "currency": currency,
        "prices": Prices(),
        "correlations": [
            (label, getattr(service.correlations_of(game), name))
            for name, label, _source in CORRELATIONS
        ],
    }


@router.get("/practice/{game_id}/debrief")
def debrief_page(game_id: Id, page: ReadPage) -> Response:
    game = _game(page, game_id)
    return page.render("practice/debrief.html", **_debrief_context(page.session, game))


@router.get("/practice/{game_id}/report.html")
def report(game_id: Id, page: ReadPage) -> Response:
    """The debrief as one self-contained HTML file: inline CSS and SVG, no scripts, printable."""
    game = _game(page, game_id)
    response = templates.TemplateResponse(
        page.request,
        "practice/report.html",
        # The viewer only for their clock: the report's one time is shown in their zone.
        {
            **_debrief_context(page.session, game),
            "now": page.now,
            "report": True,
            "viewer": page.viewer,
        },
    )
    response.headers["content-disposition"] = (
        f'attachment; filename="followthrough-game-{game.id}-report.html"'
    )
    return response


@router.get("/practice/{game_id}/charts/{slug}.png")
def chart_png(game_id: Id, slug: str, page: ReadPage) -> Response:
    game = _game(page, game_id)
    chart: Chart = chart_named(debrief.board_charts(service.board(page.session, game)), slug)
    return Response(
        png(chart),
        media_type="image/png",
        headers={"content-disposition": f'attachment; filename="game-{game.id}-{slug}.png"'},
    )


# ---- teams ------------------------------------------------------------------------------------


def _flash(request: Request) -> str:
    return unquote(request.cookies.get(FLASH_COOKIE, ""))[:300]


def _render_anonymous(
    request: Request, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    flash = _flash(request)
    response = templates.TemplateResponse(
        request,
        template,
        {"viewer": None, "nav": None, "flash": flash, **context},
        status_code=status,
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE)
    return response


def _redirect(url: str, flash: str = "") -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash), max_age=60, httponly=True, samesite="lax")
    return response


def _join_page(request: Request, code: str = "", errors: FormErrors | None = None) -> HTMLResponse:
    token = request.cookies.get(JOIN_COOKIE) or secrets.token_urlsafe(24)
    response = _render_anonymous(
        request,
        "practice/join.html",
        status=errors.status if errors else 200,
        errors=errors,
        code=code,
        join_token=token,
    )
    response.set_cookie(
        JOIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=cookies_secure(request),
        max_age=3600,
    )
    return response


@router.get("/play")
def join_page(request: Request, code: str = "") -> Response:
    return _join_page(request, code)


@router.post("/play")
def join(request: Request, form: PageForm, session: DbSession, now: Now) -> Response:
    # Before joining there is no team, so the form uses a double-submit token.
    expected = request.cookies.get(JOIN_COOKIE, "")
    sent = form.get("join_token")
    if not expected or not same_secret(sent, expected):
        return _join_page(
            request,
            form.get("code"),
            FormErrors(
                "join", message="The form expired. Please enter the code again.", status=403
            ),
        )
    address = client_address(request)
    try:
        check_join_code_allowed(session, address, now)
    except TooManyAttempts as refused:
        wait = wait_in_words(refused.retry_after)
        page = _join_page(
            request,
            form.get("code"),
            FormErrors(
                "join",
                message=f"Too many wrong codes from this computer. Wait {wait}, then check the "
                "code with your facilitator before trying again.",
                status=429,
            ),
        )
        page.headers["Retry-After"] = str(refused.retry_after)
        return page
    try:
        team = service.join_team(session, form.get("code"), now)
    except DomainError as error:
        guess = form.get("code").strip().upper()
        if guess:
            # Counted, and committed with the answer: the unit of work ends normally.
            record_failed_attempt(session, AttemptKind.JOIN_CODE, guess, address, now)
        return _join_page(
            request,
            form.get("code"),
            FormErrors("join", fields={"code": error.detail[:1].upper() + error.detail[1:] + "."}),
        )
    response = _redirect("/play/team", f"Welcome, team {team.name}.")
    response.set_cookie(
        TEAM_COOKIE,
        team.secret,
        httponly=True,
        samesite="lax",
        secure=cookies_secure(request),
        max_age=TEAM_COOKIE_DAYS * 86400,
    )
    response.delete_cookie(JOIN_COOKIE)
    return response


def _team(request: Request, session: Session) -> GameTeam | None:
    secret = request.cookies.get(TEAM_COOKIE, "")
    try:
        return service.team_for_secret(session, secret)
    except DomainError:
        return None


def _checked_team(request: Request, session: Session, form: FormFields) -> GameTeam | None:
    team = _team(request, session)
    if team is None:
        return None
    if not same_secret(form.get(CSRF_FIELD), team.csrf_token):
        raise NotAllowed(
            "this form has expired or did not come from your team's page; reload and try again",
            field=CSRF_FIELD,
        )
    return team


@dataclass(frozen=True)
class DecisionForm:
    """The decision form's fields as text, so a refused entry comes back as it was typed."""

    values: dict[str, str]

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str) -> bool:
        return self.values.get(name) == "on"


def form_from_decisions(decisions: Decisions, scenario: Scenario) -> DecisionForm:
    values = {
        f"training.{theme.value}": f"{decisions.training.get(theme, 0):.0f}" for theme in Theme
    }
    values["lunch_and_learn_sessions"] = str(decisions.lunch_and_learn_sessions)
    values["recognition"] = f"{decisions.recognition:.0f}"
    for department in scenario.departments:
        values[f"staffing.{department.id}"] = str(
            decisions.staffing.get(department.id, department.staff)
        )
    policies = decisions.policies
    for name, on in (
        ("buddy_system", decisions.buddy_system),
        ("job_shadowing", decisions.job_shadowing),
        ("policies.handoffs_must_be_accepted", policies.handoffs_must_be_accepted),
        ("policies.promise_discipline", policies.promise_discipline),
    ):
        if on:
            values[name] = "on"
    cadence = policies.update_every_hours
    values["policies.update_every_hours"] = "" if cadence is None else f"{cadence:g}"
    values["policies.targets"] = policies.targets.value
    return DecisionForm(values)


def decisions_from_form(form: FormFields, scenario: Scenario) -> tuple[Decisions, dict[str, str]]:
    """Decisions from the team's form, and a message for every field that is not a number."""
    fields: dict[str, str] = {}
    training = {
        theme: _number(form, f"training.{theme.value}", 0.0, fields)
        for theme in Theme
        if form.get(f"training.{theme.value}").strip()
    }
    staffing = {
        d.id: _whole(form, f"staffing.{d.id}", d.staff, fields) for d in scenario.departments
    }
    cadence_text = form.get("policies.update_every_hours").strip()
    cadence = _number(form, "policies.update_every_hours", 0, fields) if cadence_text else None
    targets = form.get("policies.targets") or Targets.QUANTITATIVE.value
    if targets not in {t.value for t in Targets}:
        fields["policies.targets"] = "must be one of the choices given"
        targets = Targets.QUANTITATIVE.value
    decisions = Decisions(
        training=training,
        buddy_system=form.get("buddy_system") == "on",
        job_shadowing=form.get("job_shadowing") == "on",
        lunch_and_learn_sessions=_whole(form, "lunch_and_learn_sessions", 0, fields),
        recognition=_number(form, "recognition", 0.0, fields),
        staffing=staffing,
        policies=Policies(
            handoffs_must_be_accepted=form.get("policies.handoffs_must_be_accepted") == "on",
            update_every_hours=cadence,
            promise_discipline=form.get("policies.promise_discipline") == "on",
            targets=Targets(targets),
        ),
    )
    return decisions, fields


def _team_page(
    request: Request,
    session: Session,
    team: GameTeam,
    entered: DecisionForm | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    game = session.get(GameSession, team.game_id)
    assert game is not None  # a team row always has its session (foreign key)
    board = service.board(session, game)
    me = board.team(team.id)
    scenario = board.scenario
    prices = Prices()
    if entered is None:
        start = me.decisions or (me.rounds[-1].decisions if me.rounds else Decisions())
        entered = form_from_decisions(start, scenario)
    return _render_anonymous(
        request,
        "practice/team.html",
        status=errors.status if errors else 200,
        errors=errors,
        csrf_token=team.csrf_token,
        team=team,
        me=me,
        game=game,
        board=board,
        scenario=scenario,
        entered=entered,
        prices=prices,
        themes=debrief.THEME_LABELS,
        areas=debrief.AREAS,
        score=debrief.SCORE,
        d=debrief,
        currency=scenario.currency,
        charts=debrief.team_charts(me, scenario.currency) if me.rounds else [],
        budget=_budget(board, entered, scenario),
        playing=service.round_playing(game, request.app.state.clock()),
    )


@dataclass(frozen=True)
class Budget:
    """The live budget line under the decision form."""

    spent: float
    budget: float
    problems: tuple[str, ...]

    @property
    def left(self) -> float:
        return self.budget - self.spent


def _budget(board: service.Board, entered: DecisionForm, scenario: Scenario) -> Budget:
    decisions, _fields = decisions_from_form(FormFields(list(entered.values.items())), scenario)
    prices = Prices()
    problems = decision_field_problems(decisions, scenario, board.game.budget_per_round, prices)
    return Budget(
        spent=round_cost(decisions, prices),
        budget=board.game.budget_per_round,
        problems=tuple(p.message for p in problems),
    )


@router.get("/play/team")
def team_page(request: Request, session: DbSession) -> Response:
    team = _team(request, session)
    if team is None:
        return _redirect("/play")
    return _team_page(request, session, team)


@router.get("/play/team/budget")
def team_budget(request: Request, session: DbSession, form: PageForm) -> Response:
    """The budget line for the decisions as typed so far (read only; htmx asks on each input)."""
    team = _team(request, session)
    if team is None:
        return _redirect("/play")
    game = session.get(GameSession, team.game_id)
    assert game is not None
    board = service.board(session, game)
    entered = DecisionForm(form.as_dict())
    return _render_anonymous(
        request,
        "practice/_budget.html",
        budget=_budget(board, entered, board.scenario),
        currency=board.scenario.currency,
    )


@router.get("/play/team/status")
def team_status(request: Request, session: DbSession, played: Offset = 0) -> Response:
    """Nothing while the round is unchanged; asks the page to reload once results are in."""
    team = _team(request, session)
    if team is None:
        return Response(status_code=204)
    game = session.get(GameSession, team.game_id)
    if game is None or game.rounds_played == played:
        return Response(status_code=204)
    return Response(status_code=200, headers={"HX-Refresh": "true"})


@router.post("/play/team/decisions")
def save_decisions(request: Request, session: DbSession, form: PageForm, now: Now) -> Response:
    team = _checked_team(request, session, form)
    if team is None:
        return _redirect("/play")
    game = session.get(GameSession, team.game_id)
    assert game is not None
    scenario = service.game_scenario(game)
    decisions, fields = decisions_from_form(form, scenario)
    entered = DecisionForm(
        {key: value for key, value in form.as_dict().items() if key != CSRF_FIELD}
    )
    if fields:
        errors = FormErrors(
            "decide",
            message=CHECK_FIELDS,
            problems={name: FieldProblem(text) for name, text in fields.items()},
        )
        return _team_page(request, session, team, entered, errors)
    try:
        service.record_decisions(session, team.id, decisions, now)
    except InvalidDecisions as refused:
        session.rollback()
        errors = FormErrors(
            "decide",
            fields={p.field: p.message[:1].upper() + p.message[1:] + "." for p in refused.problems},
            message="These decisions cannot be played yet; see the highlighted fields.",
        )
        return _team_page(request, session, team, entered, errors)
    except DomainError as refused:
        session.rollback()
        errors = FormErrors("decide", message=refused.detail[:1].upper() + refused.detail[1:] + ".")
        return _team_page(request, session, team, entered, errors)
    # The team page says the decisions are saved for as long as they are the latest.
    return _redirect("/play/team")
