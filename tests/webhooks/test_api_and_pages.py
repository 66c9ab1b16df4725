"""Webhooks over real HTTP: admins subscribe, read the log and replay through the API; the admin
pages show the same; anyone else is refused; bad input names its field."""

from __future__ import annotations

from standardwebhooks import Webhook

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.webhooks.delivery import deliver_due
from tests.conftest import Clock, LiveServer
from tests.factories import World, open_wrong_address
from tests.web.pages import Visitor
from tests.webhooks.receiver import receiving


def _open(db: Database, world: World, clock: Clock) -> int:
    with db.unit_of_work() as session:
        return open_wrong_address(session, world, clock())


def test_an_admin_subscribes_reads_the_log_and_replays_through_the_api(
    db: Database, world: World, clock: Clock, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ada, cleo = live_server.client(tokens["ada"]), live_server.client(tokens["cleo"])
    with receiving() as receiver:
        body = {"url": receiver.url, "kinds": ["opened"], "description": "Warehouse"}
        assert cleo.post("/webhooks", json=body).status_code == 403
        bad = ada.post("/webhooks", json={**body, "kinds": ["nonsense"]})
        assert bad.status_code == 422
        assert "kinds" in bad.text
        bad_url = ada.post("/webhooks", json={**body, "url": "ftp://example.com"})
        assert bad_url.status_code == 422
        assert "url" in bad_url.text
        made = ada.post("/webhooks", json=body)
        assert made.status_code == 201, made.text
        subscription = made.json()
        assert subscription["secret"].startswith("whsec_")
        assert subscription["kinds"] == ["opened"]
        request_id = _open(db, world, clock)
        assert deliver_due(db, Settings(database_url=db.url), clock()) == 1
        Webhook(subscription["secret"]).verify(
            receiver.received[0].body, receiver.received[0].headers
        )
        log = ada.get(f"/webhooks/{subscription['id']}/deliveries").json()
        assert log["total"] == 1
        line = log["items"][0]
        assert (line["event_kind"], line["request_id"], line["state"]) == (
            "opened",
            request_id,
            "delivered",
        )
        assert line["message_id"] == receiver.received[0].headers["webhook-id"]
        assert [a["status_code"] for a in line["attempts"]] == [200]
        assert cleo.get(f"/webhooks/{subscription['id']}/deliveries").status_code == 403
        replayed = ada.post(f"/webhooks/{subscription['id']}/deliveries/{line['id']}/replay")
        assert replayed.status_code == 202
        assert deliver_due(db, Settings(database_url=db.url), clock()) == 1
        assert len(receiver.received) == 2
        off = ada.patch(f"/webhooks/{subscription['id']}", json={"enabled": False})
        assert off.json()["enabled"] is False
        assert (
            ada.post(f"/webhooks/{subscription['id']}/deliveries/{line['id']}/replay").status_code
            == 409
        )
        assert ada.get("/webhooks/999999/deliveries").status_code == 404
        assert ada.delete(f"/webhooks/{subscription['id']}").status_code == 204
        assert ada.get("/webhooks").json() == []


def test_the_admin_pages_add_a_webhook_and_show_its_log(
    db: Database, world: World, clock: Clock, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ada = live_server.client(tokens["ada"])
    with receiving() as receiver:
        made = ada.post(
            "/webhooks",
            json={"url": receiver.url, "kinds": ["opened", "offered"], "description": "Warehouse"},
        ).json()
        _open(db, world, clock)
        deliver_due(db, Settings(database_url=db.url), clock())
    pages = Visitor(live_server.base_url)
    assert pages.sign_in("ada").status_code == 303
    listing = pages.get("/admin/webhooks")
    assert listing.status_code == 200
    assert "Warehouse" in listing.text
    detail = pages.get(f"/admin/webhooks/{made['id']}")
    assert detail.status_code == 200
    assert "What was sent" in detail.text
    assert "msg_ft" in detail.text
    assert "Delivered" in detail.text
    assert pages.get("/admin/webhooks/999999").status_code == 404
    # A new one from the form: a bad address is named, a good one lands on its page.
    bad = pages.post("/admin/webhooks", {"url": "not an address", "kinds": ["opened"]})
    assert bad.status_code == 422
    assert "must start with https://" in bad.text
    added = pages.post(
        "/admin/webhooks",
        {"url": "https://example.com/in", "kinds": ["resolved"], "description": "Reports"},
    )
    assert added.status_code == 303
    assert "Reports" in pages.get(added.headers["location"]).text
    switched = pages.post(f"/admin/webhooks/{made['id']}/enabled", {"enabled": "false"})
    assert switched.status_code == 303
    assert "switched off by an admin" in pages.get(f"/admin/webhooks/{made['id']}").text
    pages.close()
    cleo = Visitor(live_server.base_url)
    assert cleo.sign_in("cleo").status_code == 303
    assert cleo.get("/admin/webhooks").status_code == 403
    cleo.close()
