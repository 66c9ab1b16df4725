"""Colleague feedback over real HTTP."""

from __future__ import annotations

from tests.conftest import LiveServer
from tests.factories import World


def test_colleague_feedback_is_situation_behaviour_impact_and_private(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha, cleo, otto = (live_server.client(tokens[h]) for h in ("asha", "cleo", "otto"))
    praise = {
        "to_person_id": world.people["cleo"],
        "kind": "praise",
        "situation": "The policy error on Mrs Jones's claim",
        "behaviour": "You called me back within the hour",
        "impact": "The customer was paid the same day",
    }
    assert asha.post("/feedback", json=praise).status_code == 201
    missing_impact = asha.post("/feedback", json={**praise, "impact": ""})
    assert missing_impact.status_code == 422
    assert missing_impact.json()["field"] == "impact"
    to_self = cleo.post("/feedback", json=praise)
    assert to_self.status_code == 422
    assert to_self.json()["field"] == "to_person_id"
    received = cleo.get("/feedback").json()
    assert [(f["kind"], f["from_person_id"]) for f in received] == [
        ("praise", world.people["asha"])
    ]
    assert otto.get("/feedback").json() == []
    assert [
        f["to_person_id"] for f in asha.get("/feedback", params={"direction": "given"}).json()
    ] == [world.people["cleo"]]
