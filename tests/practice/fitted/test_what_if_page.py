"""The what-if page over real HTTP: leads and admins only; a change that cannot be tried is
answered 422 naming the field; a change is worked out in the background and shown when ready.
And a game on the fitted company, created by a lead."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from followthrough.db import Database
from followthrough.practice.models import GameSession
from followthrough.practice.sim.scenario import parse_scenario
from followthrough.programmes.models import BuddyAssignment, BuddyRound
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.practice.fitted.desk import resolve_requests
from tests.web.pages import Visitor


def visitor(live_server: LiveServer, handle: str) -> Visitor:
    person = Visitor(live_server.base_url)
    assert person.sign_in(handle).status_code == 303
    return person


def test_only_leads_try_changes_and_bad_changes_are_named(
    world: World, live_server: LiveServer
) -> None:
    asha = visitor(live_server, "asha")
    try:
        assert asha.get("/practice/what-if").status_code == 403
    finally:
        asha.close()
    carl = visitor(live_server, "carl")  # Claims' lead
    try:
        page = carl.get("/practice/what-if")
        assert page.status_code == 200
        assert "Try a change first" in page.text
        # Trying a change writes nothing: a GET, the change in the address.
        refused = carl.get("/practice/what-if?team=0&extra_people=1.5&bounces_kept=150")
        assert refused.status_code == 422
        assert "between 0 and 100 percent" in refused.text
        assert "must be a whole number" in refused.text
        for odd in ("nan", "inf", "-inf", "1e999"):
            answer = carl.get(f"/practice/what-if?team=0&extra_people={odd}")
            assert answer.status_code == 422, odd
            assert "must be a number" in answer.text
        # Numbers the simulation could never finish with (its events grow with the staff).
        for odd in ("1e308", str(2**64), "1001"):
            answer = carl.get(f"/practice/what-if?team=0&extra_people={odd}")
            assert answer.status_code == 422, odd
            assert "must be at most 1,000" in answer.text
        answer = carl.get("/practice/what-if?team=0&accept_within=1e308")
        assert answer.status_code == 422
        assert "at most 8,760" in answer.text
    finally:
        carl.close()


def test_a_change_is_worked_out_in_the_background_and_the_page_shows_it_when_ready(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    resolve_requests(db, world, clock.now)
    lee = visitor(live_server, "lee")  # Policy Admin's lead
    try:
        address = f"/practice/what-if?team={world.teams['admin']}&extra_people=1&bounces_kept=100"
        first = lee.get(address)
        # Answered at once: the simulation runs on the what-if worker, not in this request.
        assert first.status_code == 200
        assert "Working it out" in first.text
        assert 'hx-trigger="every 2s"' in first.text
        deadline = time.monotonic() + 60
        page = first
        while "Today and with the change" not in page.text:
            assert time.monotonic() < deadline, "the result never came"
            time.sleep(0.5)
            page = lee.get(address)
            assert page.status_code == 200
        assert "Working it out" not in page.text
        assert "Policy Admin" in page.text
        # Kept for this version of the history: asked again, it is there at once.
        assert "Today and with the change" in lee.get(address).text
    finally:
        lee.close()


def test_the_page_says_which_teams_are_simulated_as_they_accept_since_joining_buddies(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    resolve_requests(db, world, clock.now)
    lee = visitor(live_server, "lee")
    try:
        assert "joined the buddy programme" not in lee.get("/practice/what-if").text
        # Cleo of Policy Admin is paired 20 days ago: her department has taken part since,
        # long enough (two weeks) to fit on; three days ago would not be.
        joined = clock.now - timedelta(days=20)
        with db.unit_of_work() as session:
            for paired_at, handle in ((joined, "cleo"), (clock.now - timedelta(days=3), "asha")):
                round_ = BuddyRound(paired_at=paired_at, seed=1, people=1, groups=1, left_out=0)
                session.add(round_)
                session.flush()
                person = world.people[handle]
                session.add(BuddyAssignment(round_id=round_.id, person_id=person, group_number=1))
        text = " ".join(lee.get("/practice/what-if").text.split())
        assert (
            "Teams whose department joined the buddy programme in these days are simulated as "
            f"they have accepted requests since: Policy Admin (since {joined:%-d %B %Y})." in text
        )
    finally:
        lee.close()


def test_a_lead_creates_a_game_on_the_company_fitted_from_the_history(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    resolve_requests(db, world, clock.now)
    asha = visitor(live_server, "asha")  # no lead: her own company is not offered
    try:
        assert 'value="fitted"' not in asha.get("/practice/new").text
        refused = asha.post(
            "/practice/new", {"title": "Mine", "scenario": "fitted", "teams": "Blue"}
        )
        assert refused.status_code == 422
        assert "for team leads and admins" in refused.text
    finally:
        asha.close()
    lee = visitor(live_server, "lee")
    try:
        assert 'value="fitted"' in lee.get("/practice/new").text
        created = lee.post(
            "/practice/new",
            {
                "title": "Our own desk",
                "scenario": "fitted",
                "teams": "Blue\nGreen",
                "rounds": "2",
                "days_per_round": "14",
                "budget_per_round": "100000",
                "replications": "1",
            },
        )
        assert created.status_code == 303, created.text
        console = lee.get(created.headers["location"])
        assert "Your company (fitted)" in console.text
    finally:
        lee.close()
    with db.unit_of_work(readonly=True) as session:
        game = session.execute(select(GameSession)).scalar_one()
        name, scenario = game.scenario_name, parse_scenario(game.scenario_toml, "fitted.toml")
    assert name == "fitted"
    # Policy Admin, the one team with resolved requests, is the fitted company's department.
    assert [d.name for d in scenario.departments] == ["Policy Admin"]
