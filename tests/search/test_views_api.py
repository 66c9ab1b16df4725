"""Saved views over real HTTP, on SQLite and PostgreSQL: a person's own, and nobody else's."""

from __future__ import annotations

from followthrough.search.service import MAX_VIEW_NAME
from tests.conftest import LiveServer
from tests.factories import World


def test_a_view_is_saved_listed_renamed_and_deleted_by_its_owner_only(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    cleo = live_server.client(tokens["cleo"])
    asha = live_server.client(tokens["asha"])
    saved = cleo.post(
        "/views",
        json={
            "name": "  Overdue   at home ",
            "page": "team",
            # The queue's own filters are kept (sorted); anything else is dropped.
            "query": f"filter=overdue&team_id={world.teams['admin']}&evil=1&filter=bounced",
        },
    )
    assert saved.status_code == 201, saved.text
    view = saved.json()
    assert view["name"] == "Overdue at home"
    assert view["query"] == f"filter=bounced&filter=overdue&team_id={world.teams['admin']}"
    assert view["url"] == f"/team?{view['query']}"
    assert [v["name"] for v in cleo.get("/views").json()] == ["Overdue at home"]
    assert asha.get("/views").json() == []

    # Another person can neither rename nor delete it: for them it does not exist.
    assert asha.patch(f"/views/{view['id']}", json={"name": "Mine now"}).status_code == 404
    assert asha.delete(f"/views/{view['id']}").status_code == 404

    second = cleo.post("/views", json={"name": "Searches", "page": "search", "query": "q=refund"})
    assert second.status_code == 201
    taken = cleo.patch(f"/views/{second.json()['id']}", json={"name": "Overdue at home"})
    assert taken.status_code == 409
    assert taken.json()["field"] == "name"
    # The same name is fine for someone else.
    assert asha.post("/views", json={"name": "Overdue at home", "page": "board"}).status_code == 201

    renamed = cleo.patch(f"/views/{view['id']}", json={"name": "Late ones"})
    assert renamed.json()["name"] == "Late ones"
    assert [v["name"] for v in cleo.get("/views").json()] == ["Late ones", "Searches"]
    assert cleo.delete(f"/views/{view['id']}").status_code == 204
    assert [v["name"] for v in cleo.get("/views").json()] == ["Searches"]
    assert cleo.delete(f"/views/{view['id']}").status_code == 404


def test_a_view_names_its_page_and_has_a_name(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    cleo = live_server.client(tokens["cleo"])
    for body, field in (
        ({"name": "x", "page": "insight"}, "page"),
        ({"name": "   ", "page": "team"}, "name"),
        ({"name": "x" * (MAX_VIEW_NAME + 1), "page": "team"}, "name"),
        ({"name": "x", "page": "team", "query": "q=" + "a" * 2000}, "query"),
        ({"name": "x", "page": "team", "extra": 1}, "extra"),
    ):
        answer = cleo.post("/views", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["field"] == field, body
