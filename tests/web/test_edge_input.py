"""Hostile input at the edge, over real HTTP on both databases: every value the database or the
domain cannot hold is refused with a 422 problem naming its field, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.org.models import Service
from followthrough.requests.models import Request
from tests.conftest import Clock, LiveServer, at_once, issue_tokens, serving
from tests.factories import World, build_world
from tests.web.pages import Visitor

PROBLEM = "application/problem+json"
BEYOND_POSTGRES_INTEGER = 3_000_000_000  # > 2**31 - 1
BEYOND_SQLITE_INTEGER = 2**64  # > 2**63 - 1


def _request_count(db: Database) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Request)) or 0)


def _refused(response: httpx.Response, field: str) -> dict[str, Any]:
    """The response is a 422 problem whose first error names `field`."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    assert problem["field"] == field, problem
    assert problem["errors"][0]["field"] == field, problem
    return problem


def _new_request(world: World, **extra: object) -> dict[str, Any]:
    return {
        "title": "Policy P-100 has the wrong address",
        "need": "Correct the address so claim C-1 can be paid",
        "service_id": world.services["correct_policy"],
        **extra,
    }


# ---- date-times without a zone ------------------------------------------------------------------


@pytest.mark.parametrize("local", ["2026-11-23T15:00", "2026-11-23T15:00:00", "2026-11-23 15:00"])
def test_a_desired_date_without_a_zone_is_refused_naming_the_field(
    db: Database, world: World, live_server: LiveServer, tokens: dict[str, str], local: str
) -> None:
    asha = live_server.client(tokens["asha"])
    response = asha.post("/requests", json=_new_request(world, desired_by=local))
    problem = _refused(response, "desired_by")
    assert "time zone" in problem["detail"]
    assert _request_count(db) == 0


