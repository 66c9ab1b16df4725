"""The buddy programme's effect page over real HTTP: a lead sees the departments compared and
what changed, in plain words; someone who leads no team may not see it."""

from __future__ import annotations

from datetime import timedelta

from followthrough.db import Database
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.programmes.test_effect import START, WEEKS, build_history
from tests.web.pages import Visitor


def visitor(live_server: LiveServer, handle: str) -> Visitor:
    person = Visitor(live_server.base_url)
    assert person.sign_in(handle).status_code == 303
    return person


def test_before_any_round_the_page_says_so(
    db: Database, world: World, live_server: LiveServer
) -> None:
    carl = visitor(live_server, "carl")  # Claims' lead
    try:
        page = carl.get("/buddies/effect")
        assert page.status_code == 200
        assert "No department has taken part yet" in page.text
        assert "What changed" not in page.text
    finally:
        carl.close()
    asha = visitor(live_server, "asha")  # leads no team
    try:
        assert asha.get("/buddies/effect").status_code == 403
    finally:
        asha.close()


def test_a_lead_reads_what_the_programme_changed(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    build_history(db)
    clock.now = START + timedelta(weeks=WEEKS)
    carl = visitor(live_server, "carl")
    try:
        page = carl.get("/buddies/effect")
        assert page.status_code == 200
        text = page.text
        assert "Dept 0: since" in text
        assert "<li>Dept 8</li>" in text
        assert "Better since taking part" in text  # time to accept an offer
        assert "Too little data" in text  # bounces: nothing was resolved
        assert "After 30 days" in text
    finally:
        carl.close()
