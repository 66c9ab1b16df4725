"""The API description tells the truth: what /openapi.json promises, checked against the real
server's answers (status, content type, body schema, headers)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from followthrough.config import Settings
from followthrough.web.app import create_app
from followthrough.web.openapi import KNOWN
from tests.conftest import LiveServer
from tests.factories import World

PROBLEM = "application/problem+json"
ERROR = re.compile(r"[45]\d\d")


def _document(live_server: LiveServer) -> dict[str, Any]:
    response = httpx.get(live_server.base_url + "/openapi.json", timeout=30)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _app_document() -> dict[str, Any]:
    # Describing the app needs no database: nothing connects until a request comes.
    return create_app(Settings(database_url="sqlite:///unused.sqlite3")).openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, spec)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, spec in item.items()
    ]


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for `schema` whose references resolve inside the document's components."""
    return Draft202012Validator({**schema, "components": document["components"]})


def _problem_errors(document: dict[str, Any], response: httpx.Response) -> list[str]:
    """Why `response` is not a problem document as the description defines it (empty if it is)."""
    validator = _validator(document, {"$ref": "#/components/schemas/Problem"})
    return [error.message for error in validator.iter_errors(response.json())]


def test_every_error_response_is_documented_as_a_problem_document() -> None:
    document = _app_document()
    operations = _operations(document)
    assert len(operations) > 50
    for method, path, spec in operations:
        errors = {status: r for status, r in spec["responses"].items() if ERROR.fullmatch(status)}
        assert "503" in errors, f"{method} {path}"
        for status, response in errors.items():
            assert response["content"] == {
                PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, f"{method} {path} {status}"
    # FastAPI's default error body, which the API never sends, is described nowhere.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "HTTPValidationError" not in str(document["paths"])


def test_input_documents_422_and_a_caller_documents_401() -> None:
    document = _app_document()
    for method, path, spec in _operations(document):
        takes_input = bool(spec.get("parameters")) or "requestBody" in spec
        assert ("422" in spec["responses"]) == takes_input, f"{method} {path}"
        if spec["security"] != []:
            assert "401" in spec["responses"], f"{method} {path}"
        if "401" in spec["responses"]:
            assert spec["responses"]["401"]["headers"]["WWW-Authenticate"]
        if "requestBody" in spec:
            assert "400" in spec["responses"], f"{method} {path}"
        if any(p["in"] == "path" for p in spec.get("parameters", [])):
            assert "404" in spec["responses"], f"{method} {path}"
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", "ft_session")
    assert (schemes["csrf"]["in"], schemes["csrf"]["name"]) == ("header", "X-CSRF-Token")


def test_only_health_and_sign_in_are_open_to_anyone() -> None:
    document = _app_document()
    open_to_anyone = {(m, p) for m, p, spec in _operations(document) if spec["security"] == []}
    assert open_to_anyone == {("GET", "/api/v1/health"), ("POST", "/api/v1/session")}
    sign_in = document["paths"]["/api/v1/session"]["post"]["responses"]
    assert sign_in["429"]["headers"]["Retry-After"]
    assert "401" in sign_in
    assert "401" not in document["paths"]["/api/v1/health"]["get"]["responses"]


def test_every_hand_kept_fact_names_a_real_operation() -> None:
    document = _app_document()
    operations = {(method, path) for method, path, _ in _operations(document)}
    assert set(KNOWN) - operations == set()


def test_anonymous_callers_get_what_the_description_says(live_server: LiveServer) -> None:
    """Every operation, called with no credentials: those that need a caller refuse (401, or 422
    when the input is refused first), and every answer is one the operation documents."""
    document = _document(live_server)
    client = httpx.Client(base_url=live_server.base_url, timeout=30)
    answered: dict[tuple[str, str], int] = {}
    for method, path, spec in _operations(document):
        url = re.sub(r"\{[^}]+\}", "1", path)
        body = {} if "requestBody" in spec else None
        response = client.request(method, url, json=body)
        answered[method, path] = response.status_code
        assert str(response.status_code) in spec["responses"], (method, path, response.text)
        if spec["security"]:
            assert response.status_code in (401, 422), (method, path, response.text)
            assert response.headers["content-type"] == PROBLEM
            assert _problem_errors(document, response) == []
        if response.status_code == 401:
            assert response.headers["www-authenticate"] == 'Bearer realm="followthrough"'
    client.close()
    assert answered["GET", "/api/v1/health"] == 200
    assert answered["GET", "/api/v1/me"] == 401
    assert answered["POST", "/api/v1/session"] == 422


def test_a_405_names_the_allowed_methods(live_server: LiveServer) -> None:
    document = _document(live_server)
    response = httpx.delete(live_server.base_url + "/api/v1/health", timeout=30)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.headers["content-type"] == PROBLEM
    assert _problem_errors(document, response) == []
    both = httpx.put(live_server.base_url + "/api/v1/session", timeout=30)
    assert both.status_code == 405
    assert {m.strip() for m in both.headers["allow"].split(",")} == {"POST", "DELETE"}


def test_a_401_asks_for_a_bearer_token(live_server: LiveServer) -> None:
    unknown = live_server.client("not-a-real-token").get("/me")
    assert unknown.status_code == 401
    assert unknown.headers["www-authenticate"] == 'Bearer realm="followthrough"'
    assert unknown.json()["field"] == "authorization"


def test_error_answers_are_documented_problem_documents(
    live_server: LiveServer, world: World, tokens: dict[str, str]
) -> None:
    document = _document(live_server)
    asha = live_server.client(tokens["asha"])
    opened = asha.post(
        "/requests",
        json={
            "title": "Wrong address",
            "need": "Fix it",
            "service_id": world.services["correct_policy"],
        },
    )
    assert opened.status_code == 201, opened.text
    rid = opened.json()["id"]
    cases = [
        ("GET", "/api/v1/requests/{request_id}", asha.get("/requests/999999"), 404),
        ("POST", "/api/v1/requests", asha.post("/requests", json={"title": ""}), 422),
        ("GET", "/api/v1/requests", asha.get("/requests", params={"limit": "many"}), 422),
        (
            "POST",
            "/api/v1/requests",
            asha.post("/requests", content=b"\xff{", headers={"Content-Type": "application/json"}),
            400,
        ),
        ("POST", "/api/v1/departments", asha.post("/departments", json={"name": "Ops 2"}), 403),
        (
            "POST",
            "/api/v1/requests/{request_id}/resolve",
            asha.post(
                f"/requests/{rid}/resolve",
                json={"resolution": "done"},
                headers={"If-Match": '"99"'},
            ),
            409,
        ),
        ("GET", "/api/v1/me", live_server.client().get("/me"), 401),
    ]
    for method, path, response, status in cases:
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert _problem_errors(document, response) == [], (method, path)
        assert response.json()["status"] == status
        assert str(status) in document["paths"][path][method.lower()]["responses"]
    not_json = asha.post(
        "/requests", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    assert not_json.json()["field"] == "body"
    nowhere = asha.get("/nowhere")
    assert nowhere.status_code == 404
    assert nowhere.headers["content-type"] == PROBLEM
    assert _problem_errors(document, nowhere) == []


def test_the_short_and_full_answers_match_the_documented_schema(
    live_server: LiveServer, world: World, tokens: dict[str, str]
) -> None:
    document = _document(live_server)
    created = document["paths"]["/api/v1/requests"]["post"]["responses"]["201"]
    schema = created["content"]["application/json"]["schema"]
    body = {
        "title": "Wrong address",
        "need": "Fix it",
        "service_id": world.services["claim_review"],
    }
    asha = live_server.client(tokens["asha"])
    full = asha.post("/requests", json=body)
    short = asha.post("/requests", json=body, headers={"Prefer": "return=minimal"})
    for response in (full, short):
        assert response.status_code == 201, response.text
        assert list(_validator(document, schema).iter_errors(response.json())) == []
        assert response.headers["etag"] == f'"{response.json()["version"]}"'
        for header in ("ETag", "Location"):
            assert header in created["headers"]
    assert short.headers["preference-applied"] == "return=minimal"
    assert set(short.json()) == {"id", "state", "version", "owner_id", "team_id"}


@pytest.mark.parametrize("status", ["429", "503"])
def test_waits_are_documented_with_retry_after(status: str) -> None:
    document = _app_document()
    documented = [
        spec["responses"][status]
        for _, _, spec in _operations(document)
        if status in spec["responses"]
    ]
    assert documented
    assert all("Retry-After" in response["headers"] for response in documented)


def test_success_content_types_are_the_documented_ones(
    live_server: LiveServer, tokens: dict[str, str]
) -> None:
    document = _document(live_server)
    asha = live_server.client(tokens["asha"])
    for path in (
        "/api/v1/requests",
        "/api/v1/insight/silo/network.csv",
        "/api/v1/insight/silo/network.graphml",
    ):
        response = asha.get(path.removeprefix("/api/v1"))
        assert response.status_code == 200, (path, response.text)
        media_type = response.headers["content-type"].split(";")[0].strip()
        assert list(document["paths"][path]["get"]["responses"]["200"]["content"]) == [media_type]
