"""How many requests a search says it found, in what order, and what happens past the count
limit: on SQLite and PostgreSQL, in process, over the API and on the page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from followthrough.cases.models import Case, RequestCase
from followthrough.db import Database
from followthrough.requests.access import readable_requests
from followthrough.requests.models import Request
from followthrough.search import rules, service
from tests.conftest import T0, LiveServer
from tests.factories import World
from tests.web.pages import Visitor

WORD = "wombat"


def _raise(session: Session, world: World, title: str, need: str = "Please look") -> int:
    """A request of Policy Admin's raised by otto (so otto and the team may read it)."""
    request = Request(
        title=title,
        need=need,
        requester_id=world.people["otto"],
        team_id=world.teams["admin"],
        owner_id=world.people["dan"],
        opened_at=T0,
    )
    session.add(request)
    session.flush()
    return request.id


def test_words_in_the_title_rank_first_then_in_a_case_then_in_the_text(
    db: Database, world: World
) -> None:
    with db.unit_of_work() as session:
        titled_old = _raise(session, world, f"The {WORD} policy")
        in_text = _raise(session, world, "Address change", f"The {WORD} clause is missing")
        in_case = _raise(session, world, "Premium question")
        case = Case(reference="CLM-990", customer=f"Mr {WORD.title()}", created_at=T0)
        session.add(case)
        session.flush()
        session.add(RequestCase(request_id=in_case, case_id=case.id))
        titled_new = _raise(session, world, f"Another {WORD} in the title")
        newest_in_text = _raise(session, world, "Renewal", f"A {WORD}")
    with db.unit_of_work(readonly=True) as session:
        found = service.search_requests(
            session, world.actor(session, "otto"), rules.parse(WORD), 10
        )
    assert [hit.id for hit in found.items] == [
        titled_new,
        titled_old,
        in_case,
        newest_in_text,
        in_text,
    ]
    assert (found.total, found.capped) == (5, False)


def test_past_the_count_limit_the_total_says_more_and_the_pages_go_on_newest_first(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "COUNT_LIMIT", 5)
    with db.unit_of_work() as session:
        # Titled and untitled mixed, so newest-first differs from best-first.
        opened = [
            _raise(session, world, f"{WORD} {n}" if n % 2 else f"Note {n}", f"a {WORD}")
            for n in range(8)
        ]
    newest_first = sorted(opened, reverse=True)
    with db.unit_of_work(readonly=True) as session:
        dan = world.actor(session, "dan")
        query = rules.parse(WORD)
        pages = []
        offset: int | None = 0
        while offset is not None:
            found = service.search_requests(session, dan, query, 3, offset)
            assert (found.total, found.capped, found.shown_total) == (5, True, "5+")
            pages.append([hit.id for hit in found.items])
            offset = found.next_offset
        assert pages == [newest_first[0:3], newest_first[3:6], newest_first[6:8]]

        # Under the limit the count is exact again, and best first.
        narrower = service.search_requests(session, dan, rules.parse(f"{WORD} -note"), 10)
    titled = [rid for n, rid in enumerate(opened) if n % 2]
    assert (narrower.total, narrower.capped, narrower.shown_total) == (4, False, "4")
    assert [hit.id for hit in narrower.items] == sorted(titled, reverse=True)


def test_the_api_and_the_page_say_when_counting_stopped(
    db: Database,
    world: World,
    live_server: LiveServer,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rules, "COUNT_LIMIT", 3)
    with db.unit_of_work() as session:
        many = [_raise(session, world, f"{WORD} number {n}") for n in range(4)]
        few = [_raise(session, world, f"Platypus {n}") for n in range(2)]
    otto = live_server.client(tokens["otto"])
    answer = otto.get("/search", params={"q": WORD, "kind": "requests", "limit": 10}).json()
    assert answer["requests"]["total"] == 3
    assert answer["requests"]["more"] is True
    assert [item["id"] for item in answer["requests"]["items"]] == sorted(many, reverse=True)
    exact = otto.get("/search", params={"q": "platypus", "kind": "requests"}).json()
    assert (exact["requests"]["total"], exact["requests"]["more"]) == (2, False)
    assert {item["id"] for item in exact["requests"]["items"]} == set(few)

    visitor = Visitor(live_server.base_url)
    try:
        assert visitor.sign_in("otto").status_code == 303
        page = visitor.http.get("/search", params={"q": WORD}).text
        assert "3+" in page
        assert "More than 3 requests match, so they are shown newest first." in page
        narrow = visitor.http.get("/search", params={"q": "platypus"}).text
        assert "More than" not in narrow
    finally:
        visitor.close()


