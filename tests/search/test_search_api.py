"""The search box over real HTTP, on SQLite and PostgreSQL: what finds a request, who finds it,
how many, in what order, and that nothing typed makes it fail."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from followthrough.db import Database
from followthrough.search import rules
from tests.conftest import Clock, LiveServer, issue_tokens, serving
from tests.factories import World, build_confidential_story


def _ids(answer: httpx.Response, kind: str = "requests") -> list[int]:
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()[kind]["items"]]


def _total(answer: httpx.Response, kind: str = "requests") -> int:
    assert answer.status_code == 200, answer.text
    total: int = answer.json()[kind]["total"]
    return total


def _open(client: httpx.Client, world: World, title: str, need: str, **extra: Any) -> int:
    answer = client.post(
        "/requests",
        json={
            "title": title,
            "need": need,
            "service_id": world.services["correct_policy"],
            **extra,
        },
    )
    assert answer.status_code == 201, answer.text
    request_id: int = answer.json()["id"]
    return request_id


def test_a_request_is_found_by_each_thing_it_holds(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    """Title, need, an update, a question and its answer, the resolution, a linked case's
    reference and customer, and its number: each finds it, and only it."""
    otto = live_server.client(tokens["otto"])
    dan = live_server.client(tokens["dan"])  # Policy Admin's duty owner: owns what it receives
    case = otto.post("/cases", json={"reference": "CLM-4417", "customer": "Mrs Okonkwo"}).json()
    target = _open(otto, world, "Wrong postcode on schedule", "The gazebo clause is missing")
    other = _open(otto, world, "Premium question", "Why did the premium rise")
    assert otto.post(f"/requests/{target}/cases", json={"case_id": case["id"]}).status_code == 200
    posted = dan.post(f"/requests/{target}/updates", json={"body": "Spoke to the zeppelin team"})
    assert posted.status_code == 201, posted.text
    asked = dan.post(
        f"/requests/{target}/clarification", json={"question": "Which marmalade policy?"}
    )
    assert asked.status_code == 200, asked.text
    answered = otto.post(
        f"/requests/{target}/clarification/answer", json={"answer": "The trombone one"}
    )
    assert answered.status_code == 200, answered.text
    resolved = dan.post(f"/requests/{target}/resolve", json={"resolution": "Reissued with kumquat"})
    assert resolved.status_code == 200, resolved.text

    for words in (
        "postcode",  # title
        "gazebo",  # need
        "zeppelin",  # an update
        "marmalade",  # a question
        "trombone",  # its answer
        "kumquat",  # the resolution
        "CLM-4417",  # a linked case's reference
        "Okonkwo",  # and its customer
        f"#{target}",
        str(target),
    ):
        found = otto.get("/search", params={"q": words, "kind": "requests"})
        assert _ids(found) == [target], words
        assert _total(found) == 1, words
    assert _ids(otto.get("/search", params={"q": "premium", "kind": "requests"})) == [other]
    numbered = otto.get("/search", params={"q": f"#{target}", "kind": "requests"}).json()
    assert numbered["requests"]["items"][0]["by_number"] is True


def test_the_last_word_typed_matches_the_start_of_longer_words(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    otto = live_server.client(tokens["otto"])
    policy = _open(otto, world, "Update the policy holder", "Name change after marriage")
    _open(otto, world, "Police report needed", "For the theft claim")
    found = set(_ids(otto.get("/search", params={"q": "polic", "kind": "requests"})))
    assert policy in found
    assert len(found) == 2  # policy and police both start with "polic"
    # Only the last word: "polic holder" wants the word "polic" itself, which no text has.
    assert _ids(otto.get("/search", params={"q": "polic holder", "kind": "requests"})) == []
    assert _ids(otto.get("/search", params={"q": "holder polic", "kind": "requests"})) == [policy]


def test_phrases_exclusions_and_alternatives(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    otto = live_server.client(tokens["otto"])
    wrong_address = _open(otto, world, "Wrong address on file", "Street name misspelt")
    address_wrong = _open(otto, world, "Address is fine", "But the name is wrong")
    refund = _open(otto, world, "Refund the wrong charge", "Charged twice")

    def found(q: str) -> set[int]:
        return set(_ids(otto.get("/search", params={"q": q, "kind": "requests"})))

    assert found('"wrong address"') == {wrong_address}
    assert found("wrong address") == {wrong_address, address_wrong}
    assert found("wrong -refund") == {wrong_address, address_wrong}
    assert found("wrong -refund -misspelt") == {address_wrong}
    assert found("misspelt OR charged") == {wrong_address, refund}


def test_a_confidential_request_is_found_and_counted_only_by_those_who_may_read_it(
    db: Database, world: World, clock: Clock
) -> None:
    """The grievance (HR's, raised by tess) and the normal request (Policy Admin's, raised by
    otto) share a case. Who finds which, by words of each and by the shared case, written out
    by hand from the access rule (docs/architecture.md, "Authorisation")."""
    with db.unit_of_work() as session:
        story = build_confidential_story(session, world, clock.now)
    tokens = issue_tokens(db, world, clock)
    normal, grievance = story.normal, story.confidential
    expected = {
        # handle: (finds the normal one, finds the grievance)
        "otto": (True, False),  # raised the normal one
        "tess": (False, True),  # raised the grievance
        "hana": (False, True),  # leads HR, which owns the grievance
        "cleo": (True, False),  # Policy Admin, which owns the normal one
        "lee": (True, False),
        "dan": (True, False),
        "asha": (False, False),  # Claims: neither
        "carl": (False, False),
        "ada": (True, False),  # an admin reads every request that is not confidential
    }
    with serving(db, clock) as live:
        for handle, (sees_normal, sees_grievance) in expected.items():
            client = live.client(tokens[handle])
            by_case = client.get("/search", params={"q": "CASE-SHARED-1", "kind": "requests"})
            wanted = {normal} if sees_normal else set()
            wanted |= {grievance} if sees_grievance else set()
            assert set(_ids(by_case)) == wanted, handle
            assert _total(by_case) == len(wanted), handle
            words = client.get("/search", params={"q": "grievance twice"})
            assert _ids(words) == ([grievance] if sees_grievance else []), handle
            assert _total(words) == (1 if sees_grievance else 0), handle
            if not sees_grievance:
                assert "Quokka" not in words.text, handle
                by_number = client.get("/search", params={"q": f"#{grievance}"})
                assert _ids(by_number) == [], handle
                assert _total(by_number) == 0, handle


def test_results_come_in_pages_with_the_true_total(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    otto = live_server.client(tokens["otto"])
    opened = [_open(otto, world, f"Bicycle claim number {n}", "Stolen bicycle") for n in range(23)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"q": "bicycle", "kind": "requests", "limit": 10}
        if cursor:
            params["cursor"] = cursor
        answer = otto.get("/search", params=params).json()["requests"]
        assert answer["total"] == 23
        seen += [item["id"] for item in answer["items"]]
        pages += 1
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(opened)
    # Equal relevance: the most recently opened first.
    assert seen == sorted(opened, reverse=True)


def test_cases_and_people_are_found_by_their_words(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    asha = live_server.client(tokens["asha"])
    asha.post("/cases", json={"reference": "CLM-77001", "customer": "Mr Abernathy"})
    asha.post("/cases", json={"reference": "CLM-77002", "customer": "Ms Zhou"})
    assert [
        c["reference"]
        for c in asha.get("/search", params={"q": "abernathy"}).json()["cases"]["items"]
    ] == ["CLM-77001"]
    found = asha.get("/search", params={"q": "CLM-7700", "kind": "cases"}).json()["cases"]
    assert found["total"] == 2
    people = asha.get("/search", params={"q": "cleo", "kind": "people"}).json()["people"]
    assert [p["handle"] for p in people["items"]] == ["cleo"]
    assert people["items"][0]["teams"] == ["Policy Admin"]
    by_surname = asha.get("/search", params={"q": "lead"}).json()["people"]
    assert {p["handle"] for p in by_surname["items"]} == {
        "lee",
        "carl",
    }  # "Lee Lead", "Carl Claims Lead"


def test_too_long_a_search_is_refused_naming_the_field(
    world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    otto = live_server.client(tokens["otto"])
    answer = otto.get("/search", params={"q": "a" * (rules.MAX_QUERY_LENGTH + 1)})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["field"] == "q"
    assert (
        otto.get("/search", params={"q": "x", "kind": "all", "cursor": "abc"}).json()["field"]
        == "kind"
    )
    assert (
        otto.get("/search", params={"q": "x", "kind": "cases", "cursor": "%%%"}).json()["field"]
        == "cursor"
    )
    assert otto.get("/search", params={"q": "x", "kind": "bogus"}).status_code == 422


HOSTILE = st.one_of(
    st.text(max_size=rules.MAX_QUERY_LENGTH),
    st.lists(
        st.sampled_from(
            [
                '"',
                "*",
                "NEAR",
                "NEAR(",
                "-",
                "(",
                ")",
                "OR",
                "AND",
                "NOT",
                ":",
                "^",
                "\\",
                "'",
                "&",
                "|",
                "!",
                "<->",
                ":*",
                "{",
                "}",
                "polic",
                "#1",
                "\x00",
                " ",
                "title:",
                "col*",
                "++",
            ]
        ),
        max_size=40,
    ).map("".join),
)


@pytest.fixture
def otto_client(db: Database, world: World, clock: Clock) -> Any:
    tokens = issue_tokens(db, world, clock)
    with db.unit_of_work() as session:
        build_confidential_story(session, world, clock.now)
    with serving(db, clock) as live:
        yield live.client(tokens["otto"])


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=HOSTILE)
def test_whatever_is_typed_is_answered_never_a_server_error(
    otto_client: httpx.Client, q: str
) -> None:
    answer = otto_client.get("/search", params={"q": q})
    assert answer.status_code in (200, 422), (q, answer.status_code, answer.text)
    if answer.status_code == 422:
        assert answer.json()["field"] == "q"  # a NUL, named
    else:
        assert answer.json()["requests"]["total"] >= 0
