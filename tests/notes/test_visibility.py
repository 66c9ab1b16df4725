"""Internal notes are for the people working a request, and nobody else sees a trace of them:
not the requester, not another team, not an admin — in the API, the history or the page."""

from __future__ import annotations

import pytest

from followthrough.db import Database
from followthrough.org.actors import Actor
from followthrough.requests.access import WorkingTeams, may_see_internal_notes
from followthrough.requests.service import NewRequest, open_request
from tests.conftest import Clock, LiveServer, issue_tokens
from tests.factories import World
from tests.web.pages import Visitor

NOTE = "Policy HM-1234 sits on the old system; Kestrel-Note-58"

# (viewer, working facts) -> may see. Requester 1, owner 2; teams 10 (holds it), 20 (in its
# path), 30 (named by an open offer); 40 has nothing to do with it.
WORKING = WorkingTeams(requester_id=1, owner_id=2, team_ids=frozenset({10, 20, 30}))


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [
        (Actor(person_id=1), False),  # the requester
        (Actor(person_id=1, team_ids=frozenset({10})), False),  # the requester, even in the team
        (Actor(person_id=2), True),  # the owner, whatever their teams
        (Actor(person_id=3, team_ids=frozenset({10})), True),  # the owner's teammate
        (Actor(person_id=4, team_ids=frozenset({20})), True),  # a team it passed through
        (Actor(person_id=5, team_ids=frozenset({30})), True),  # the team it is offered to
        (Actor(person_id=6, team_ids=frozenset({40})), False),  # another team
        (Actor(person_id=7, is_admin=True), False),  # an admin
        (Actor(person_id=8, is_admin=True, team_ids=frozenset({20})), True),  # admin in a team
    ],
)
def test_the_rule(viewer: Actor, sees: bool) -> None:
    assert may_see_internal_notes(viewer, WORKING) is sees


# Over HTTP: otto raised a policy fix; Policy Admin holds it (dan the duty owner, cleo, lee)
# and offers it to Claims (asha, carl lead); HR (hana) and Triage (tess) have nothing to do
# with it; ada is an admin.
WHILE_OFFERED = {
    "otto": 403,  # the requester: reads the request, never its notes
    "dan": 200,  # owner
    "cleo": 200,  # owner's teammate
    "lee": 200,  # owner's lead
    "asha": 200,  # the team it is offered to
    "carl": 200,
    "hana": 404,  # another team: may not even read the request
    "tess": 404,
    "ada": 403,  # admin: reads the request, not its notes
}
# After asha accepts: Claims holds it; Policy Admin is in its path. Who may read a request
# decides first: dan, who owned it, still takes part and sees the notes; cleo and lee, whose
# team only passed it on, no longer read the request at all.
AFTER_HANDOFF = {**WHILE_OFFERED, "cleo": 404, "lee": 404}


def test_who_sees_internal_notes_over_the_api_the_history_and_the_page(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    with db.unit_of_work() as session:
        rid = open_request(
            session,
            world.actor(session, "otto"),
            NewRequest(
                title="Correct my policy schedule",
                need="The schedule names the wrong car",
                service_id=world.services["correct_policy"],
            ),
            clock.now,
        ).id
    tokens = issue_tokens(db, world, clock)
    api = {handle: live_server.client(token) for handle, token in tokens.items()}
    added = api["dan"].post(f"/requests/{rid}/notes", json={"body": NOTE})
    assert added.status_code == 201, added.text
    assert added.json()["internal"] is True
    offered = api["dan"].post(f"/requests/{rid}/offers", json={"to_team_id": world.teams["claims"]})
    assert offered.status_code == 201, offered.text

    def check(table: dict[str, int]) -> None:
        for handle, status in table.items():
            notes = api[handle].get(f"/requests/{rid}/notes")
            assert notes.status_code == status, (handle, notes.text)
            events = api[handle].get(f"/requests/{rid}/events")
            detail = api[handle].get(f"/requests/{rid}")
            if status == 200:
                assert [n["body"] for n in notes.json()] == [NOTE]
                assert "note_added" in [e["kind"] for e in events.json()]
            else:
                assert "Kestrel-Note-58" not in notes.text
                assert "Kestrel-Note-58" not in events.text + detail.text
                if events.status_code == 200:
                    assert "note_added" not in [e["kind"] for e in events.json()]

    check(WHILE_OFFERED)
    # Only those who see the notes may add one.
    assert api["otto"].post(f"/requests/{rid}/notes", json={"body": "x"}).status_code == 403
    assert api["ada"].post(f"/requests/{rid}/notes", json={"body": "x"}).status_code == 403
    assert api["hana"].post(f"/requests/{rid}/notes", json={"body": "x"}).status_code == 404
    assert api["asha"].post(f"/requests/{rid}/notes", json={"body": "  "}).status_code == 422

    offer_id = next(o["id"] for o in offered.json()["offers"] if o["state"] == "open")
    accepted = api["asha"].post(f"/requests/{rid}/offers/{offer_id}/accept")
    assert accepted.status_code == 200, accepted.text
    check(AFTER_HANDOFF)

    # The page: marked internal for those who work it; no trace for the requester.
    for handle, shown in (("dan", True), ("asha", True), ("otto", False), ("ada", False)):
        visitor = Visitor(live_server.base_url)
        try:
            assert visitor.sign_in(handle).status_code == 303
            page = visitor.get(f"/requests/{rid}").text
            assert ("Kestrel-Note-58" in page) is shown, handle
            assert ('id="notes"' in page) is shown
            assert ("added an internal note" in page) is shown
            if shown:
                assert "internal-tag" in page
                assert "never the requester" in page
        finally:
            visitor.close()


def test_a_requester_posting_a_note_on_the_page_is_refused_and_nothing_is_kept(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    with db.unit_of_work() as session:
        rid = open_request(
            session,
            world.actor(session, "otto"),
            NewRequest(title="Fix", need="Please", service_id=world.services["correct_policy"]),
            clock.now,
        ).id
    visitor = Visitor(live_server.base_url)
    try:
        visitor.sign_in("otto")
        answer = visitor.post(f"/requests/{rid}/notes", {"body": "let me in"})
        assert answer.status_code == 403
        assert "only for the teams working this request" in answer.text
        visitor.close()
        visitor = Visitor(live_server.base_url)
        visitor.sign_in("cleo")
        posted = visitor.post(f"/requests/{rid}/notes", {"body": "Checked the old system"})
        assert posted.status_code == 303
        page = visitor.get(posted.headers["location"]).text
        assert "Internal note added." in page
        assert "Checked the old system" in page
        empty = visitor.post(f"/requests/{rid}/notes", {"body": ""})
        assert empty.status_code == 422
        assert 'id="note-body-error"' in empty.text
    finally:
        visitor.close()
    tokens = issue_tokens(db, world, clock)
    notes = live_server.client(tokens["dan"]).get(f"/requests/{rid}/notes").json()
    assert [n["body"] for n in notes] == ["Checked the old system"]
