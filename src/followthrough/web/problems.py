"""Every error leaves the API as an RFC 9457 problem document, mapped here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from followthrough.errors import DomainError

PROBLEM = "application/problem+json"
# RFC 6750: a 401 names the scheme that would have worked. Pages never answer 401 (they redirect
# to the sign-in page), so only the API sends it.
WWW_AUTHENTICATE = 'Bearer realm="followthrough"'
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class FieldError(BaseModel):
    """One refused input: the field (dotted, as sent) and what is wrong with it."""

    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document; `field` and `errors` say which input to change."""

    # A domain error may carry more members (RFC 9457 extensions), e.g. every field's problem.
    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(default="about:blank", description="A URI naming the kind of problem")
    title: str = Field(description="A short summary of the kind of problem")
    status: int = Field(ge=400, le=599, description="The HTTP status code of this answer")
    detail: str = Field(description="What went wrong this time, and what to do about it")
    instance: str | None = Field(default=None, description="The path that was asked for")
    field: str | None = Field(default=None, description="The input to change, when one is at fault")
    errors: list[FieldError] | None = Field(
        default=None, description="Every refused input, when the problem is invalid input"
    )


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """The problem document as a response; members that are None are left out."""
    body = Problem(type="about:blank", title=title, status=status, detail=detail, **extra)
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


def _answer(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem document for the API; an HTML error page for the web pages. Both keep the
    headers the error carries (Allow on a 405, Retry-After on a 429 or 503)."""
    kept = dict(headers or {})
    render = getattr(request.app.state, "render_error", None)
    if render is not None and not request.url.path.startswith("/api/"):
        page: Response = render(request, status, title, detail)
        page.headers.update(kept)
        return page
    if status == 401:
        kept.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    return problem(status, title, detail, headers=kept, instance=request.url.path, **extra)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at the request's path. Starlette's 405 names only the
    methods of the first route with that path; the same path may have several routes."""
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(location[-1] if location else "")


# PostgreSQL: lock_timeout (55P03) or a cancelled statement (57014); SQLite: the busy timeout
# ran out. Each means the request waited its bounded time and gave up with nothing written.
_WAITED_TOO_LONG_SQLSTATES = frozenset({"55P03", "57014"})


def _waited_too_long(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _WAITED_TOO_LONG_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
        headers = {}
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(max(1, int(retry_after)))
        return _answer(
            request,
            exc.status,
            exc.title,
            exc.detail,
            headers=headers,
            field=exc.field,
            errors=errors,
            **exc.extra,
        )

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> Response:
        return _answer(
            request,
            409,
            "The request changed since you loaded it",
            "someone else changed this request at the same moment; reload and try again",
            field="version",
        )

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> Response:
        # A value the edge's bounded types let through but the database cannot hold (a number
        # out of range, a NUL character): refused, and nothing was written.
        return _answer(
            request, 422, "Invalid input", "a value is out of the range the desk can store"
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        if _waited_too_long(exc):
            return _answer(
                request,
                503,
                "Busy; try again shortly",
                "another change held what this request needed for too long; nothing was "
                "changed; try again",
                headers={"Retry-After": "2"},
            )
        if not exc.connection_invalidated:
            raise exc
        return _answer(
            request,
            503,
            "The database connection was lost",
            "the database went away during this request and nothing was changed; try again",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for error in exc.errors():
            field = _field_name(tuple(error.get("loc", ())))
            message = str(error.get("msg", "invalid"))
            if error.get("type") == "extra_forbidden":
                message = "unknown field"
            if error.get("type") == "json_invalid":
                # Its location is a character offset in the body, not a field.
                field, message = "body", f"not valid JSON ({message})"
            errors.append({"field": field, "message": message})
        first = errors[0] if errors else {"field": "", "message": "invalid input"}
        return _answer(
            request,
            422,
            "Invalid input",
            f"{first['field']}: {first['message']}",
            field=first["field"],
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # Starlette's own errors carry headers that belong to the answer: Allow on a 405.
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
        return _answer(request, exc.status_code, str(exc.detail), str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # A bug, not a user's mistake: still a problem document (or the error page), never a
        # plain-text page, and never the exception's text, which may name tables or values.
        # Starlette re-raises the exception after this answer, so the server logs it.
        return _answer(
            request, 500, "Internal error", "something went wrong on our side; it was logged"
        )
