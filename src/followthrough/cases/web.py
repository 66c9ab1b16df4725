"""The customer case pages: a lookup by reference, and each case with every internal request it
waits on and the date to tell the customer."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import func, or_, select

from followthrough.cases.api import get_case
from followthrough.cases.models import Case, RequestCase
from followthrough.cases.service import find_cases
from followthrough.fields import Id, Text, form_text
from followthrough.requests.access import visibility_clause
from followthrough.requests.models import Request
from followthrough.requests.rules import OPEN_STATES
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

RECENT_CASES = 20
MATCHES = 25


def recent_cases(page: Page, limit: int = RECENT_CASES) -> list[Case]:
    """The cases the viewer met lately: linked to requests they may read, or added by them,
    most recently active first. A case tied only to a request they may not read stays out."""
    seen = (
        select(RequestCase.case_id, func.max(Request.updated_at).label("active"))
        .join(Request, Request.id == RequestCase.request_id)
        .where(visibility_clause(page.actor))
        .group_by(RequestCase.case_id)
        .subquery()
    )
    query = (
        select(Case)
        .outerjoin(seen, seen.c.case_id == Case.id)
        .where(or_(seen.c.case_id.is_not(None), Case.created_by_id == page.viewer.person_id))
        .order_by(func.coalesce(seen.c.active, Case.created_at).desc(), Case.id.desc())
        .limit(limit)
    )
    return list(page.session.scalars(query))


@router.get("/cases")
def find_case(page: ReadPage, reference: Text = "") -> Response:
    """Look a case up by its reference (or part of it, or the customer's name): one exact
    reference goes straight to the case; otherwise the matches, or the message beside the box."""
    typed = form_text(reference, "reference").strip()
    matches: list[Case] = []
    errors = None
    if typed:
        exact = page.session.scalar(select(Case).where(Case.reference == typed))
        if exact is not None:
            return page.redirect(f"/cases/{exact.id}")
        matches = find_cases(page.session, typed, MATCHES)
        if not matches:
            errors = FormErrors(
                "find",
                fields={
                    "reference": f"No case has a reference or customer like “{typed}”. "
                    "Check the reference as the customer system shows it."
                },
                status=404,
            )
    return page.render(
        "case_lookup.html",
        status=200 if errors is None else errors.status,
        reference=typed,
        matches=matches,
        recent=recent_cases(page),
        errors=errors,
    )


@router.get("/cases/{case_id}")
def case_page(case_id: Id, page: ReadPage) -> Response:
    # The API's own read, so the page shows exactly what the API would.
    case = get_case(case_id, page.session, page.actor)
    open_requests = [r for r in case.requests if r.state in OPEN_STATES]
    return page.render("case.html", case=case, open_requests=open_requests)
