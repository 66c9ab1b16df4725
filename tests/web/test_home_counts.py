"""True counts on the pages: the number beside each list is how many there are, "see all" pages
through the full list ("showing 26 to 50 of 77"), the team queue and My requests are paged, and
every section can be collapsed. Over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.requests.models import Offer, Request
from followthrough.sweeper.service import sweep
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.requests.test_counts import MANY, _open_many
from tests.web.pages import Visitor

COUNT = re.compile(r'<h2 id="([\w-]+)-h">[^<]*<span class="count">(\d+)</span>')
DASH = "\u2013"  # the en dash of "Showing 26 to 50 of 77", as the pages write a range
SHOWING = re.compile(rf"Showing (\d+){DASH}(\d+) of (\d+)")
REQUEST_LINK = re.compile(r'href="/requests/(\d+)"')


@pytest.fixture
def visit(live_server: LiveServer) -> Iterator[dict[str, Visitor]]:
    """Signed-in visitors by handle, created on first use."""

    class Visitors(dict[str, Visitor]):
        def __missing__(self, handle: str) -> Visitor:
            visitor = Visitor(live_server.base_url)
            assert visitor.sign_in(handle).status_code == 303
            self[handle] = visitor
            return visitor

    found = Visitors()
    yield found
    for visitor in found.values():
        visitor.close()


def _counts(html: str) -> dict[str, int]:
    return {name: int(n) for name, n in COUNT.findall(html)}


def _get(visitor: Visitor, path: str) -> str:
    response = visitor.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response.text


def _section(html: str, name: str) -> str:
    """The HTML of one collapsible section, by its name, up to the next section."""
    start = html.index(f'id="sec-{name}"')
    end = html.find('id="sec-', start + 1)
    return html[start : end if end > 0 else len(html)]


def test_home_board_and_queue_show_true_counts_and_see_all_pages_through_everything(
    db: Database, world: World, clock: Clock, visit: dict[str, Visitor]
) -> None:
    ids = _open_many(db, world, clock, MANY)
    clock.advance(hours=MANY / 60 + 3)
    sweep(db, clock.now)  # none accepted in time: every offer escalated to the lead
    admin = world.teams["admin"]
    with db.unit_of_work(readonly=True) as session:
        offers = int(
            session.scalar(
                select(func.count())
                .select_from(Offer)
                .where(Offer.state == "open", Offer.to_team_id == admin)
            )
            or 0
        )
        escalations = int(
            session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.kind.in_(("escalated", "update_escalated")), Event.team_id == admin)
            )
            or 0
        )
        escalated_requests = int(
            session.scalar(
                select(func.count(func.distinct(Event.request_id))).where(
                    Event.kind.in_(("escalated", "update_escalated")),
                    Event.person_id == world.people["lee"],
                )
            )
            or 0
        )
    assert offers == MANY
    assert escalations >= MANY

    lee = visit["lee"]
    home = _get(lee, "/")
    counts = _counts(home)
    assert counts["offers"] == MANY
    assert counts["escalations"] == escalated_requests
    assert f"See all {MANY}" in _section(home, "offers")
    # The badge: what needs the lead now, each counted in full.
    assert f'aria-label="{MANY + escalated_requests} need you"' in home

    seen: list[int] = []
    for number in (1, 2, 3, 4):
        page = _get(lee, f"/home/list?show=offers&page={number}")
        first, last, total = map(int, SHOWING.search(page).groups())  # type: ignore[union-attr]
        assert (first, total) == (25 * (number - 1) + 1, MANY)
        listed = REQUEST_LINK.findall(page.split("<main", 1)[1])
        assert len(listed) == last - first + 1
        seen += map(int, listed)
        assert ('rel="next"' in page) == (number < 4)
    assert sorted(seen) == sorted(ids)

    board = _get(lee, "/board")
    counts = _counts(board)
    assert counts["escalations"] == escalations
    assert counts["offers"] == MANY
    assert f"See all {escalations}" in _section(board, "escalations")
    pages = -(-escalations // 25)
    last_page = _get(lee, f"/board/list?team_id={admin}&show=escalations&page={pages}")
    assert f"of {escalations}" in last_page
    assert 'rel="next"' not in last_page
    assert 'rel="prev"' in last_page

    queue = _get(lee, f"/team?team_id={admin}")
    counts = _counts(queue)
    assert counts["offers"] == MANY
    assert counts["owned"] == MANY
    offers_html = _section(queue, "team-offers")
    # A lead reaches "Accept selected" before the first offer, not below all of them.
    assert offers_html.index("Accept selected") < offers_html.index('class="offer')
    assert f"Showing 1{DASH}20 of {MANY}" in offers_html
    second = _get(lee, f"/team?team_id={admin}&queue_page=2")
    assert f"Showing 51{DASH}{MANY} of {MANY}" in _section(second, "team-owned")

    asha = visit["asha"]
    mine = _get(asha, "/requests")
    assert f'Open <span class="count">{MANY}</span>' in mine
    assert f"Showing 1{DASH}50 of {MANY}" in mine
    older = _get(asha, "/requests?show=open&offset=50")
    assert f"Showing 51{DASH}{MANY} of {MANY}" in older
    assert _counts(_get(asha, "/"))["my_requests"] == MANY


def test_a_requester_sees_their_requests_promises_and_questions_on_home(
    db: Database, world: World, clock: Clock, visit: dict[str, Visitor]
) -> None:
    from followthrough.promises.service import make_promise
    from followthrough.requests import service

    (rid,) = _open_many(db, world, clock, 1)
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        offer = service.open_offer_of(session, rid)
        assert offer is not None
        service.accept_offer(session, cleo, rid, offer.id, clock.now)
        make_promise(
            session,
            cleo,
            rid,
            "Send the corrected schedule",
            clock.now + timedelta(hours=3),
            clock.now,
        )
        service.ask_clarification(session, cleo, rid, "Is the garage address right?", clock.now)
    home = _get(visit["asha"], "/")
    counts = _counts(home)
    assert (counts["my_requests"], counts["promises_to_me"], counts["questions"]) == (1, 1, 1)
    assert "Is the garage address right?" in _section(home, "questions")
    assert "Send the corrected schedule" in _section(home, "promises_to_me")
    assert "Cleo Clerk" in _section(home, "my_requests")
    assert 'aria-label="1 need you"' in home
    # Sections with something in them are open; empty ones are closed but still counted.
    assert re.search(r'id="sec-questions" data-remember open', home)
    assert re.search(r'id="sec-offers" data-remember>', home)


def test_a_wrong_list_or_page_is_answered_beside_nothing_broken(
    db: Database, world: World, clock: Clock, visit: dict[str, Visitor]
) -> None:
    lee = visit["lee"]
    assert lee.get("/home/list?show=everything").status_code == 422
    assert lee.get("/home/list?show=offers&page=0").status_code == 422
    assert lee.get("/board/list?show=offers&page=abc").status_code == 422
    # A page past the end shows the last page there is.
    assert lee.get("/home/list?show=offers&page=99").status_code == 200
    assert (
        visit["asha"].get(f"/board/list?team_id={world.teams['admin']}&show=offers").status_code
        == 403
    )
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 0
