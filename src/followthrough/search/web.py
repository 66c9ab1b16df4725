"""Search pages: the results of the header's search box, and a person's saved views."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.fields import Id, Offset
from followthrough.search import rules, service
from followthrough.search.service import Kind, ViewPage
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

# On the "all" tab each kind shows its best few, with a link to see all of that kind.
ALL_TAB_LIMITS = {Kind.REQUESTS: 10, Kind.CASES: 5, Kind.PEOPLE: 5}
PAGE_SIZE = 20


def _kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        return Kind.ALL


def _query_error(text: str) -> FormErrors | None:
    """What is wrong with the typed search, said beside the box; None when it can be run."""
    if "\x00" in text:
        return FormErrors("search", fields={"q": "Remove the NUL character from your search."})
    if len(text) > rules.MAX_QUERY_LENGTH:
        return FormErrors(
            "search",
            fields={
                "q": f"Search for at most {rules.MAX_QUERY_LENGTH} characters "
                f"(this is {len(text)})."
            },
        )
    return None


@router.get("/search")
def search_page(page: ReadPage, kind: str = "all", offset: Offset = 0) -> Response:
    typed = page.form.get("q")
    errors = _query_error(typed)
    text = typed.replace("\x00", "")
    chosen = _kind(kind)
    query = rules.parse(text)
    found: dict[str, Any] = {}
    if errors is None and not query.is_empty:
        for each in (Kind.REQUESTS, Kind.CASES, Kind.PEOPLE):
            if chosen == Kind.ALL:
                limit, skip = ALL_TAB_LIMITS[each], 0
            elif chosen == each:
                limit, skip = PAGE_SIZE, offset
            else:
                # The other tabs show only how many there are.
                limit, skip = 1, 0
            if each == Kind.REQUESTS:
                found[each] = service.search_requests(page.session, page.actor, query, limit, skip)
            elif each == Kind.CASES:
                found[each] = service.search_cases(page.session, query, limit, skip)
            else:
                found[each] = service.search_people(page.session, query, limit, skip)
    return page.render(
        "search.html",
        status=200 if errors is None else errors.status,
        q=text,
        kind=chosen.value,
        found=found,
        empty_query=query.is_empty,
        errors=errors,
        segments=rules.segments,
        view_page=ViewPage.SEARCH.value,
        view_query=service.view_query(ViewPage.SEARCH, page.request.url.query),
    )


# ---- saved views -----------------------------------------------------------------------------


def _views_page(page: Page, errors: FormErrors | None = None) -> Response:
    views = service.saved_views(page.session, page.actor)
    grouped = [(p, [v for v in views if v.page == p.value]) for p in ViewPage]
    return page.render(
        "views.html",
        status=200 if errors is None else errors.status,
        grouped=[(p, vs) for p, vs in grouped if vs],
        has_views=bool(views),
        view_url=service.view_url,
        errors=errors,
    )


@router.get("/views")
def views(page: ReadPage) -> Response:
    return _views_page(page)


@router.post("/views")
def save_view(page: ChangePage) -> Response:
    """Save the filters of the page the form was on; back to that page, with them."""
    saved: list[str] = []

    def save() -> None:
        view = service.save_view(
            page.session,
            page.actor,
            page.form.get("name"),
            page.form.get("page"),
            page.form.get("query"),
            page.now,
        )
        saved.append(service.view_url(view))

    errors = page.attempt("save-view", save)
    if errors:
        return _views_page(page, errors)
    name = " ".join(page.form.get("name").split())
    return page.redirect(saved[0], f"Saved as “{name}”. Find it under Saved views.")


@router.post("/views/{view_id}/rename")
def rename_view(view_id: Id, page: ChangePage) -> Response:
    errors = page.attempt(
        f"rename-{view_id}",
        lambda: service.rename_view(page.session, page.actor, view_id, page.form.get("name")),
    )
    if errors:
        return _views_page(page, errors)
    return page.redirect("/views", "Renamed.")


@router.post("/views/{view_id}/delete")
def delete_view(view_id: Id, page: ChangePage) -> Response:
    errors = page.attempt(
        f"delete-{view_id}", lambda: service.delete_view(page.session, page.actor, view_id)
    )
    if errors:
        return _views_page(page, errors)
    return page.redirect("/views", "Deleted.")