def test_a_desired_date_with_a_zone_is_kept_as_the_same_instant(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha = live_server.client(tokens["asha"])
    response = asha.post(
        "/requests", json=_new_request(world, desired_by="2026-11-23T15:00:00+01:00")
    )
    assert response.status_code == 201, response.text
    assert response.json()["desired_by"].startswith("2026-11-23T14:00:00")


def test_promise_and_case_dates_without_a_zone_are_refused(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha, dan = live_server.client(tokens["asha"]), live_server.client(tokens["dan"])
    request_id = asha.post("/requests", json=_new_request(world)).json()["id"]
    promise = dan.post(
        f"/requests/{request_id}/promises", json={"what": "a call", "due_at": "2026-11-23T15:00"}
    )
    _refused(promise, "due_at")
    case = asha.post(
        "/cases",
        json={"reference": "C-9", "customer": "Mrs Jones", "external_due_at": "2026-11-23T15:00"},
    )
    _refused(case, "external_due_at")


@pytest.mark.parametrize("year", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_instants_at_the_ends_of_the_calendar_are_refused_not_overflowed(
    world: World, live_server: LiveServer, tokens: dict[str, str], year: str
) -> None:
    asha = live_server.client(tokens["asha"])
    _refused(asha.post("/requests", json=_new_request(world, desired_by=year)), "desired_by")


@pytest.mark.parametrize("name", ["start", "end"])
def test_insight_periods_without_a_zone_are_refused(
    world: World, live_server: LiveServer, tokens: dict[str, str], name: str
) -> None:
    ada = live_server.client(tokens["ada"])
    _refused(ada.get("/insight/silo", params={name: "2026-11-23T15:00"}), name)


# ---- integers beyond the columns ----------------------------------------------------------------


@pytest.mark.parametrize("huge", [BEYOND_POSTGRES_INTEGER, BEYOND_SQLITE_INTEGER])
def test_ids_beyond_the_column_are_refused_in_paths_queries_and_bodies(
    db: Database, world: World, live_server: LiveServer, tokens: dict[str, str], huge: int
) -> None:
    asha, ada = live_server.client(tokens["asha"]), live_server.client(tokens["ada"])
    _refused(asha.get(f"/requests/{huge}"), "request_id")
    _refused(asha.get(f"/requests/{huge}/events"), "request_id")
    _refused(asha.get("/requests", params={"team_id": huge}), "team_id")
    _refused(asha.get(f"/cases/{huge}"), "case_id")
    _refused(asha.post("/requests", json=_new_request(world, service_id=huge)), "service_id")
    _refused(asha.post("/requests", json=_new_request(world, case_ids=[huge])), "case_ids.0")
    _refused(ada.get(f"/insight/ripple/teams/{huge}"), "team_id")
    _refused(ada.post(f"/teams/{huge}/members", json={"person_id": 1}), "team_id")
    assert _request_count(db) == 0


@pytest.mark.parametrize("huge", [BEYOND_POSTGRES_INTEGER, BEYOND_SQLITE_INTEGER])
def test_counts_limits_and_offsets_beyond_the_domain_are_refused(
    world: World, live_server: LiveServer, tokens: dict[str, str], huge: int
) -> None:
    asha = live_server.client(tokens["asha"])
    body = _new_request(world, impact_customers=huge)
    _refused(asha.post("/requests", json=body), "impact_customers")
    _refused(asha.get("/requests", params={"offset": huge}), "offset")
    _refused(asha.get("/requests", params={"limit": huge}), "limit")
    _refused(asha.get("/inbox", params={"limit": huge}), "limit")


def test_the_largest_id_and_offset_answer_not_found_and_an_empty_page(
    live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha = live_server.client(tokens["asha"])
    assert asha.get(f"/requests/{2**31 - 1}").status_code == 404
    page = asha.get("/requests", params={"offset": 2**31 - 1})
    assert page.status_code == 200, page.text
    assert page.json()["items"] == []


def test_an_if_match_beyond_any_version_is_refused(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha = live_server.client(tokens["asha"])
    request_id = asha.post("/requests", json=_new_request(world)).json()["id"]
    response = asha.post(
        f"/requests/{request_id}/updates",
        json={"body": "news"},
        headers={"If-Match": f'"{BEYOND_SQLITE_INTEGER}"'},
    )
    _refused(response, "if-match")


# ---- floats -------------------------------------------------------------------------------------


@pytest.mark.parametrize("hours", ["1e300", "nan", "inf", "-1", "0"])
def test_a_ripple_threshold_that_is_not_a_sensible_number_of_hours_is_refused(
    world: World, live_server: LiveServer, tokens: dict[str, str], hours: str
) -> None:
    ada = live_server.client(tokens["ada"])
    response = ada.get(
        f"/insight/ripple/teams/{world.teams['admin']}", params={"threshold_hours": hours}
    )
    _refused(response, "threshold_hours")


@pytest.mark.parametrize(
    "field", ["accept_target_hours", "update_every_hours", "resolve_target_hours"]
)
@pytest.mark.parametrize("hours", [1e308, 8760.5, 0.0, -4.0])
def test_service_targets_beyond_a_year_of_business_hours_are_refused(
    db: Database,
    world: World,
    live_server: LiveServer,
    tokens: dict[str, str],
    field: str,
    hours: float,
) -> None:
    ada = live_server.client(tokens["ada"])
    body = {"team_id": world.teams["admin"], "name": "Forever", field: hours}
    _refused(ada.post("/services", json=body), field)
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(Service).where(Service.name == "Forever")) is None


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_numbers_are_refused(
    world: World, live_server: LiveServer, tokens: dict[str, str], literal: str
) -> None:
    ada = live_server.client(tokens["ada"])
    body = f'{{"team_id": {world.teams["admin"]}, "name": "Odd", "accept_target_hours": {literal}}}'
    response = ada.post("/services", content=body, headers={"content-type": "application/json"})
    _refused(response, "accept_target_hours")


def test_a_service_with_a_year_long_target_can_still_take_requests(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ada, asha = live_server.client(tokens["ada"]), live_server.client(tokens["asha"])
    created = ada.post(
        "/services",
        json={
            "team_id": world.teams["admin"],
            "name": "Slow",
            "accept_target_hours": 8760,
            "update_every_hours": 8760,
            "resolve_target_hours": 8760,
        },
    )
    assert created.status_code == 201, created.text
    opened = asha.post("/requests", json=_new_request(world, service_id=created.json()["id"]))
    assert opened.status_code == 201, opened.text


# ---- NUL characters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("title", "A\x00B"), ("need", "\x00"), ("context", "x\x00")]
)
def test_a_nul_character_in_request_text_is_refused_naming_the_field(
    db: Database,
    world: World,
    live_server: LiveServer,
    tokens: dict[str, str],
    field: str,
    value: str,
) -> None:
    asha = live_server.client(tokens["asha"])
    problem = _refused(asha.post("/requests", json=_new_request(world, **{field: value})), field)
    assert "NUL" in problem["detail"]
    assert _request_count(db) == 0


def test_a_nul_character_in_notes_names_and_query_strings_is_refused(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha, dan, ada = (live_server.client(tokens[h]) for h in ("asha", "dan", "ada"))
    request_id = asha.post("/requests", json=_new_request(world)).json()["id"]
    _refused(dan.post(f"/requests/{request_id}/updates", json={"body": "a\x00"}), "body")
    _refused(asha.post("/cases", json={"reference": "C\x00", "customer": "X"}), "reference")
    _refused(ada.post("/departments", json={"name": "Ops\x00"}), "name")
    _refused(asha.get("/cases", params={"q": "a\x00"}), "q")
    _refused(asha.get("/requests", params={"sort": "\x00"}), "sort")
    _refused(asha.get("/routing/suggestions", params={"text": "printer\x00"}), "text")


# ---- pages --------------------------------------------------------------------------------------


@pytest.fixture
def asha_browser(world: World, live_server: LiveServer) -> Iterator[Visitor]:
    visitor = Visitor(live_server.base_url)
    assert visitor.sign_in("asha").status_code == 303
    yield visitor
    visitor.close()


def _raise_form(world: World, **extra: str) -> dict[str, str]:
    return {
        "service_id": str(world.services["correct_policy"]),
        "title": "Wrong address on P-100",
        "need": "Correct it",
        **extra,
    }


@pytest.mark.parametrize("typed", ["2026-11-23 15:00", "2026-11-23T15:00", "2026-11-23"])
def test_the_raise_form_reads_a_typed_date_time_as_utc(
    db: Database, world: World, asha_browser: Visitor, typed: str
) -> None:
    response = asha_browser.post("/requests/new", _raise_form(world, desired_by=typed))
    assert response.status_code == 303, response.text
    with db.unit_of_work(readonly=True) as session:
        desired = session.scalar(select(Request.desired_by))
    assert desired is not None
    expected_hour = 17 if typed == "2026-11-23" else 15
    assert (desired.date().isoformat(), desired.hour) == ("2026-11-23", expected_hour)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("desired_by", "next tuesday"),
        ("desired_by", "2026-13-45 99:99"),
        ("impact_customers", str(BEYOND_POSTGRES_INTEGER)),
        ("impact_customers", str(BEYOND_SQLITE_INTEGER)),
        ("title", "A\x00B"),
        ("q", "\x00"),
        ("cases", "C-1\x00"),
        ("service_id", str(BEYOND_SQLITE_INTEGER)),
    ],
)
def test_the_raise_form_shows_bad_values_beside_the_field(
    db: Database, world: World, asha_browser: Visitor, field: str, value: str
) -> None:
    response = asha_browser.post("/requests/new", _raise_form(world, **{field: value}))
    assert response.status_code == 422, response.text
    assert "text/html" in response.headers["content-type"]
    assert _request_count(db) == 0


@pytest.mark.parametrize(
    "path",
    [
        f"/requests?offset={BEYOND_SQLITE_INTEGER}",
        f"/requests?offset={BEYOND_POSTGRES_INTEGER}",
        f"/requests/{BEYOND_POSTGRES_INTEGER}",
        f"/cases/{BEYOND_POSTGRES_INTEGER}",
        "/cases?reference=%00",
        "/requests/new?q=%00",
        f"/admin/teams/{BEYOND_POSTGRES_INTEGER}",
    ],
)
def test_pages_refuse_hostile_parameters_with_a_page_not_a_500(
    asha_browser: Visitor, path: str
) -> None:
    response = asha_browser.get(path)
    assert response.status_code == 422, response.text
    assert "text/html" in response.headers["content-type"]


def test_the_admin_page_refuses_a_target_of_1e308_hours_beside_the_field(
    db: Database, world: World, live_server: LiveServer
) -> None:
    ada = Visitor(live_server.base_url)
    try:
        assert ada.sign_in("ada").status_code == 303
        response = ada.post(
            "/admin/services",
            {
                "team_id": str(world.teams["admin"]),
                "name": "Forever",
                "resolve_target_hours": "1e308",
            },
        )
    finally:
        ada.close()
    assert response.status_code == 422, response.text
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(Service).where(Service.name == "Forever")) is None


# ---- anything at all ----------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
REQUEST_FIELDS = ["title", "need", "service_id", "team_id", "context", "impact_customers"]
REQUEST_FIELDS += ["desired_by", "priority", "case_ids", "parent_id"]


def test_arbitrary_json_never_answers_500(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha, ada = live_server.client(tokens["asha"]), live_server.client(tokens["ada"])

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        request_body=st.dictionaries(st.sampled_from(REQUEST_FIELDS), JSON_VALUES, max_size=6),
        case_body=st.dictionaries(
            st.sampled_from(["reference", "customer", "external_due_at", "note"]),
            JSON_VALUES,
            max_size=4,
        ),
        service_body=st.dictionaries(
            st.sampled_from(
                [
                    "team_id",
                    "name",
                    "accept_target_hours",
                    "resolve_target_hours",
                    "auto_close_days",
                ]
            ),
            JSON_VALUES,
            max_size=5,
        ),
    )
    def check(
        request_body: dict[str, Any], case_body: dict[str, Any], service_body: dict[str, Any]
    ) -> None:
        for client, path, body in (
            (asha, "/requests", request_body),
            (asha, "/cases", case_body),
            (ada, "/services", service_body),
        ):
            response = client.post(path, json=body)
            assert response.status_code < 500, (path, body, response.text)
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith(PROBLEM)

    check()


# ---- simultaneous retries -----------------------------------------------------------------------


@pytest.mark.postgres
def test_simultaneous_creates_with_one_idempotency_key_open_one_request(
    pg_db: Database, clock: Clock
) -> None:
    with pg_db.unit_of_work() as session:
        world = build_world(session)
    tokens = issue_tokens(pg_db, world, clock)
    racers = 16
    with serving(pg_db, clock) as live:
        clients = [live.client(tokens["asha"]) for _ in range(racers)]
        for round_ in range(5):
            headers = {"Idempotency-Key": f"retry-{round_}"}
            body = _new_request(world, title=f"Round {round_}")
            other = _new_request(world, title=f"Round {round_}, another body")
            bodies = [body] * (racers - 1) + [other]
            answers = at_once(
                [
                    partial(client.post, "/requests", json=b, headers=headers)
                    for client, b in zip(clients, bodies, strict=True)
                ]
            )
            assert len(answers) == racers
            statuses = [a.status_code for a in answers]
            assert set(statuses) <= {201, 409}, [a.text for a in answers if a.status_code >= 500]
            # One racer opened the request; the others got its answer replayed, or a 409 when
            # they sent another body than the one that won.
            fresh = [
                a
                for a in answers
                if a.status_code == 201 and "Idempotent-Replayed" not in a.headers
            ]
            assert len(fresh) == 1, [a.text for a in answers][:2]
            winner = fresh[0].json()
            for answer in answers:
                if answer.status_code == 201:
                    assert answer.json()["id"] == winner["id"]
                    assert answer.json()["title"] == winner["title"]
                else:
                    assert answer.json()["field"] == "idempotency-key"
                    sent = other if winner["title"] == body["title"] else body
                    assert sent["title"] != winner["title"]
    with pg_db.unit_of_work(readonly=True) as session:
        titles = list(session.scalars(select(Request.title)))
    assert len(titles) == 5
    assert sorted(t.split(",")[0] for t in titles) == [f"Round {r}" for r in range(5)]
