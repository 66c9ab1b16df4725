"""The API description, told as the API behaves: every error a problem document, every status an
operation can answer, the headers that come with them, and how a caller signs in.

FastAPI's own description knows only the success answer and its default 422 body, which this
API never sends. `describe_api` starts from FastAPI's document and adds what each operation's
own declaration shows (its path parameters, query, headers and body, its method); the few facts
a declaration cannot show (who may call without signing in, which services refuse a duplicate)
are kept in `KNOWN`, one table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import HTMLResponse

from followthrough.web.problems import PROBLEM, WWW_AUTHENTICATE, Problem
from followthrough.web.route_rules import ROUTES

API_PREFIX = "/api/v1"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COMPONENT = "#/components/schemas/{model}"


class RequestMinimal(BaseModel):
    """The short answer to a change sent with `Prefer: return=minimal` (RFC 7240), built by
    `requests.api.detail_response`: enough to act again without loading the detail."""

    # Closed, so that a full detail never also reads as the short answer (the two are `oneOf`).
    model_config = ConfigDict(extra="forbid")

    id: int
    state: str
    version: int
    owner_id: int | None
    team_id: int
    offer_id: int | None = Field(default=None, description="The offer this change made")
    update_id: int | None = Field(default=None, description="The update this change posted")
    promise_id: int | None = Field(default=None, description="The promise this change made")


@dataclass(frozen=True)
class Known:
    """What an operation's declaration cannot show."""

    anonymous: bool = False
    """Answers without a caller (everything else needs a bearer token or a signed-in cookie)."""
    errors: frozenset[int] = frozenset()
    """Statuses its services raise beyond those derived: 409 for a duplicate or a used-up
    state, 429 for throttled guessing."""


def _known(*errors: int, anonymous: bool = False) -> Known:
    return Known(anonymous=anonymous, errors=frozenset(errors))


# Keyed by method and the path as declared. A test checks that every key names a real route.
KNOWN: dict[tuple[str, str], Known] = {
    ("GET", "/api/v1/health"): _known(anonymous=True),
    # A wrong handle or password is a 401 too, although no caller is needed.
    ("POST", "/api/v1/session"): _known(401, 429, anonymous=True),
    # Names and references are unique: a second one is refused with 409.
    ("POST", "/api/v1/cases"): _known(409),
    ("POST", "/api/v1/departments"): _known(409),
    ("POST", "/api/v1/teams"): _known(409),
    ("POST", "/api/v1/teams/{team_id}/holidays"): _known(409),
    ("POST", "/api/v1/people"): _known(409),
    ("POST", "/api/v1/services"): _known(409),
    # Refused while it would leave a team without anyone accountable, or for oneself.
    ("POST", "/api/v1/people/{person_id}/deactivate"): _known(409),
    ("POST", "/api/v1/people/{person_id}/reactivate"): _known(409),
    ("DELETE", "/api/v1/teams/{team_id}/members/{person_id}"): _known(409),
    ("POST", "/api/v1/requests/{request_id}/cases"): _known(409),
    # Something that can be decided once: a second decision is refused with 409.
    ("POST", "/api/v1/requests/{request_id}/rating"): _known(409),
    ("POST", "/api/v1/requests/{request_id}/promises"): _known(409),
    ("POST", "/api/v1/requests/{request_id}/promises/{promise_id}/keep"): _known(409),
    ("POST", "/api/v1/insight/recognitions/confirm"): _known(409),
    ("POST", "/api/v1/insight/recognitions/dismiss"): _known(409),
    # An upload: too large (413), not a kind the desk takes (415), or the request is closed (409).
    ("POST", "/api/v1/requests/{request_id}/attachments"): _known(409, 413, 415),
    # Live role plays: a role taken or a session ended (join), a turn already answered or a
    # conversation over (turns), a session ended (marks).
    ("POST", "/api/v1/roleplay/live/join"): _known(409),
    ("POST", "/api/v1/roleplay/live/{live_id}/turns"): _known(409),
    ("POST", "/api/v1/roleplay/live/{live_id}/marks"): _known(409),
    # Learning leads only (403); a cohort asked for (?cohort=ID) that does not exist (404).
    ("GET", "/api/v1/learning/debriefs"): _known(403, 404),
    # A module asked for (?module=ID) that does not exist.
    ("GET", "/api/v1/learning/effects"): _known(404),
    # A scenario that is not one of the shipped ones.
    ("POST", "/api/v1/roleplay/attempts"): _known(404),
}

