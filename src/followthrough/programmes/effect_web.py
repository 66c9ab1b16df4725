"""The buddy programme's effect page, for leads and admins: did bounces and time to accept
change in the departments that took part, against those not (yet) in it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.errors import NotAllowed
from followthrough.insight.effect import format_change
from followthrough.programmes.effect import buddy_effect
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

VERDICT_WORDS = {
    "better": "Better since taking part",
    "worse": "Worse since taking part",
    "no effect shown": "No effect shown",
    "too little data": "Too little data",
}


@router.get("/buddies/effect")
def effect_page(page: ReadPage) -> Response:
    if not page.viewer.leads:
        raise NotAllowed("only team leads and admins see what the buddy programme changed")
    return page.render(
        "programmes/effect.html",
        report=buddy_effect(page.session, page.now),
        change=format_change,
        verdict_words=VERDICT_WORDS,
    )
