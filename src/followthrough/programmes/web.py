"""The buddy programme's pages: a person opts in or out and sees their buddy; leads and admins
see the rounds and how many groups met."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.errors import InvalidInput, NotAllowed
from followthrough.fields import Id
from followthrough.programmes.service import (
    answer_met,
    my_buddies,
    round_summaries,
    set_enrolment,
)
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

CHOICES = {"in": True, "out": False}
ANSWERS = {"yes": True, "no": False}


def _mine(page: Page, errors: FormErrors | None = None) -> Response:
    return page.render(
        "programmes/buddies.html",
        mine=my_buddies(page.session, page.viewer.person_id),
        errors=errors,
        status=errors.status if errors else 200,
    )


@router.get("/buddies")
def buddies_page(page: ReadPage) -> Response:
    return _mine(page)


@router.post("/buddies")
def choose(page: ChangePage) -> Response:
    choice = page.form.get("take_part")

    def save() -> None:
        if choice not in CHOICES:
            raise InvalidInput("choose whether to take part", field="take_part")
        set_enrolment(
            page.session,
            page.viewer.person_id,
            opted_in=CHOICES[choice],
            prefers_trio=page.form.get("trio") == "yes",
            now=page.now,
        )

    errors = page.attempt("buddies", save)
    if errors:
        return _mine(page, errors)
    said = (
        "You are in: you will be introduced to a buddy from another department in the next round."
        if CHOICES[choice]
        else "You are out: you will not be paired until you opt in again."
    )
    return page.redirect("/buddies", said)


@router.post("/buddies/rounds/{round_id}/met")
def met(round_id: Id, page: ChangePage) -> Response:
    answer = page.form.get("met")

    def save() -> None:
        if answer not in ANSWERS:
            raise InvalidInput("say whether you met", field="met")
        answer_met(page.session, page.viewer.person_id, round_id, met=ANSWERS[answer], now=page.now)

    errors = page.attempt("met", save)
    if errors:
        return _mine(page, errors)
    return page.redirect("/buddies", "Thank you: your answer is counted.")


@router.get("/buddies/rounds")
def rounds_page(page: ReadPage) -> Response:
    if not page.viewer.leads:
        raise NotAllowed("only team leads and admins see the buddy rounds")
    return page.render("programmes/rounds.html", rounds=round_summaries(page.session))
