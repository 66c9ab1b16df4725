"""Every error leaves the API as an RFC 9457 problem document, mapped here and nowhere else."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from followthrough.errors import DomainError

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _answer(request: Request, status: int, title: str, detail: str, **extra: Any) -> Response:
    """A problem document for the API; an HTML error page for the web pages."""
    render = getattr(request.app.state, "render_error", None)
    if render is not None and not request.url.path.startswith("/api/"):
        page: Response = render(request, status, title, detail)
        return page
    return problem(status, title, detail, **extra)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(location[-1] if location else "")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
        response = _answer(
            request, exc.status, exc.title, exc.detail, field=exc.field, errors=errors, **exc.extra
        )
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, int(retry_after)))
        return response

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> Response:
        return _answer(
            request,
            409,
            "The request changed since you loaded it",
            "someone else changed this request at the same moment; reload and try again",
            field="version",
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        if not exc.connection_invalidated:
            raise exc
        return _answer(
            request,
            503,
            "The database connection was lost",
            "the database went away during this request and nothing was changed; try again",
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for error in exc.errors():
            field = _field_name(tuple(error.get("loc", ())))
            message = str(error.get("msg", "invalid"))
            if error.get("type") == "extra_forbidden":
                message = "unknown field"
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
        return _answer(request, exc.status_code, str(exc.detail), str(exc.detail))
