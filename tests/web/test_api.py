"""The API over real HTTP: the story, errors, idempotency and versions (signing in and tokens:
tests/auth/test_api.py; cases and colleague feedback: their own folders)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.requests.models import Request
from followthrough.sweeper.service import sweep
from tests.conftest import Clock, LiveServer
from tests.factories import World

PROBLEM = "application/problem+json"


def _events(db: Database) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def _open(client: httpx.Client, world: World, **extra: object) -> dict:  # type: ignore[type-arg]
    body = {
        "title": "Policy P-100 has the wrong address",
        "need": "Correct the address so claim C-1 can be paid",
        "service_id": world.services["correct_policy"],
        **extra,
    }
    response = client.post("/requests", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_story_over_http(
    db: Database, world: World, live_server: LiveServer, tokens: dict[str, str], clock: Clock
) -> None:
    asha, dan, cleo, lee = (live_server.client(tokens[h]) for h in ("asha", "dan", "cleo", "lee"))
    case = asha.post("/cases", json={"reference": "CLM-1", "customer": "Mrs Jones"}).json()
    request = _open(asha, world, case_ids=[case["id"]], impact_customers=1)
    rid = request["id"]
    assert request["owner"]["name"] == "Dan Duty"
    assert request["timescale"]["basis"].startswith("Not enough history")

    intake = request["offers"][0]
    offered = dan.post(
        f"/requests/{rid}/offers",
        json={
            "to_team_id": world.teams["admin"],
            "to_person_id": world.people["cleo"],
            "note": "yours",
        },
    )
    assert offered.status_code == 201, offered.text
    handoff = next(o for o in offered.json()["offers"] if o["state"] == "open")
    assert offered.json()["owner"]["name"] == "Dan Duty"
    assert (
        next(o for o in offered.json()["offers"] if o["id"] == intake["id"])["state"] == "withdrawn"
    )

    accepted = cleo.post(f"/requests/{rid}/offers/{handoff['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["owner"]["name"] == "Cleo Clerk"

    due = clock.now + timedelta(hours=1)
    promised = cleo.post(
        f"/requests/{rid}/promises",
        json={"what": "Call back with the document", "due_at": due.isoformat()},
    )
    assert promised.status_code == 201, promised.text

    # The time passes without a call-back: the sweeper breaks the promise.
    clock.advance(hours=2)
    fired = sweep(db, clock.now)
    assert fired["promises broken"] == 1
    detail = asha.get(f"/requests/{rid}").json()
    assert [p["state"] for p in detail["promises"]] == ["broken"]

    # The update is overdue too: reminder, then escalation to the lead.
    clock.advance(hours=3)
    sweep(db, clock.now)
    clock.advance(hours=2)
    assert sweep(db, clock.now)["updates escalated"] == 1
    inbox = lee.get("/inbox").json()
    assert any(n["kind"] == "escalation" and n["request_id"] == rid for n in inbox["items"])

    resolved = cleo.post(
        f"/requests/{rid}/resolve", json={"resolution": "Address corrected, document resent"}
    )
    assert resolved.json()["state"] == "resolved"
    assert asha.post(f"/requests/{rid}/confirm").json()["state"] == "closed"
    rated = asha.post(
        f"/requests/{rid}/rating",
        json={"understand": 4, "own": 3, "serve": 4, "communicate": 1, "comment": "no call"},
    )
    assert rated.status_code == 201, rated.text
    assert rated.json()["rating"]["communicate"] == 1

    kinds = [e["kind"] for e in asha.get(f"/requests/{rid}/events").json()]
    assert kinds == [
        "opened",
        "offered",
        "withdrawn",
        "offered",
        "accepted",
        "promise_made",
        "promise_broken",
        "update_reminded",
        "update_escalated",
        "resolved",
        "closed",
        "rated",
    ]
    case_view = asha.get(f"/cases/{case['id']}").json()
    assert [r["id"] for r in case_view["requests"]] == [rid]


def test_bad_input_names_the_field_and_changes_nothing(
    db: Database, world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha = live_server.client(tokens["asha"])
    before = _events(db)
    unknown = asha.post("/requests", json={"title": "t", "need": "n", "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == PROBLEM
    assert {"field": "colour", "message": "is not a field this accepts"} in unknown.json()["errors"]
    missing = asha.post("/requests", json={"title": "t"})
    assert missing.json()["field"] == "need"
    wrong_type = asha.post(
        "/requests", json={"title": "t", "need": "n", "impact_customers": "many"}
    )
    assert wrong_type.json()["field"] == "impact_customers"
    no_service = asha.post("/requests", json={"title": "t", "need": "n", "service_id": 999})
    assert no_service.status_code == 404
    assert no_service.json()["field"] == "service_id"
    past = asha.post(
        "/requests",
        json={
            "title": "t",
            "need": "n",
            "service_id": world.services["correct_policy"],
            "desired_by": "2000-01-01T00:00:00Z",
        },
    )
    assert past.json()["field"] == "desired_by"
    rid = _open(asha, world)["id"]
    after_open = _events(db)
    assert after_open == before + 2
    blank_reason = live_server.client(tokens["cleo"]).post(
        f"/requests/{rid}/offers/1/decline", json={"reason": ""}
    )
    assert blank_reason.status_code == 422
    assert blank_reason.json()["field"] == "reason"
    not_owner = live_server.client(tokens["otto"]).post(
        f"/requests/{rid}/resolve", json={"resolution": "done"}
    )
    assert not_owner.status_code == 404
    wrong_state = asha.post(f"/requests/{rid}/confirm")
    assert wrong_state.status_code == 409
    assert wrong_state.json()["field"] == "state"
    assert "is new" in wrong_state.json()["detail"]
    assert _events(db) == after_open
    assert asha.get("/requests", params={"sort": "colour"}).json()["field"] == "sort"
    assert asha.get("/requests", params={"limit": 0}).json()["field"] == "limit"
    assert asha.get("/requests", params={"state": "lost"}).json()["field"] == "state"


def test_idempotency_key_replays_the_first_answer(
    db: Database, world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha = live_server.client(tokens["asha"])
    body = {"title": "Once", "need": "only once", "service_id": world.services["correct_policy"]}
    first = asha.post("/requests", json=body, headers={"Idempotency-Key": "k-1"})
    again = asha.post("/requests", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    changed = asha.post(
        "/requests", json={**body, "title": "Twice"}, headers={"Idempotency-Key": "k-1"}
    )
    assert changed.status_code == 409
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 1


def test_stale_version_gets_409_with_the_current_version(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha, dan = live_server.client(tokens["asha"]), live_server.client(tokens["dan"])
    rid = _open(asha, world)["id"]
    seen = dan.get(f"/requests/{rid}")
    etag = seen.headers["etag"]
    assert (
        dan.post(
            f"/requests/{rid}/updates", json={"body": "on it"}, headers={"If-Match": etag}
        ).status_code
        == 201
    )
    stale = dan.post(f"/requests/{rid}/updates", json={"body": "again"}, headers={"If-Match": etag})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == seen.json()["version"] + 1
    stale_body = dan.post(
        f"/requests/{rid}/updates", json={"body": "again", "version": seen.json()["version"]}
    )
    assert stale_body.status_code == 409


def test_lists_filter_sort_and_page(
    world: World, live_server: LiveServer, tokens: dict[str, str], clock: Clock
) -> None:
    asha, cleo = live_server.client(tokens["asha"]), live_server.client(tokens["cleo"])
    ids = [_open(asha, world, title=f"Request {i}")["id"] for i in range(3)]
    page = asha.get("/requests", params={"limit": 2, "sort": "id"}).json()
    assert [r["id"] for r in page["items"]] == ids[:2]
    assert page["has_more"]
    assert [
        r["id"]
        for r in asha.get("/requests", params={"limit": 2, "offset": 2, "sort": "id"}).json()[
            "items"
        ]
    ] == ids[2:]
    intake = cleo.get(f"/requests/{ids[0]}").json()["offers"][0]["id"]
    cleo.post(f"/requests/{ids[0]}/offers/{intake}/accept")
    mine = cleo.get("/requests", params={"owner_id": world.people["cleo"]}).json()["items"]
    assert [r["id"] for r in mine] == [ids[0]]
    assert len(cleo.get("/requests", params={"state": "new"}).json()["items"]) == 2
    assert cleo.get("/requests", params={"overdue": True}).json()["items"] == []
    clock.advance(days=2)
    assert len(cleo.get("/requests", params={"overdue": True}).json()["items"]) == 3
    assert cleo.get("/requests", params={"bounced": True}).json()["items"] == []


def test_confidential_requests_are_invisible_to_outsiders(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    otto, cleo, hana = (live_server.client(tokens[h]) for h in ("otto", "cleo", "hana"))
    rid = _open(otto, world, service_id=world.services["grievance"], title="Grievance")["id"]
    assert cleo.get(f"/requests/{rid}").status_code == 404
    assert rid not in [r["id"] for r in cleo.get("/requests").json()["items"]]
    assert hana.get(f"/requests/{rid}").status_code == 200
    assert live_server.client(tokens["ada"]).get(f"/requests/{rid}").status_code == 404


def test_only_admins_change_the_organisation(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha, ada = live_server.client(tokens["asha"]), live_server.client(tokens["ada"])
    assert asha.post("/departments", json={"name": "Finance"}).status_code == 403
    finance = ada.post("/departments", json={"name": "Finance"})
    assert finance.status_code == 201
    team = ada.post(
        "/teams",
        json={
            "department_id": finance.json()["id"],
            "name": "Payments",
            "timezone": "Europe/London",
            "lead_id": world.people["otto"],
        },
    )
    assert team.status_code == 201, team.text
    assert team.json()["member_ids"] == [world.people["otto"]]
    bad_zone = ada.post(
        "/teams",
        json={"department_id": finance.json()["id"], "name": "X", "timezone": "Mars/Olympus"},
    )
    assert bad_zone.status_code == 422
    assert bad_zone.json()["field"] == "timezone"
    service = ada.post(
        "/services",
        json={"team_id": team.json()["id"], "name": "Refund", "resolve_target_hours": 8},
    )
    assert service.status_code == 201
    assert (
        ada.post("/services", json={"team_id": team.json()["id"], "name": "Refund"}).status_code
        == 409
    )
    preview = asha.get(f"/services/{service.json()['id']}/timescale").json()
    assert preview["likely_business_hours"] == 8
    assert not preview["from_history"]


def test_prefer_return_minimal_answers_changes_briefly(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha, cleo = live_server.client(tokens["asha"]), live_server.client(tokens["cleo"])
    minimal = {"Prefer": "return=minimal"}
    body = {"title": "Brief", "need": "n", "service_id": world.services["correct_policy"]}
    opened = asha.post("/requests", json=body, headers=minimal)
    assert opened.status_code == 201
    assert opened.headers["preference-applied"] == "return=minimal"
    assert set(opened.json()) == {"id", "state", "version", "owner_id", "team_id"}
    assert opened.json()["owner_id"] == world.people["dan"]
    rid = opened.json()["id"]
    intake = cleo.get(f"/requests/{rid}").json()["offers"][0]["id"]
    accepted = cleo.post(f"/requests/{rid}/offers/{intake}/accept", headers=minimal)
    assert accepted.json()["owner_id"] == world.people["cleo"]
    assert accepted.headers["etag"] == f'"{accepted.json()["version"]}"'
    full = cleo.post(f"/requests/{rid}/updates", json={"body": "on it"})
    assert full.json()["updates"][0]["body"] == "on it"


def test_a_minimal_answer_to_an_offer_names_the_new_offer(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha, dan, cleo = (live_server.client(tokens[h]) for h in ("asha", "dan", "cleo"))
    rid = _open(asha, world)["id"]
    offered = dan.post(
        f"/requests/{rid}/offers",
        json={"to_team_id": world.teams["admin"], "to_person_id": world.people["cleo"]},
        headers={"Prefer": "return=minimal"},
    )
    assert offered.status_code == 201
    offer_id = offered.json()["offer_id"]
    assert (
        cleo.post(f"/requests/{rid}/offers/{offer_id}/accept").json()["owner"]["name"]
        == "Cleo Clerk"
    )
