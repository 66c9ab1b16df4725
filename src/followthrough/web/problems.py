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


# ---- one translation from a refused value to words --------------------------------------------
# Pydantic says "String should have at most 200 characters"; a person (and an API caller) reads
# "title must be at most 200 characters (this has 250)". `what_is_wrong` gives the part after the
# field's name; the API puts its own field name before it, the pages the field's label.

# Patterns a person cannot read, said as what they ask for.
_PATTERNS = {
    r"^\d{2}:\d{2}$": "must be a time of day like 09:00",
    r"^[1-7]{1,7}$": "must be the working days as digits from 1 (Monday) to 7 (Sunday), like 12345",
}

_PARSING = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a number",
    "decimal_parsing": "must be a number",
    "bool_parsing": "must be yes or no (true or false)",
    "bool_type": "must be yes or no (true or false)",
    "datetime_parsing": "must be a date and time",
    "datetime_from_date_parsing": "must be a date and time",
    "datetime_type": "must be a date and time",
    "date_parsing": "must be a date",
    "date_from_datetime_parsing": "must be a date",
    "date_from_datetime_inexact": "must be a date without a time",
    "date_type": "must be a date",
    "time_parsing": "must be a time of day like 09:00",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "timezone_aware": "must include a time zone, like 2026-11-23T15:00:00Z",
}


def _number(value: Any) -> str:
    """5.0 as "5": bounds read as people write them."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def what_is_wrong(error: Mapping[str, Any], *, choices_shown: bool = False) -> str:
    """What is wrong with a refused value, to be said after the field's name: "must not be
    empty", "must be at most 200 characters (this has 250)". One pydantic error in, plain words
    out; the API and the pages both say it this way. `choices_shown`: the page offers the
    choices in its own words, so they are not listed again in the API's."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    given = error.get("input")
    blank = isinstance(given, str) and given.strip() == ""
    if kind == "missing" or (blank and kind in _PARSING):
        return "is required"
    if kind in _PARSING:
        return _PARSING[kind]
    if kind == "string_too_short":
        least = int(ctx.get("min_length", 1))
        return "must not be empty" if least <= 1 else f"must be at least {least} characters"
    if kind == "string_too_long":
        most = int(ctx.get("max_length", 0))
        has = f" (this has {len(given):,})" if isinstance(given, str) else ""
        return f"must be at most {most:,} characters{has}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length', 1)}"
    if kind == "too_long":
        return f"may have at most {ctx.get('max_length', 0)}"
    if kind == "greater_than":
        return f"must be more than {_number(ctx.get('gt'))}"
    if kind == "greater_than_equal":
        bound = ctx.get("ge")
        return "must not be negative" if bound == 0 else f"must be {_number(bound)} or more"
    if kind == "less_than":
        return f"must be less than {_number(ctx.get('lt'))}"
    if kind == "less_than_equal":
        return f"must be {_number(ctx.get('le'))} or less"
    if kind in ("literal_error", "enum"):
        if choices_shown:
            return "must be one of the choices given"
        return f"must be one of {ctx.get('expected', 'the options')}"
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(str(ctx.get("pattern", "")), "is not in the form asked for")
    if kind == "extra_forbidden":
        return "is not a field this accepts"
    if kind in ("value_error", "assertion_error"):
        # A validator's own words; pydantic puts "Value error, " in front of them.
        message = str(error.get("msg", "")).split(", ", 1)[-1]
        return message[:1].lower() + message[1:] if message else "is not valid"
    # Our own PydanticCustomError types ("must include a time zone, e.g. …") are already words;
    # anything else is said without pydantic's phrasing.
    message = str(error.get("msg", ""))
    if message.startswith(("must ", "is ", "may ")):
        return message
    return "is not valid"


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
        # Each error keeps the field's API name (`field`); the message is what is wrong with it,
        # and the detail says both: "title must be at most 200 characters (this has 250)".
        errors = []
        for error in exc.errors():
            field = _field_name(tuple(error.get("loc", ())))
            message = what_is_wrong(error)
            if error.get("type") == "json_invalid":
                # Its location is a character offset in the body, not a field.
                reason = (error.get("ctx") or {}).get("error", "")
                field, message = (
                    "body",
                    f"is not valid JSON ({reason})" if reason else "is not JSON",
                )
            errors.append({"field": field, "message": message})
        first = errors[0] if errors else {"field": "body", "message": "is not valid"}
        return _answer(
            request,
            422,
            "Invalid input",
            f"{first['field']} {first['message']}",
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
