"""The API's times: ISO 8601 with any offset in, the same instant always answered in UTC ("Z");
a time without an offset is refused, naming the field. The caller's profile zone plays no part:
an API client states its offset (docs/web.md, "Times and time zones")."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from followthrough.db import Database
from followthrough.org.models import Person
from tests.conftest import LiveServer
from tests.factories import World


def _request_owned_by_cleo(world: World, clients: dict[str, httpx.Client]) -> int:
    opened = clients["asha"].post(
        "/requests",
        json={
            "title": "Policy P-100 has the wrong address",
            "need": "Correct the address so claim C-1 can be paid",
            "service_id": world.services["correct_policy"],
            "desired_by": "2026-03-10T17:00:00+05:30",
        },
    )
    assert opened.status_code == 201, opened.text
    rid = int(opened.json()["id"])
    offered = clients["dan"].post(
        f"/requests/{rid}/offers",
        json={"to_team_id": world.teams["admin"], "to_person_id": world.people["cleo"]},
    )
    assert offered.status_code == 201, offered.text
    offer = next(o for o in offered.json()["offers"] if o["state"] == "open")
    accepted = clients["cleo"].post(f"/requests/{rid}/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    return rid


@pytest.mark.parametrize(
    ("sent", "instant"),
    [
        ("2026-03-02T18:30:00+05:30", datetime(2026, 3, 2, 13, 0, tzinfo=UTC)),
        ("2026-03-02T08:00:00-05:00", datetime(2026, 3, 2, 13, 0, tzinfo=UTC)),
        ("2026-03-03T00:00:00+11:00", datetime(2026, 3, 2, 13, 0, tzinfo=UTC)),
        ("2026-03-02T13:00:00Z", datetime(2026, 3, 2, 13, 0, tzinfo=UTC)),
    ],
)
def test_any_offset_is_accepted_and_answered_in_utc(
    db: Database,
    world: World,
    live_server: LiveServer,
    tokens: dict[str, str],
    sent: str,
    instant: datetime,
) -> None:
    clients = {h: live_server.client(tokens[h]) for h in ("asha", "dan", "cleo")}
    # Cleo's profile zone does not change how the API reads or answers her times.
    with db.unit_of_work() as session:
        person = session.get(Person, world.people["cleo"])
        assert person is not None
        person.timezone = "Asia/Kolkata"
    rid = _request_owned_by_cleo(world, clients)
    made = clients["cleo"].post(
        f"/requests/{rid}/promises", json={"what": "Call back", "due_at": sent}
    )
    assert made.status_code == 201, made.text
    (promise,) = made.json()["promises"]
    assert promise["due_at"] == instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = clients["asha"].get(f"/requests/{rid}").json()
    assert detail["desired_by"] == "2026-03-10T11:30:00Z"  # 17:00 at +05:30
    for value in (detail["opened_at"], detail["next_update_due_at"], detail["resolve_due_at"]):
        assert value.endswith("Z")


def test_a_time_without_an_offset_is_refused_naming_the_field(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    clients = {h: live_server.client(tokens[h]) for h in ("asha", "dan", "cleo")}
    rid = _request_owned_by_cleo(world, clients)
    refused = clients["cleo"].post(
        f"/requests/{rid}/promises", json={"what": "Call back", "due_at": "2026-03-02T18:30"}
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["field"] == "due_at"