def test_requests_found_by_number_lead_and_are_counted(db: Database, world: World) -> None:
    with db.unit_of_work() as session:
        numbered = _raise(session, world, "Nothing alike")
        worded = _raise(session, world, f"Mentions {numbered} in the title")
    with db.unit_of_work(readonly=True) as session:
        found = service.search_requests(
            session, world.actor(session, "otto"), rules.parse(str(numbered)), 10
        )
    assert [hit.id for hit in found.items] == [numbered, worded]
    assert [hit.by_number for hit in found.items] == [True, False]
    assert found.total == 2


def _raise_for_claims(session: Session, world: World, title: str) -> int:
    """A request of Claims' raised by asha: otto may not read it."""
    request = Request(
        title=title,
        need="Please look",
        requester_id=world.people["asha"],
        team_id=world.teams["claims"],
        owner_id=world.people["carl"],
        opened_at=T0,
    )
    session.add(request)
    session.flush()
    return request.id


# (documents sampled, documents read at most) among the newest on PostgreSQL, how many
# documents its reads of the newest then asked for, which says the path the searches took
# there, and what its statistics would say (how many documents; the desk's common words):
# the index alone; the sample alone holding more than the limit; a sample dense enough to read
# on; a sample too sparse to read on for the count, but enough for the first page; too sparse
# for either, and too few documents for the common words to be worth trying. The common words
# (tried before a prefix search) include words the typed ones do not begin. SQLite has none of
# this: it must find the same.
COMMON = ("wombat", "note", "notebook", "wombatting")
NEWEST_READS = [
    (0, 0, {0}, service._Statistics(0, ())),
    (40, 40, {40}, service._Statistics(0, ())),
    (3, 40, {3, 40}, service._Statistics(24, COMMON)),
    (3, 20, {3, 20}, service._Statistics(24, COMMON)),
    (3, 4, {3}, service._Statistics(1, COMMON)),
]


@pytest.mark.parametrize(("sample", "budget", "reads", "statistics"), NEWEST_READS)
def test_counts_and_pages_are_the_same_whichever_way_the_matches_are_found(
    db: Database,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    sample: int,
    budget: int,
    reads: set[int],
    statistics: service._Statistics,
) -> None:
    monkeypatch.setattr(rules, "COUNT_LIMIT", 5)
    monkeypatch.setattr(service, "NEWEST_SAMPLE", sample)
    monkeypatch.setattr(service, "NEWEST_BUDGET", budget)
    monkeypatch.setattr(service, "_statistics", lambda session: statistics)
    read: set[int] = set()
    newest = service._pg_newest

    def spied(*args: Any) -> list[tuple[int, str, str]]:
        read.add(args[-1])
        return newest(*args)

    monkeypatch.setattr(service, "_pg_newest", spied)
    titles: dict[int, str] = {}
    with db.unit_of_work() as session:
        # otto's requests among Claims' (which he may not read), the words in both, so a
        # search that reads the newest documents one by one must still find only his.
        for n in range(24):
            title = f"{('wombat', 'wombats', 'wombatting', 'note')[n % 4]} {n}"
            raise_ = _raise if n % 3 else _raise_for_claims
            titles[raise_(session, world, title)] = title
    with db.unit_of_work(readonly=True) as session:
        otto = world.actor(session, "otto")
        readable = set(session.scalars(readable_requests(otto).with_only_columns(Request.id)))
        for typed in ("wombat", "womb", "note"):
            expected = sorted(
                (rid for rid, title in titles.items() if title.startswith(typed)),
                reverse=True,
            )
            expected = [rid for rid in expected if rid in readable]
            query = rules.parse(typed)
            if len(expected) <= 5:
                found = service.search_requests(session, otto, query, 10)
                assert {hit.id for hit in found.items} == set(expected), typed
                assert (found.total, found.capped) == (len(expected), False), typed
                continue
            pages: list[int] = []
            offset: int | None = 0
            while offset is not None:
                found = service.search_requests(session, otto, query, 3, offset)
                assert (found.total, found.capped) == (5, True), typed
                pages += [hit.id for hit in found.items]
                offset = found.next_offset
            assert pages == expected, typed
    if not db.is_sqlite:
        assert read == reads
