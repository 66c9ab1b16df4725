"""The admin's download of the role plays' learning records, over real HTTP."""

from __future__ import annotations

from datetime import timedelta

from followthrough.db import Database
from followthrough.practice.roleplay import xapi
from tests.conftest import Clock, LiveServer, issue_tokens
from tests.factories import World
from tests.web.pages import Visitor


def test_an_admin_downloads_the_learning_records_and_nobody_else_may(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    tokens = issue_tokens(db, world, clock)
    player = next(handle for handle in sorted(tokens) if handle != "ada")
    api = live_server.client(tokens[player])
    started = api.post("/roleplay/attempts", json={"scenario": "operations-peer"})
    assert started.status_code == 201, started.text
    turn = api.post(f"/roleplay/attempts/{started.json()['id']}/turns", json={"choice": 0})
    assert turn.status_code == 201, turn.text

    admin = live_server.client(tokens["ada"])
    day = clock.now.date().isoformat()
    download = admin.get("/admin/learning-records", params={"since": day})
    assert download.status_code == 200, download.text
    assert download.headers["content-disposition"] == (
        f'attachment; filename="learning-records-since-{day}.json"'
    )
    statements = download.json()
    assert [s["verb"]["display"]["en-US"] for s in statements] == ["attempted", "answered"]
    for statement in statements:
        assert xapi.problems(statement) == []
        assert statement["actor"]["account"]["name"] == player
    assert statements[0]["object"]["id"].endswith("/xapi/activities/roleplay/operations-peer")
    assert "/xapi/activities/roleplay/operations-peer/steps/" in statements[1]["object"]["id"]
    # Everything, without a day; nothing from tomorrow on.
    assert len(admin.get("/admin/learning-records").json()) == 2
    tomorrow = (clock.now + timedelta(days=1)).date().isoformat()
    assert admin.get("/admin/learning-records", params={"since": tomorrow}).json() == []

    refused = api.get("/admin/learning-records")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    bad = admin.get("/admin/learning-records", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "since" in bad.text


def test_the_admin_page_offers_the_download_from_a_day(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    visitor = Visitor(live_server.base_url)
    try:
        assert visitor.sign_in("ada").status_code == 303
        page = visitor.get("/admin")
        assert page.status_code == 200
        assert 'action="/api/v1/admin/learning-records"' in page.text
        assert 'name="since" type="date"' in page.text
        # Left empty, the form asks for every record (not a refusal).
        everything = visitor.get("/api/v1/admin/learning-records?since=")
        assert everything.status_code == 200
        assert everything.headers["content-disposition"].endswith(
            'filename="learning-records.json"'
        )
        # The form's own request, with the admin's sign-in cookie: the file.
        day = clock.now.date().isoformat()
        download = visitor.get(f"/api/v1/admin/learning-records?since={day}")
        assert download.status_code == 200
        assert download.headers["content-disposition"].startswith("attachment;")
        assert download.json() == []
    finally:
        visitor.close()
