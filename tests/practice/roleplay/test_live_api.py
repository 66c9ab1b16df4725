"""The live role-play API over real HTTP on SQLite and PostgreSQL: a facilitator opens a session,
a participant and an observer join with the code, the participant answers, the observer scores
and notes, everyone reads the side-by-side scores, the facilitator closes and reads the debrief;
refusals are problem documents naming their field, and the description documents every route."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from followthrough.db import Database
from followthrough.learning import service as learning
from followthrough.practice.roleplay import scoring
from followthrough.practice.roleplay.embedding import WordLlamaEmbedder, load_embedder
from tests.conftest import T0, Clock, LiveServer
from tests.factories import World
from tests.practice.roleplay.test_model_loading import OpenTransactions

PROBLEM = "application/problem+json"
REPLY = "That sounds really stressful. What does Mr Patel need from us now?"


def _problem(answer: httpx.Response, status: int, field: str | None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    if field is not None:
        assert body.get("field") == field or field in str(body.get("errors", "")), body
    return body


@pytest.fixture
def api(live_server: LiveServer, tokens: dict[str, str]) -> dict[str, httpx.Client]:
    return {h: live_server.client(tokens[h]) for h in ("lee", "asha", "cleo", "otto", "dan")}


def test_a_session_is_played_scored_and_debriefed_over_the_api(
    api: dict[str, httpx.Client], world: World
) -> None:
    lee, asha, cleo, otto = api["lee"], api["asha"], api["cleo"], api["otto"]
    opened = lee.post("/roleplay/live", json={"scenario": "missed-call-back"})
    assert opened.status_code == 201, opened.text
    session = opened.json()
    live_id, code = session["id"], session["code"]
    assert session["facilitating"] is True
    assert session["groups"] == []
    assert session["cohort"] is None

    # Typed on a phone: lower case, a space; the answer is the session as the joiner sees it.
    joined = asha.post(
        "/roleplay/live/join",
        json={"code": f"{code[:3].lower()} {code[3:]}", "group": 1, "role": "participant"},
    )
    assert joined.status_code == 200, joined.text
    mine = joined.json()
    assert mine["you"]["role"] == "participant"
    assert mine["you"]["person_id"] == world.people["asha"]
    (group,) = mine["groups"]
    assert group["turns_taken"] == 0
    assert len(group["step"]["choices"]) > 0
    observer = cleo.post("/roleplay/live/join", json={"code": code, "group": 1, "role": "observer"})
    assert observer.status_code == 200, observer.text
    # Someone who did not join does not learn the session exists.
    _problem(otto.get(f"/roleplay/live/{live_id}"), 404, None)

    first = asha.post(f"/roleplay/live/{live_id}/turns", json={"choice": 0, "turn": 0})
    assert first.status_code == 201, first.text
    assert first.json()["kind"] == "choice"
    reply = asha.post(f"/roleplay/live/{live_id}/turns", json={"text": REPLY, "turn": 1})
    assert reply.status_code == 201, reply.text
    assert reply.json()["number"] == 2
    scored = cleo.post(
        f"/roleplay/live/{live_id}/marks",
        json={"kind": "score", "turn": 2, "heard": ["asks_need"], "text": "Asked well"},
    )
    assert scored.status_code == 201, scored.text
    assert [m["kind"] for m in scored.json()] == ["score", "note"]
    self_score = asha.post(
        f"/roleplay/live/{live_id}/marks",
        json={"kind": "score", "turn": 2, "heard": ["asks_need", "checks_back"]},
    )
    assert self_score.status_code == 201, self_score.text

    state = lee.get(f"/roleplay/live/{live_id}").json()
    (board,) = state["groups"]
    assert [m["role"] for m in board["members"]] == ["participant", "observer"]
    choice, answer = board["rounds"]
    assert choice["automatic"] is None
    assert answer["turn"]["text"] == REPLY
    # Side by side: the observer heard the need asked; the participant also claimed a check
    # back; the scorer found need, feeling and the customer (see test_service).
    assert answer["observer"] == {
        "heard": ["asks_need"],
        "blocks": {"understand": 1, "own": 0, "serve": 0, "communicate": 0},
        "total": 1,
    }
    assert answer["participant"]["heard"] == ["asks_need", "checks_back"]
    assert answer["participant"]["total"] == 2
    assert answer["automatic"]["heard"] == ["acknowledges_feeling", "asks_need", "customer_view"]
    assert [n["text"] for n in answer["notes"]] == ["Asked well"]
    # Observer and scorer agree on 6 of the 8 behaviours (not on feeling nor the customer).
    assert (board["agreement"]["agreed"], board["agreement"]["decisions"]) == (6, 8)
    # The version screens poll moved once with each change: two joins, two turns, a score
    # saved with its note, and a self-score.
    assert state["version"] == 6

    # Only the facilitator ends it; the answer is the debrief.
    _problem(asha.post(f"/roleplay/live/{live_id}/close"), 403, None)
    closed = lee.post(f"/roleplay/live/{live_id}/close")
    assert closed.status_code == 200, closed.text
    debrief = closed.json()
    assert debrief["session"]["closed_at"] is not None
    assert debrief["replies"] == 1
    assert debrief["means"]["observer"]["understand"] == 1.0
    assert debrief["means"]["participant"]["communicate"] == 1.0
    assert debrief["agreement"]["share"] == pytest.approx(6 / 8)
    # A member reads the same debrief of the session, showing their own group.
    assert asha.get(f"/roleplay/live/{live_id}/debrief").json()["replies"] == 1
    # Nothing more is taken once it has ended.
    late = cleo.post(
        f"/roleplay/live/{live_id}/marks", json={"kind": "note", "turn": 2, "text": "x"}
    )
    _problem(late, 409, None)
    listed = asha.get("/roleplay/live").json()
    assert [s["id"] for s in listed][:1] == [live_id]
    assert listed[0]["facilitating"] is False


def test_refusals_name_the_field(api: dict[str, httpx.Client]) -> None:
    lee, asha, cleo, otto = api["lee"], api["asha"], api["cleo"], api["otto"]
    _problem(lee.post("/roleplay/live", json={"scenario": "nope"}), 404, "scenario")
    code = lee.post("/roleplay/live", json={"scenario": "bad-day"}).json()["code"]
    live_id = lee.get("/roleplay/live").json()[0]["id"]
    _problem(
        asha.post("/roleplay/live/join", json={"code": "ZZZZZZ", "group": 1, "role": "observer"}),
        422,
        "code",
    )
    _problem(
        asha.post("/roleplay/live/join", json={"code": code, "group": 0, "role": "observer"}),
        422,
        "group",
    )
    _problem(
        asha.post("/roleplay/live/join", json={"code": code, "group": 1, "role": "boss"}),
        422,
        "role",
    )
    _problem(
        asha.post(
            "/roleplay/live/join", json={"code": code, "group": 1, "role": "observer", "x": 1}
        ),
        422,
        None,
    )
    assert (
        asha.post(
            "/roleplay/live/join", json={"code": code, "group": 1, "role": "participant"}
        ).status_code
        == 200
    )
    _problem(
        cleo.post("/roleplay/live/join", json={"code": code, "group": 1, "role": "participant"}),
        409,
        "role",
    )
    cleo.post("/roleplay/live/join", json={"code": code, "group": 1, "role": "observer"})
    # Only the participant answers; an answer is a choice or a text, not both.
    _problem(cleo.post(f"/roleplay/live/{live_id}/turns", json={"choice": 0}), 403, None)
    _problem(
        asha.post(f"/roleplay/live/{live_id}/turns", json={"choice": 0, "text": "hi"}),
        422,
        "choice",
    )
    assert asha.post(f"/roleplay/live/{live_id}/turns", json={"choice": 0, "turn": 0}).is_success
    _problem(
        asha.post(f"/roleplay/live/{live_id}/turns", json={"choice": 0, "turn": 0}), 409, "turn"
    )
    # Marks: a behaviour not in the rubric, a turn not taken, a kind the role may not add.
    _problem(
        cleo.post(
            f"/roleplay/live/{live_id}/marks",
            json={"kind": "score", "turn": 1, "heard": ["charm"]},
        ),
        422,
        "heard",
    )
    _problem(
        cleo.post(f"/roleplay/live/{live_id}/marks", json={"kind": "score", "turn": 5}),
        422,
        "turn",
    )
    _problem(
        cleo.post(f"/roleplay/live/{live_id}/marks", json={"kind": "line", "text": "Hi"}),
        403,
        None,
    )
    _problem(
        cleo.post(f"/roleplay/live/{live_id}/marks", json={"kind": "shout", "turn": 1}),
        422,
        "kind",
    )
    _problem(otto.post(f"/roleplay/live/{live_id}/marks", json={"kind": "note"}), 404, None)
    _problem(otto.get(f"/roleplay/live/{live_id}/debrief"), 404, None)


def test_a_session_held_for_a_cohort_needs_a_learning_lead(
    api: dict[str, httpx.Client], db: Database, world: World, clock: Clock
) -> None:
    with db.unit_of_work() as session:
        module = learning.seed_catalog(session, T0)["Role plays"]
        cohort = learning.open_cohort(session, module, "Claims, spring", world.people["lee"], T0)
    # asha leads no team: she may run a session, not hold it for a cohort.
    _problem(
        api["asha"].post("/roleplay/live", json={"scenario": "bad-day", "cohort_id": cohort}),
        403,
        "cohort_id",
    )
    assert api["asha"].get("/roleplay/live").json() == []  # nothing was opened
    _problem(
        api["lee"].post("/roleplay/live", json={"scenario": "bad-day", "cohort_id": 999999}),
        404,
        "cohort_id",
    )
    held = api["lee"].post("/roleplay/live", json={"scenario": "bad-day", "cohort_id": cohort})
    assert held.status_code == 201, held.text
    assert held.json()["cohort"] == {"id": cohort, "name": "Claims, spring"}


def test_the_description_documents_the_live_routes(live_server: LiveServer) -> None:
    document = httpx.get(live_server.base_url + "/openapi.json", timeout=30).json()
    paths = document["paths"]
    for path, method, statuses in (
        ("/api/v1/roleplay/live", "post", {"201", "401", "403", "404", "422"}),
        ("/api/v1/roleplay/live/join", "post", {"200", "409", "422"}),
        ("/api/v1/roleplay/live/{live_id}", "get", {"200", "404"}),
        ("/api/v1/roleplay/live/{live_id}/turns", "post", {"201", "403", "404", "409", "422"}),
        ("/api/v1/roleplay/live/{live_id}/marks", "post", {"201", "403", "404", "409", "422"}),
        ("/api/v1/roleplay/live/{live_id}/close", "post", {"200", "403", "404"}),
        ("/api/v1/roleplay/live/{live_id}/debrief", "get", {"200", "404"}),
        ("/api/v1/learning/debriefs", "get", {"200", "403", "404"}),
    ):
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (path, method, sorted(responses))
        for status in statuses - {"200", "201"}:
            assert "application/problem+json" in responses[status]["content"], (path, status)


def test_the_first_scored_answer_loads_the_scorer_with_no_transaction_open(
    api: dict[str, httpx.Client], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = api["lee"].post("/roleplay/live", json={"scenario": "bad-day"}).json()["code"]
    joined = api["asha"].post(
        "/roleplay/live/join", json={"code": code, "group": 1, "role": "participant"}
    )
    assert joined.status_code == 200, joined.text
    live_id = joined.json()["id"]
    assert api["asha"].post(f"/roleplay/live/{live_id}/turns", json={"choice": 0}).is_success
    transactions = OpenTransactions(db)
    open_while_loading: list[int] = []

    def loading() -> WordLlamaEmbedder:
        open_while_loading.append(transactions.count)
        return load_embedder()

    # As in a process that has not scored anything yet.
    monkeypatch.setattr(scoring, "_shipped", [])
    monkeypatch.setattr(scoring, "load_embedder", loading)
    reply = api["asha"].post(f"/roleplay/live/{live_id}/turns", json={"text": "What happened?"})
    assert reply.status_code == 201, reply.text
    assert open_while_loading == [0]
    assert transactions.count == 0