TITLES = {
    400: "Malformed body: not JSON, or not UTF-8",
    401: "Not signed in: no or an unknown bearer token or session cookie (or, signing in, a wrong password)",
    403: "Not allowed: the caller's role does not permit it (or a cookie session sent no CSRF token)",
    404: "Not found, or not visible to the caller",
    409: "Conflict: changed since you loaded it (version), not possible in the current state, or a duplicate",
    422: "Invalid input: `field` and `errors` name what to change",
    413: "Too large: the file is over the size a file may be",
    415: "Not accepted: the file's content is not a kind the desk takes",
    429: "Too many failed attempts: wait Retry-After seconds",
    503: "Busy, or the database connection was lost; nothing was changed: retry after Retry-After seconds",
}

RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 1},
}
HEADERS_OF_ERROR: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": f"The scheme to sign in with: `{WWW_AUTHENTICATE}`",
            "schema": {"type": "string"},
        }
    },
    429: {"Retry-After": RETRY_AFTER},
    503: {"Retry-After": RETRY_AFTER},
}
ETAG = {
    "description": 'The request\'s version as an ETag, e.g. "3": send it back as If-Match',
    "schema": {"type": "string"},
}

SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (`followthrough user token`, or POST /me/tokens)",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "ft_session",
        "description": "The web session cookie that POST /session sets",
    },
    "csrf": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "With the session cookie, every change also sends the `csrf_token` of /me",
    },
}


