"""The customer case page: every internal request it waits on and the date to tell the customer."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from followthrough.cases.api import get_case
from followthrough.cases.models import Case
from followthrough.errors import NotFound
from followthrough.fields import Id, Text
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@router.get("/cases")
def find_case(page: ReadPage, reference: Text = "") -> Response:
    found = page.session.scalar(select(Case).where(Case.reference == reference.strip()))
    if found is None:
        raise NotFound(f"there is no case {reference.strip()!r}", field="reference")
    return page.redirect(f"/cases/{found.id}")


@router.get("/cases/{case_id}")
def case_page(case_id: Id, page: ReadPage) -> Response:
    # The API's own read, so the page shows exactly what the API would.
    case = get_case(case_id, page.session, page.actor)
    open_requests = [r for r in case.requests if r.state not in ("resolved", "closed")]
    return page.render("case.html", case=case, open_requests=open_requests)
