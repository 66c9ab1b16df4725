"""Role-play statements built from plain rows: required xAPI fields, ids, scores, privacy."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from followthrough.practice.roleplay import xapi
from followthrough.practice.roleplay.rubric import Behaviour, BehaviourRule, Block, Rubric

DESK = xapi.Desk(public_url="https://desk.example.org/")
RITA = xapi.Learner(handle="rita", email="rita@example.com")
STARTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ATTEMPT = xapi.AttemptRow(
    id=7,
    scenario_name="missed-call-back",
    scenario_version=2,
    rubric_version="r1",
    started_at=STARTED,
    ended_at=STARTED + timedelta(minutes=4, seconds=30),
    outcome="good",
)
REPLY = xapi.TurnRow(
    id=31,
    number=2,
    node="what_happened",
    kind="reply",
    text="What does Mr Patel need from us now?",
    points=1,
    blocks={"understand": 2, "own": -1},
    at=STARTED + timedelta(minutes=2),
)
CHOICE = xapi.TurnRow(
    id=30,
    number=1,
    node="opening",
    kind="choice",
    text="Ask what happened",
    points=None,
    blocks=None,
    at=STARTED + timedelta(minutes=1),
)


def _rule(behaviour: Behaviour, block: Block, points: int) -> BehaviourRule:
    return BehaviourRule(behaviour, block, points, behaviour.value, "", (), ())


# A small rubric whose ranges are known by hand: understand 0..2, own -1..0, total -1..2.
RUBRIC = Rubric(
    version="test",
    behaviours=(
        _rule(Behaviour.ASKS_NEED, Block.UNDERSTAND, 1),
        _rule(Behaviour.RESTATES, Block.UNDERSTAND, 1),
        _rule(Behaviour.DEFLECTS, Block.OWN, -1),
    ),
)
BOUNDS = xapi.score_bounds(RUBRIC)


def test_score_bounds_count_a_deflection_against() -> None:
    assert BOUNDS.total == xapi.Bounds(-1, 2)
    assert BOUNDS.blocks == {"understand": xapi.Bounds(0, 2), "own": xapi.Bounds(-1, 0)}


def test_every_statement_has_the_required_fields_and_no_problems() -> None:
    statements = [
        xapi.attempted(DESK, RITA, ATTEMPT),
        xapi.answered(DESK, RITA, ATTEMPT, CHOICE),
        xapi.answered(DESK, RITA, ATTEMPT, REPLY),
        xapi.scored(DESK, RITA, ATTEMPT, REPLY, BOUNDS),
        xapi.completed(DESK, RITA, ATTEMPT, [CHOICE, REPLY], BOUNDS),
    ]
    for statement in statements:
        assert xapi.problems(statement) == []
        assert {"id", "actor", "verb", "object", "timestamp", "version"} <= statement.keys()
        assert statement["version"] == "1.0.3"
        assert statement["actor"] == {
            "objectType": "Agent",
            "account": {"homePage": "https://desk.example.org", "name": "rita"},
        }
        # The e-mail address never leaves the desk by default.
        assert "rita@example.com" not in json.dumps(statement)
        assert statement["context"]["registration"] == statements[0]["context"]["registration"]
    assert [s["verb"]["id"] for s in statements] == [
        "http://adlnet.gov/expapi/verbs/attempted",
        "http://adlnet.gov/expapi/verbs/answered",
        "http://adlnet.gov/expapi/verbs/answered",
        "http://adlnet.gov/expapi/verbs/scored",
        "http://adlnet.gov/expapi/verbs/completed",
    ]
    scenario = "https://desk.example.org/xapi/activities/roleplay/missed-call-back"
    assert statements[0]["object"]["id"] == scenario
    assert statements[2]["object"]["id"] == f"{scenario}/steps/what_happened"
    assert statements[2]["context"]["contextActivities"]["parent"][0]["id"] == scenario
    assert statements[2]["result"]["response"] == "What does Mr Patel need from us now?"
    assert statements[0]["timestamp"] == "2026-12-01T09:00:00.000Z"
    assert statements[3]["timestamp"] == "2026-12-01T09:02:00.000Z"


def test_ids_are_stable_distinct_per_row_verb_and_desk() -> None:
    first = xapi.scored(DESK, RITA, ATTEMPT, REPLY, BOUNDS)
    again = xapi.scored(DESK, RITA, ATTEMPT, REPLY, BOUNDS)
    assert first["id"] == again["id"]
    assert uuid.UUID(first["id"]).version == 5
    answered = xapi.answered(DESK, RITA, ATTEMPT, REPLY)
    other_desk = xapi.scored(xapi.Desk("https://other.example.org"), RITA, ATTEMPT, REPLY, BOUNDS)
    other_turn = xapi.scored(DESK, RITA, ATTEMPT, CHOICE_SCORED, BOUNDS)
    assert len({first["id"], answered["id"], other_desk["id"], other_turn["id"]}) == 4


CHOICE_SCORED = xapi.TurnRow(32, 3, "plan", "reply", "Leave it with me.", 0, {}, STARTED)


def test_a_scored_reply_carries_its_total_and_each_block_scaled_0_to_1() -> None:
    result = xapi.scored(DESK, RITA, ATTEMPT, REPLY, BOUNDS)["result"]
    # Total 1 on -1..2: (1 - -1) / 3.
    assert result["score"] == {"scaled": 0.6667, "raw": 1, "min": -1, "max": 2}
    blocks = result["extensions"]
    base = "https://desk.example.org/xapi/extensions/block"
    assert blocks[f"{base}/understand"] == {"scaled": 1.0, "raw": 2, "min": 0, "max": 2}
    assert blocks[f"{base}/own"] == {"scaled": 0.0, "raw": -1, "min": -1, "max": 0}


def test_completion_says_success_by_ending_and_adds_up_the_replies() -> None:
    good = xapi.completed(DESK, RITA, ATTEMPT, [CHOICE, REPLY, CHOICE_SCORED], BOUNDS)["result"]
    assert good["success"] is True
    assert good["completion"] is True
    assert good["duration"] == "PT270.00S"
    # Two replies: 1 + 0 points on 2 x (-1..2) = -2..4, scaled (1 + 2) / 6.
    assert good["score"] == {"scaled": 0.5, "raw": 1, "min": -2, "max": 4}
    poor = xapi.AttemptRow(**{**ATTEMPT.__dict__, "outcome": "poor"})
    assert xapi.completed(DESK, RITA, poor, [CHOICE], BOUNDS)["result"]["success"] is False
    assert "score" not in xapi.completed(DESK, RITA, poor, [CHOICE], BOUNDS)["result"]


def test_e_mail_goes_only_when_the_desk_says_so() -> None:
    desk = xapi.Desk(public_url="https://desk.example.org", send_email=True)
    statement = xapi.attempted(desk, RITA, ATTEMPT)
    assert statement["actor"] == {"objectType": "Agent", "mbox": "mailto:rita@example.com"}
    assert xapi.problems(statement) == []


def test_problems_name_what_is_wrong() -> None:
    good = xapi.scored(DESK, RITA, ATTEMPT, REPLY, BOUNDS)
    broken = json.loads(json.dumps(good))
    broken["id"] = "not-a-uuid"
    broken["actor"]["mbox"] = "mailto:x@example.com"
    broken["timestamp"] = "2026-12-01T09:00:00"
    broken["result"]["score"]["scaled"] = 1.5
    broken["object"]["id"] = "steps/plan"
    broken["verb"]["id"] = "http://example.com/verbs/liked"
    assert xapi.problems(broken) == [
        "id: not a UUID",
        "actor: needs exactly one identifier",
        "verb.id: not an ADL verb",
        "object.id: not an absolute address",
        "timestamp: no time zone",
        "result.score.scaled: outside 0..1",
    ]


def test_an_observer_score_is_the_learners_record_with_the_observer_as_instructor() -> None:
    olga = xapi.Learner(handle="olga", email="olga@example.com")
    score = xapi.LiveScoreRow(
        id=5,
        live_session_id=3,
        heard=frozenset({"asks_need", "deflects"}),
        at=STARTED + timedelta(minutes=3),
    )
    statement = xapi.live_scored(DESK, RITA, olga, ATTEMPT, REPLY, score, RUBRIC)
    assert xapi.problems(statement) == []
    assert statement["actor"]["account"]["name"] == "rita"
    assert statement["context"]["instructor"]["account"]["name"] == "olga"
    assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/scored"
    assert statement["timestamp"] == "2026-12-01T09:03:00.000Z"
    # The same registration as the attempt's other statements; grouped by the live session.
    assert statement["context"]["registration"] == xapi.registration(DESK, ATTEMPT.id)
    grouping = statement["context"]["contextActivities"]["grouping"]
    assert grouping == [
        {
            "id": "https://desk.example.org/xapi/activities/roleplay-live/3",
            "objectType": "Activity",
        }
    ]
    result = statement["result"]
    ext = "https://desk.example.org/xapi/extensions/"
    # Heard: need (+1) and a deflection (-1): total 0 on -1..2, scaled 1/3.
    assert result["score"] == {"scaled": 0.3333, "raw": 0, "min": -1, "max": 2}
    assert result["extensions"][ext + "block/understand"]["raw"] == 1
    assert result["extensions"][ext + "block/own"]["raw"] == -1
    assert result["extensions"][ext + "behaviour/asks_need"] == {
        "scaled": 1.0,
        "raw": 1,
        "min": 0,
        "max": 1,
    }
    assert result["extensions"][ext + "behaviour/restates"]["raw"] == 0
    assert result["extensions"][ext + "behaviour/deflects"] == {
        "scaled": 0.0,
        "raw": -1,
        "min": -1,
        "max": 0,
    }
    assert result["extensions"][ext + "scorer"] == "observer"
    assert "response" not in result  # no note was written with it
    noted = xapi.LiveScoreRow(5, 3, score.heard, score.at, "Asked well, then passed it on")
    written = xapi.live_scored(DESK, RITA, olga, ATTEMPT, REPLY, noted, RUBRIC)
    assert written["result"]["response"] == "Asked well, then passed it on"
    # One statement per score, for ever: its id is the mark's, not the turn's.
    again = xapi.live_scored(DESK, RITA, olga, ATTEMPT, REPLY, score, RUBRIC)
    assert again["id"] == statement["id"]
    assert statement["id"] != xapi.scored(DESK, RITA, ATTEMPT, REPLY, BOUNDS)["id"]
    # With e-mail withheld, neither the learner's nor the observer's address leaves the desk.
    assert "example.com" not in json.dumps(statement)
    assert uuid.UUID(statement["id"]).version == 5


def test_a_participants_own_score_is_their_record_with_no_instructor() -> None:
    score = xapi.LiveScoreRow(
        id=6, live_session_id=3, heard=frozenset({"asks_need"}), at=STARTED + timedelta(minutes=4)
    )
    statement = xapi.live_scored(DESK, RITA, None, ATTEMPT, REPLY, score, RUBRIC)
    assert xapi.problems(statement) == []
    assert statement["actor"]["account"]["name"] == "rita"
    assert "instructor" not in statement["context"]
    ext = "https://desk.example.org/xapi/extensions/"
    assert statement["result"]["extensions"][ext + "scorer"] == "self"
    # Need (+1) heard and nothing else, on the same -1..2 as an observer's score of this reply.
    assert statement["result"]["score"] == {"scaled": 0.6667, "raw": 1, "min": -1, "max": 2}


def test_a_note_on_its_own_is_the_authors_comment_on_the_learners_turn() -> None:
    olga = xapi.Learner(handle="olga", email="olga@example.com")
    note = xapi.LiveNoteRow(
        id=7,
        live_session_id=3,
        role="observer",
        text="Warm tone",
        at=STARTED + timedelta(minutes=5),
    )
    statement = xapi.live_noted(DESK, RITA, olga, ATTEMPT, REPLY, note)
    assert xapi.problems(statement) == []
    assert statement["actor"]["account"]["name"] == "olga"
    assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/commented"
    assert statement["result"]["response"] == "Warm tone"
    ext = "https://desk.example.org/xapi/extensions/"
    assert statement["context"]["extensions"][ext + "learner"]["account"]["name"] == "rita"
    assert statement["result"]["extensions"][ext + "author-role"] == "observer"
    assert statement["context"]["registration"] == xapi.registration(DESK, ATTEMPT.id)
    assert statement["object"]["id"].endswith("/steps/" + REPLY.node)
    # Its own id: not the same as a score's of the same row number.
    score = xapi.LiveScoreRow(7, 3, frozenset(), note.at)
    assert (
        statement["id"] != xapi.live_scored(DESK, RITA, olga, ATTEMPT, REPLY, score, RUBRIC)["id"]
    )
    assert "example.com" not in json.dumps(statement)
