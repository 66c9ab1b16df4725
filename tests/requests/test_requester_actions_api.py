"""Withdraw and merge over real HTTP (SQLite and PostgreSQL): the answers, the problem documents
naming the field, and the links between a duplicate and the request it went into."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer
from tests.factories import World

PROBLEM = "application/problem+json"


def _open(client: httpx.Client, world: World, title: str) -> int:
    response = client.post(
        "/requests",
        json={"title": title, "need": "Fix it", "service_id": world.services["correct_policy"]},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_withdraw_over_http(world: World, live_server: LiveServer, tokens: dict[str, str]) -> None:
    asha, cleo = (live_server.client(tokens[h]) for h in ("asha", "cleo"))
    rid = _open(asha, world, "No longer needed")

    refused = asha.post(f"/requests/{rid}/withdraw", json={"reason": ""})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["field"] == "reason"

    not_theirs = cleo.post(f"/requests/{rid}/withdraw", json={"reason": "tidy up"})
    assert not_theirs.status_code == 403
    assert not_theirs.headers["content-type"] == PROBLEM

    stale = asha.post(f"/requests/{rid}/withdraw", json={"reason": "sorted", "version": 999})
    assert stale.status_code == 409

    done = asha.post(f"/requests/{rid}/withdraw", json={"reason": "Sorted it myself"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["state"], body["resolved_at"]) == ("withdrawn", None)
    assert body["closed_at"] is not None
    assert [o["state"] for o in body["offers"]] == ["withdrawn"]
    # The same again answers the same, and writes nothing more.
    events = len(asha.get(f"/requests/{rid}/events").json())
    again = asha.post(f"/requests/{rid}/withdraw", json={"reason": "Sorted it myself"})
    assert again.status_code == 200
    assert again.json()["version"] == body["version"]
    assert len(asha.get(f"/requests/{rid}/events").json()) == events


def test_withdrawing_a_closed_request_is_a_conflict(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha, cleo = (live_server.client(tokens[h]) for h in ("asha", "cleo"))
    rid = _open(asha, world, "Done already")
    intake = asha.get(f"/requests/{rid}").json()["offers"][0]["id"]
    assert cleo.post(f"/requests/{rid}/offers/{intake}/accept").status_code == 200
    assert cleo.post(f"/requests/{rid}/resolve", json={"resolution": "done"}).status_code == 200
    assert asha.post(f"/requests/{rid}/confirm").status_code == 200
    refused = asha.post(f"/requests/{rid}/withdraw", json={"reason": "too late"})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["field"] == "state"


def test_merge_over_http(world: World, live_server: LiveServer, tokens: dict[str, str]) -> None:
    asha, otto, dan = (live_server.client(tokens[h]) for h in ("asha", "otto", "dan"))
    into = _open(asha, world, "HM-1234 wrong address")
    duplicate = _open(otto, world, "HM-1234 address")

    assert otto.get(f"/requests/{into}").status_code == 404  # not his, not yet
    unknown = dan.post(f"/requests/{duplicate}/merge", json={"into_id": 999_999})
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "into_id"
    itself = dan.post(f"/requests/{duplicate}/merge", json={"into_id": duplicate})
    assert itself.status_code == 422
    assert itself.json()["field"] == "into_id"
    assert otto.post(f"/requests/{duplicate}/merge", json={"into_id": into}).status_code == 403

    merged = dan.post(f"/requests/{duplicate}/merge", json={"into_id": into, "note": "same"})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["state"] == "merged"
    assert body["merged_into"] == {"id": into, "title": "HM-1234 wrong address", "state": "new"}
    # The duplicate's requester reads the request it went into, which links back to it.
    target = otto.get(f"/requests/{into}")
    assert target.status_code == 200
    assert target.json()["merged_from"] == [
        {"id": duplicate, "title": "HM-1234 address", "state": "merged"}
    ]
    # No way back: the merged one is no longer open.
    back = dan.post(f"/requests/{into}/merge", json={"into_id": duplicate})
    assert back.status_code == 409
    assert back.json()["field"] == "into_id"
