"""Customer cases over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from followthrough.db import Database
from followthrough.requests.models import Request
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


def test_a_case_has_no_date_while_one_open_request_has_no_certified_one(
    db: Database, world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    """The customer is told the latest 8-in-10 date of what the case waits on, and nothing when
    one of those requests has too little history behind it to be sure."""
    asha = live_server.client(tokens["asha"])
    case_id = asha.post("/cases", json={"reference": "CLM-9", "customer": "Ms Okafor"}).json()["id"]
    opened = [
        asha.post(
            "/requests",
            json={
                "title": title,
                "need": "Fix the policy",
                "team_id": world.teams["admin"],
                "case_ids": [case_id],
            },
        ).json()["id"]
        for title in ("Policy date wrong", "Premium not refunded")
    ]
    sure = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    with db.unit_of_work() as session:
        first, second = (session.get(Request, i) for i in opened)
        assert first is not None
        assert second is not None
        first.eta_likely_at, first.eta_basis = sure, "8 in 10 within 2 business days"
        second.eta_likely_at = None
        second.eta_basis = "More than 3 business days; too little history to be sure"
    assert asha.get(f"/cases/{case_id}").json()["latest_likely_at"] is None

    with db.unit_of_work() as session:
        second = session.get(Request, opened[1])
        assert second is not None
        second.eta_likely_at = sure + timedelta(days=1)
    latest = asha.get(f"/cases/{case_id}").json()["latest_likely_at"]
    assert datetime.fromisoformat(latest) == sure + timedelta(days=1)
