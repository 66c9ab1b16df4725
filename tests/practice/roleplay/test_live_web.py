"""Live role-play pages over real HTTP on SQLite and PostgreSQL: open, join with the code, play,
mark, the board and its event stream, the debrief, and refusals named by their field."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.factories import World
from tests.web.pages import Visitor

CODE = re.compile(r"data-code>([A-Z0-9]+)<")
SESSION = re.compile(r"/practice/role-plays/live/(\d+)$")


@pytest.fixture
def visitors(live_server: LiveServer, world: World) -> Iterator[dict[str, Visitor]]:
    made = {}
    for handle in ("lee", "asha", "cleo", "otto"):
        made[handle] = Visitor(live_server.base_url)
        assert made[handle].sign_in(handle).status_code == 303
    yield made
    for visitor in made.values():
        visitor.close()


def _open(lee: Visitor) -> tuple[str, str]:
    opened = lee.post("/practice/role-plays/live", {"scenario": "missed-call-back"})
    assert opened.status_code == 303
    url = opened.headers["location"]
    assert SESSION.search(url)
    code = CODE.search(lee.get(url).text)
    assert code
    return url, code.group(1)


def test_a_pair_plays_and_the_observer_scores_and_every_page_shows_it(
    visitors: dict[str, Visitor], live_server: LiveServer
) -> None:
    lee, asha, cleo, otto = (visitors[h] for h in ("lee", "asha", "cleo", "otto"))
    url, code = _open(lee)
    joined = asha.post(
        "/practice/role-plays/live/join",
        {"code": code.lower(), "group": "1", "role": "participant"},
    )
    assert joined.headers["location"] == url
    assert (
        cleo.post(
            "/practice/role-plays/live/join", {"code": code, "group": "1", "role": "observer"}
        ).headers["location"]
        == url
    )
    # Someone who did not join does not learn the session exists.
    assert otto.get(url).status_code == 404
    assert otto.get(url + "/board").status_code == 404

    # The observer's stream announces the participant's turn.
    seen: list[str] = []
    stream_open = threading.Event()

    def listen() -> None:
        with cleo.http.stream("GET", url + "/live", timeout=10) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("event: hello"):
                    stream_open.set()
                if line.startswith("event: change"):
                    seen.append(line)
                    return

    listener = threading.Thread(target=listen)
    listener.start()
    assert stream_open.wait(10)
    started = time.monotonic()
    assert asha.post(url + "/turns", {"choice": "0", "turn": "0"}).status_code == 303
    listener.join(10)
    assert seen, "the observer's stream did not announce the turn"
    assert time.monotonic() - started < 5

    reply = "That sounds really stressful. What does Mr Patel need from us now?"
    assert asha.post(url + "/turns", {"text": reply, "turn": "1"}).status_code == 303
    scored = cleo.post(
        url + "/marks",
        {"kind": "score", "turn": "2", "heard": ["asks_need"], "text": "Asked well"},
    )
    assert scored.status_code == 303
    board = lee.get(url + "/board").text
    assert reply in board
    assert "Asked well" in board
    # Observer ticked one Understand behaviour (+1); the scorer found need and feeling and the
    # customer (Understand +1, Communicate +1, Serve +1: see test_service): side by side.
    row = re.search(r"<th scope=\"row\">Understand</th>(.*?)</tr>", board, re.S)
    assert row
    assert re.findall(r"<td>(.*?)</td>", row.group(1)) == [
        '<span class="meta">not scored</span>',
        "+1",
        "+1",
    ]
    # Only the participant answers; an observer's turn is refused.
    assert cleo.post(url + "/turns", {"choice": "0", "turn": "2"}).status_code == 403
    # The facilitator ends it; the debrief shows the cohort's agreement.
    assert lee.post(url + "/close").headers["location"] == url + "/debrief"
    debrief = asha.get(url + "/debrief")
    assert debrief.status_code == 200
    assert "Group 1" in debrief.text
    assert "agreed on" in debrief.text


def test_a_bad_code_or_group_is_named_next_to_its_field(visitors: dict[str, Visitor]) -> None:
    _, code = _open(visitors["lee"])
    asha = visitors["asha"]
    wrong = asha.post(
        "/practice/role-plays/live/join", {"code": "ZZZZZZ", "group": "1", "role": "observer"}
    )
    assert wrong.status_code == 422
    assert 'id="code-error"' in wrong.text
    bad_group = asha.post(
        "/practice/role-plays/live/join", {"code": code, "group": "99", "role": "observer"}
    )
    assert bad_group.status_code == 422
    assert 'id="group-error"' in bad_group.text
    forged = httpx.post(
        str(asha.http.base_url) + "/practice/role-plays/live/join",
        data={"code": code, "group": "1", "role": "observer"},
        cookies=asha.http.cookies,
    )
    assert forged.status_code in (400, 403)


def test_an_answer_sent_for_a_turn_already_taken_says_why_and_keeps_the_answer(
    visitors: dict[str, Visitor],
) -> None:
    lee, asha = visitors["lee"], visitors["asha"]
    url, code = _open(lee)
    join = {"code": code, "group": "1", "role": "participant"}
    assert asha.post("/practice/role-plays/live/join", join).status_code == 303
    assert asha.post(url + "/turns", {"choice": "0", "turn": "0"}).status_code == 303
    # A second tab, still drawn at the first turn, sends an answer.
    reply = "I am sorry we missed the call. What does Mr Patel need from us today?"
    stale = asha.post(url + "/turns", {"text": reply, "turn": "0"})
    assert stale.status_code == 409
    message = re.search(r'<p class="error"[^>]*>([^<]+)</p>', stale.text)
    assert message, "the refusal is not said on the page"
    assert f">{reply}</textarea>" in stale.text
