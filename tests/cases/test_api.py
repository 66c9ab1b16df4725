"""Customer cases over real HTTP."""

from __future__ import annotations

from tests.conftest import LiveServer
from tests.factories import World


def test_cases_are_found_by_reference_or_customer(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha = live_server.client(tokens["asha"])
    asha.post("/cases", json={"reference": "CLM-7", "customer": "Mrs Jones"})
    asha.post("/cases", json={"reference": "CLM-8", "customer": "Mr Patel"})
    assert [c["reference"] for c in asha.get("/cases", params={"q": "jones"}).json()] == ["CLM-7"]
    assert [c["reference"] for c in asha.get("/cases", params={"q": "CLM"}).json()] == [
        "CLM-8",
        "CLM-7",
    ]
    duplicate = asha.post("/cases", json={"reference": "CLM-7", "customer": "Someone"})
    assert duplicate.status_code == 409
    assert duplicate.json()["field"] == "reference"