@dataclass(frozen=True)
class Operation:
    """One operation of the description, with what its declaration shows."""

    method: str
    path: str
    spec: dict[str, Any]
    known: Known

    @property
    def parameters(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.spec.get("parameters", [])
        return found

    @property
    def takes_input(self) -> bool:
        return bool(self.parameters) or "requestBody" in self.spec

    def parameter(self, place: str, name: str) -> bool:
        return any(p["in"] == place and p["name"].lower() == name.lower() for p in self.parameters)


def error_statuses(operation: Operation, body_fields: Callable[[Operation], set[str]]) -> set[int]:
    """Every error status `operation` can answer, derived from its declaration plus `KNOWN`."""
    statuses = {503} | set(operation.known.errors)
    # What the route's rule answers a signed-in caller it does not admit (403 for an admin's
    # page, 404 for a request one may not read).
    rule = ROUTES.get((operation.method, operation.path))
    if rule is not None:
        statuses |= rule.refusals
    fields = body_fields(operation)
    needs_caller = not operation.known.anonymous
    if needs_caller:
        statuses.add(401)
        if operation.method not in SAFE_METHODS:
            # A cookie session without its CSRF token, and every rule about who may change what.
            statuses.add(403)
    if operation.takes_input:
        statuses.add(422)
    if "requestBody" in operation.spec:
        # A body that does not parse as JSON is refused before it is read as input.
        statuses.add(400)
    if any(p["in"] == "path" for p in operation.parameters) or any(
        name.endswith("_id") for name in fields
    ):
        # A path names something that may not exist (or that the caller may not see); an id in a
        # body must name something that exists.
        statuses.add(404)
    if (
        operation.parameter("header", "if-match")
        or operation.parameter("header", "idempotency-key")
        or "version" in fields
    ):
        # A stale version, a change the request's current state does not allow, or an
        # Idempotency-Key reused with another body.
        statuses.add(409)
    return statuses


def _operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        if not path.startswith(API_PREFIX):
            continue
        for method, spec in item.items():
            known = KNOWN.get((method.upper(), path), Known())
            yield Operation(method.upper(), path, spec, known)


def _component_schemas(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of `model` and the models it uses, as named components."""
    schema = model.model_json_schema(ref_template=COMPONENT)
    nested: dict[str, Any] = schema.pop("$defs", {})
    return {model.__name__: schema, **nested}


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": TITLES.get(status, "Error"),
        "content": {PROBLEM: {"schema": {"$ref": COMPONENT.format(model=Problem.__name__)}}},
    }
    if status in HEADERS_OF_ERROR:
        response["headers"] = HEADERS_OF_ERROR[status]
    return response


def _success_responses(operation: Operation) -> Iterator[dict[str, Any]]:
    for status, response in operation.spec["responses"].items():
        if status.startswith("2"):
            yield response


def _describe_success(operation: Operation) -> None:
    detail_ref = COMPONENT.format(model="RequestDetail")
    minimal_ref = COMPONENT.format(model=RequestMinimal.__name__)
    for response in _success_responses(operation):
        content = response.get("content", {}).get("application/json")
        if content is None or content.get("schema", {}).get("$ref") != detail_ref:
            continue
        # Every answer with a request's detail is made by requests.api.detail_response, which
        # sets its version as the ETag.
        headers = response.setdefault("headers", {})
        headers["ETag"] = ETAG
        if operation.parameter("header", "prefer"):
            content["schema"] = {"oneOf": [{"$ref": detail_ref}, {"$ref": minimal_ref}]}
            headers["Preference-Applied"] = {
                "description": "`return=minimal` when the short answer was sent",
                "schema": {"type": "string"},
            }
        if operation.method == "POST" and operation.parameter("header", "idempotency-key"):
            headers["Location"] = {
                "description": "The new request's address",
                "schema": {"type": "string"},
            }
            headers["Idempotent-Replayed"] = {
                "description": "`true` when this is the stored answer to an earlier try",
                "schema": {"type": "string"},
            }


def _security(operation: Operation) -> list[dict[str, list[str]]]:
    if operation.known.anonymous:
        return []
    cookie: dict[str, list[str]] = {"session": []}
    if operation.method not in SAFE_METHODS:
        cookie["csrf"] = []
    return [{"bearer": []}, cookie]


def describe_api(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of `app`'s API, with every error status and header it can answer."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_component_schemas(Problem))
    schemas.update(_component_schemas(RequestMinimal))
    components["securitySchemes"] = SECURITY_SCHEMES

    def body_fields(operation: Operation) -> set[str]:
        content = operation.spec.get("requestBody", {}).get("content", {})
        found: set[str] = set()
        for media in content.values():
            found |= set(_resolve(media.get("schema", {}), schemas).get("properties", {}))
        return found

    for operation in _operations(document):
        responses = operation.spec["responses"]
        # FastAPI's default 422 describes a body this API never sends.
        responses.pop("422", None)
        for status in sorted(error_statuses(operation, body_fields)):
            responses[str(status)] = _problem_response(status)
        _describe_success(operation)
        operation.spec["security"] = _security(operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """A body schema with its reference followed; an optional body is `anyOf [ref, null]`."""
    if "$ref" in schema:
        resolved: dict[str, Any] = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return resolved
    for choice in schema.get("anyOf", []):
        if "$ref" in choice:
            return _resolve(choice, schemas)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve `describe_api` as the app's /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_api(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# Swagger UI from the npm package (the Makefile's vendor step copies it to /static/vendor), not
# from a CDN: the reference must work on a machine without internet. Its start-up is a script
# file of our own, so the page needs no inline script. A link home keeps it from being a dead end.
API_REFERENCE_PATH = "/docs"
_API_REFERENCE_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API reference</title>
<link rel="icon" type="image/png" href="/static/vendor/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
<link rel="stylesheet" href="/static/api-reference.css">
</head>
<body>
<header><nav aria-label="Main"><a href="/">Back to Followthrough</a></nav></header>
<main id="swagger-ui" data-openapi-url="{openapi_url}"></main>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/api-reference.js"></script>
</body>
</html>
"""


def install_api_reference(app: FastAPI) -> None:
    """Serve the API reference page at /docs. The app must be made with `docs_url=None` and
    `redoc_url=None`, so FastAPI adds no page of its own that loads Swagger UI from a CDN."""
    page = _API_REFERENCE_PAGE.format(title=app.title, openapi_url=app.openapi_url)

    async def api_reference(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    app.add_route(API_REFERENCE_PATH, api_reference, include_in_schema=False)
