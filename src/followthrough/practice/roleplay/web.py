"""Role-play pages: choose a scenario, play it alone, and see each reply's scores with its words.

Routes only translate HTTP into `roleplay.service` calls; the unit of work commits.
"""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from followthrough.errors import InvalidInput
from followthrough.fields import Id, form_whole
from followthrough.practice.roleplay import service
from followthrough.practice.roleplay.rubric import BEHAVIOURS, Block
from followthrough.practice.roleplay.scenario import shipped_scenarios
from followthrough.practice.roleplay.scoring import (
    ScoringModel,
    shipped_model,
    shipped_model_loaded,
)
from followthrough.web.deps import UnitOfWorkRoute, in_work
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def shipped_scorer(request: Request) -> ScoringModel:
    """The shipped scorer for an endpoint that scores replies; never called by FastAPI: it is
    loaded by `_load_scorer` before the unit of work opens (`in_work` below)."""
    raise AssertionError("ShippedScorer is provided by UnitOfWorkRoute")


async def _load_scorer(request: Request) -> ScoringModel:
    # The first load in a process takes 1-3 s of CPU: on a worker thread, awaited before the
    # endpoint's unit of work opens, so no transaction or SQLite write turn waits on it.
    if shipped_model_loaded():
        return shipped_model()
    return await to_thread.run_sync(shipped_model)


in_work(shipped_scorer, lambda work: work.prepared[shipped_scorer], prepare=_load_scorer)
ShippedScorer = Annotated[ScoringModel, Depends(shipped_scorer)]

BLOCK_NAMES = {
    Block.UNDERSTAND: "Understand",
    Block.OWN: "Own",
    Block.SERVE: "Serve",
    Block.COMMUNICATE: "Communicate",
}
TITLES = {rule.behaviour.value: rule.title for rule in BEHAVIOURS}
BASE = "/practice/role-plays"


@router.get(BASE)
def role_plays(page: ReadPage) -> Response:
    return page.render(
        "roleplay/index.html",
        scenarios=shipped_scenarios(),
        attempts=service.attempts_of(page.session, page.viewer.person_id),
        titles={s.name: s.title for s in shipped_scenarios()},
    )


@router.post(f"{BASE}/start")
def start(page: ChangePage, model: ShippedScorer) -> Response:
    created: list[int] = []

    def act() -> None:
        scenario = service.scenario_named(page.form.get("scenario"))
        attempt = service.start_attempt(
            page.session, page.viewer.person_id, scenario, model, page.now
        )
        created.append(attempt.id)

    errors = page.attempt("start", act)
    if errors:
        return page.redirect(BASE, errors.message or "Choose one of the role plays.")
    return page.redirect(f"{BASE}/attempts/{created[0]}")


def _attempt_page(page: Page, attempt_id: int, errors: FormErrors | None = None) -> Response:
    attempt = service.attempt_of(page.session, page.viewer.person_id, attempt_id)
    scenario = service.played_scenario(attempt)
    return page.render(
        "roleplay/attempt.html",
        status=errors.status if errors else 200,
        errors=errors,
        attempt=attempt,
        scenario=scenario,
        step=scenario.node(attempt.node),
        turns=service.turns_of(page.session, attempt),
        blocks=BLOCK_NAMES,
        titles=TITLES,
    )


@router.get(BASE + "/attempts/{attempt_id}")
def attempt_page(attempt_id: Id, page: ReadPage) -> Response:
    return _attempt_page(page, attempt_id)


def _whole(value: str, name: str) -> int | None:
    if not value.strip():
        return None
    number = form_whole(value)
    if number is None or number > 9999:
        raise InvalidInput("must be a whole number", field=name)
    return number


@router.post(BASE + "/attempts/{attempt_id}/turns")
def take_turn(attempt_id: Id, page: ChangePage, model: ShippedScorer) -> Response:
    def act() -> None:
        attempt = service.attempt_of(page.session, page.viewer.person_id, attempt_id)
        expected = _whole(page.form.get("turn"), "turn")
        choice = _whole(page.form.get("choice"), "choice")
        if choice is not None:
            service.take_choice(page.session, attempt, choice, page.now, expected)
        else:
            service.give_reply(
                page.session, attempt, page.form.get("text"), model, page.now, expected
            )

    errors = page.attempt("reply", act)
    if errors:
        return _attempt_page(page, attempt_id, errors)
    return page.redirect(f"{BASE}/attempts/{attempt_id}#latest")
