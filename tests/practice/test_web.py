"""The game pages over real HTTP: the facilitator's console, the team pages, CSRF and errors."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.practice import service
from followthrough.practice.game.effects import PublishedCorrelations
from followthrough.practice.models import GameDecision, GameResult, GameSession, GameTeam
from tests.conftest import LiveServer
from tests.factories import World
from tests.web.pages import Visitor

T = datetime(2026, 3, 2, 10, tzinfo=UTC)
JOIN = re.compile(r'name="join_token" value="([^"]+)"')
SETUP = {
    "title": "Service leadership, March",
    "scenario": "professional_services",
    "teams": "Blue\nGreen",
    "rounds": "2",
    "days_per_round": "14",
    "budget_per_round": "50000",
    "replications": "1",
}
DECISIONS = {
    "training.communication_skills": "20000",
    "buddy_system": "on",
    "policies.handoffs_must_be_accepted": "on",
    "policies.targets": "balanced",
}


class Team:
    """A team's browser: joins with its code, then posts with the team's CSRF token."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        self.csrf = ""

    def join(self, code: str) -> httpx.Response:
        form = self.http.get("/play")
        token = JOIN.search(form.text)
        assert token
        response = self.http.post("/play", data={"code": code, "join_token": token.group(1)})
        if response.status_code == 303:
            self.csrf = Visitor.token_from(self.http.get("/play/team").text)
        return response

    def decide(self, **fields: str) -> httpx.Response:
        return self.http.post(
            "/play/team/decisions", data={"csrf_token": self.csrf, **DECISIONS, **fields}
        )


@pytest.fixture
def lead(live_server: LiveServer, world: World) -> Iterator[Visitor]:
    visitor = Visitor(live_server.base_url)
    assert visitor.sign_in("lee").status_code == 303
    yield visitor
    visitor.close()


@pytest.fixture
def teams(live_server: LiveServer) -> Iterator[list[Team]]:
    made = [Team(live_server.base_url) for _ in range(2)]
    yield made
    for team in made:
        team.http.close()


def _round_done(db: Database, game_id: int, *, refused: bool = False) -> GameSession:
    """The session once no round of it is being played in the background (the console's "Run
    round" answers at once) and, if `refused`, the console has been told why one was not
    stored."""
    deadline = time.monotonic() + 60
    while True:
        with db.unit_of_work(readonly=True) as session:
            game = session.get(GameSession, game_id)
            assert game is not None
            if game.playing_round is None and (game.round_problem is not None or not refused):
                session.expunge(game)
                return game
        assert time.monotonic() < deadline, "the round was still being played"
        time.sleep(0.05)


def _decided(lead: Visitor, db: Database, teams: list[Team]) -> int:
    """A new session whose two teams have joined and decided round 1."""
    game_id, codes = _create(lead, db)
    for team, name in zip(teams, ("Blue", "Green"), strict=True):
        team.join(codes[name])
        assert team.decide().status_code == 303
    return game_id


def _create(lead: Visitor, db: Database) -> tuple[int, dict[str, str]]:
    response = lead.post("/practice/new", SETUP)
    assert response.status_code == 303, response.text
    game_id = int(response.headers["location"].rsplit("/", 1)[1])
    with db.unit_of_work(readonly=True) as session:
        codes = {
            t.name: t.code
            for t in session.scalars(select(GameTeam).where(GameTeam.game_id == game_id))
        }
    return game_id, codes


def test_facilitating_needs_sign_in(live_server: LiveServer, world: World) -> None:
    with httpx.Client(base_url=live_server.base_url) as anonymous:
        response = anonymous.get("/practice/new")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")


def test_a_new_session_shows_every_teams_join_code(lead: Visitor, db: Database) -> None:
    game_id, codes = _create(lead, db)
    console = lead.get(f"/practice/{game_id}")
    assert console.status_code == 200
    for name, code in codes.items():
        assert name in console.text
        assert code in console.text
    assert "Run round 1" in console.text


def test_setup_mistakes_are_shown_next_to_their_fields(lead: Visitor, db: Database) -> None:
    response = lead.post("/practice/new", {**SETUP, "title": "", "rounds": "0", "teams": "A\na"})
    assert response.status_code == 422
    assert 'id="new-title-error"' in response.text
    assert 'id="new-rounds-error"' in response.text
    assert "Each team needs its own name." in response.text
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(GameSession)) == 0


def test_a_session_form_without_the_csrf_token_creates_nothing(lead: Visitor, db: Database) -> None:
    response = lead.post("/practice/new", {**SETUP, "csrf_token": "forged"})
    assert response.status_code == 403
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(GameSession)) == 0


def test_someone_elses_console_is_not_found(
    lead: Visitor, db: Database, live_server: LiveServer
) -> None:
    game_id, _codes = _create(lead, db)
    other = Visitor(live_server.base_url)
    try:
        assert other.sign_in("asha").status_code == 303
        assert other.get(f"/practice/{game_id}").status_code == 404
        assert other.post(f"/practice/{game_id}/rounds").status_code == 404
    finally:
        other.close()


def test_a_team_joins_with_its_code_without_an_account(
    lead: Visitor, db: Database, teams: list[Team]
) -> None:
    _game_id, codes = _create(lead, db)
    blue = teams[0]
    assert blue.join(codes["Blue"].lower()).status_code == 303
    page = blue.http.get("/play/team")
    assert page.status_code == 200
    assert "Team Blue" in page.text
    assert "Your decisions for round 1" in page.text


def test_an_unknown_code_is_refused_next_to_the_field(live_server: LiveServer) -> None:
    team = Team(live_server.base_url)
    try:
        response = team.join("ZZZZZ")
        assert response.status_code == 422
        assert 'id="join-code-error"' in response.text
        assert "No team has this code" in response.text
        assert team.http.get("/play/team").status_code == 303
    finally:
        team.http.close()


def test_the_join_form_needs_its_own_token(lead: Visitor, db: Database, teams: list[Team]) -> None:
    _game_id, codes = _create(lead, db)
    response = teams[0].http.post("/play", data={"code": codes["Blue"]})
    assert response.status_code == 403
    assert "ft_team" not in response.headers.get("set-cookie", "")


def test_team_decisions_need_the_teams_csrf_token(
    lead: Visitor, db: Database, teams: list[Team]
) -> None:
    _game_id, codes = _create(lead, db)
    blue = teams[0]
    blue.join(codes["Blue"])
    blue.csrf = "forged"
    assert blue.decide().status_code == 403
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(GameDecision)) == 0


def test_overspending_comes_back_with_messages_next_to_the_fields(
    lead: Visitor, db: Database, teams: list[Team]
) -> None:
    _game_id, codes = _create(lead, db)
    blue = teams[0]
    blue.join(codes["Blue"])
    response = blue.decide(
        **{"recognition": "90000", "staffing.delivery": "0", "lunch_and_learn_sessions": "two"}
    )
    assert response.status_code == 422
    assert 'id="f-lunch-error"' in response.text
    assert 'value="two"' in response.text  # the entry is kept as typed
    response = blue.decide(**{"recognition": "90000", "staffing.delivery": "0"})
    assert response.status_code == 422
    assert 'id="f-budget-error"' in response.text
    assert 'id="f-staffing.delivery-error"' in response.text
    assert 'value="90000"' in response.text
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(GameDecision)) == 0


def test_the_budget_line_follows_the_form_as_it_is_typed(
    lead: Visitor, db: Database, teams: list[Team]
) -> None:
    _game_id, codes = _create(lead, db)
    blue = teams[0]
    blue.join(codes["Blue"])
    line = blue.http.get(
        "/play/team/budget", params={"recognition": "60000", "job_shadowing": "on"}
    )
    assert line.status_code == 200
    assert "80,000" in line.text
    assert "30,000 over budget" in line.text


def test_a_played_round_reaches_the_teams_the_console_and_the_report(
    lead: Visitor, db: Database, teams: list[Team]
) -> None:
    game_id, codes = _create(lead, db)
    blue, green = teams
    blue.join(codes["Blue"])
    green.join(codes["Green"])
    assert blue.decide().status_code == 303
    waiting = lead.post(f"/practice/{game_id}/rounds")
    assert waiting.status_code == 422
    assert "Still waiting for decisions from Green." in waiting.text
    assert green.decide(**{"training.communication_skills": "0"}).status_code == 303
    assert lead.post(f"/practice/{game_id}/rounds").status_code == 303
    assert _round_done(db, game_id).rounds_played == 1

    result = blue.http.get("/play/team")
    assert "Your results, round 1" in result.text
    assert "Internal targets (OLA) met" in result.text
    assert "<svg" in result.text
    assert "Your decisions for round 2" in result.text
    console = lead.get(f"/practice/{game_id}")
    assert "Leaderboard" in console.text
    assert "Teams side by side" in console.text
    assert "Run round 2" in console.text

    report = lead.get(f"/practice/{game_id}/report.html")
    assert report.status_code == 200
    assert "attachment" in report.headers["content-disposition"]
    assert "<svg" in report.text
    assert "<script" not in report.text
    assert not re.search(r'(src|href)="(https?:)?//', report.text)  # nothing fetched from elsewhere
    chart = lead.get(f"/practice/{game_id}/charts/profit.png")
    assert chart.status_code == 200
    assert chart.content.startswith(b"\x89PNG")


def test_the_facilitator_changes_and_resets_the_published_correlations(
    lead: Visitor, db: Database
) -> None:
    game_id, _codes = _create(lead, db)
    page = lead.get(f"/practice/{game_id}/assumptions")
    assert "correlations, not laws" in page.text
    assert "-8.1%" in page.text
    changed = lead.post(
        f"/practice/{game_id}/assumptions",
        {
            "turnover_per_10_points_purpose": "-5",
            "profitability_per_10_points_purpose": "4.4",
            "revenue_per_10_points_satisfaction": "abc",
            "profitability_per_10_points_satisfaction": "1.5",
        },
    )
    assert changed.status_code == 422
    assert 'id="a-revenue_per_10_points_satisfaction-error"' in changed.text
    changed = lead.post(
        f"/practice/{game_id}/assumptions",
        {
            "turnover_per_10_points_purpose": "-5",
            "profitability_per_10_points_purpose": "4.4",
            "revenue_per_10_points_satisfaction": "3",
            "profitability_per_10_points_satisfaction": "1.5",
        },
    )
    assert changed.status_code == 303
    with db.unit_of_work(readonly=True) as session:
        game = session.get(GameSession, game_id)
        assert game is not None
        assert game.correlations["turnover_per_10_points_purpose"] == pytest.approx(-0.05)
    assert lead.post(f"/practice/{game_id}/assumptions", {"reset": "1"}).status_code == 303
    with db.unit_of_work(readonly=True) as session:
        game = session.get(GameSession, game_id)
        assert game is not None
        assert game.correlations["turnover_per_10_points_purpose"] == pytest.approx(-0.081)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "1" * 5000])
def test_a_setup_number_that_is_not_finite_is_refused_beside_its_field(
    lead: Visitor, db: Database, value: str
) -> None:
    for name in ("rounds", "days_per_round", "replications", "budget_per_round"):
        response = lead.post("/practice/new", {**SETUP, name: value})
        assert response.status_code == 422, (name, response.text[:300])
        assert f'id="new-{name}-error"' in response.text, name
    response = lead.post("/practice/new", {**SETUP, "title": "T" * 121})
    assert response.status_code == 422
    assert "Keep the title under 120 characters." in response.text
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(GameSession)) == 0


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("staffing.delivery", "nan", "f-staffing.delivery-error"),
        ("staffing.delivery", "1e400", "f-staffing.delivery-error"),
        # Staff costs nothing, and the simulation's events grow with it: 2^31 people never
        # finish a round.
        ("staffing.delivery", str(2**31), "f-staffing.delivery-error"),
        ("staffing.delivery", "1001", "f-staffing.delivery-error"),
        ("policies.update_every_hours", "0.01", "f-cadence-error"),
        ("policies.update_every_hours", "nan", "f-cadence-error"),
        ("policies.update_every_hours", "1e308", "f-cadence-error"),
        ("training.communication_skills", "nan", "f-training.communication_skills-error"),
        ("recognition", "inf", "f-recognition-error"),
        ("lunch_and_learn_sessions", "1" * 5000, "f-lunch-error"),
    ],
)
def test_a_team_decision_that_would_stall_or_corrupt_the_round_is_refused_beside_its_field(
    lead: Visitor, db: Database, teams: list[Team], field: str, value: str, error: str
) -> None:
    _game_id, codes = _create(lead, db)
    blue = teams[0]
    blue.join(codes["Blue"])
    response = blue.decide(**{field: value})
    assert response.status_code == 422, response.text[:300]
    assert f'id="{error}"' in response.text
    budget = blue.http.get("/play/team/budget", params={field: value})
    assert budget.status_code in (200, 422), budget.text[:300]
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(GameDecision)) == 0
    # The largest team the game takes is still a decision it plays.
    assert blue.decide(**{"staffing.delivery": "1000"}).status_code == 303


def _write_beside(work: Callable[[], None]) -> bool:
    """Run a write on its own thread; True if it was done within 10 s (the round's simulation,
    which calls this, holding a transaction would keep it waiting for its end or for 30 s)."""
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    return done.is_set()


@pytest.mark.parametrize(
    ("meanwhile", "said"),
    [
        ("correlations", "the correlations changed"),
        ("decisions", "a team changed its decisions"),
        ("second click", "another run played round 1 meanwhile"),
    ],
)
def test_a_round_is_simulated_with_no_transaction_open_and_a_change_meanwhile_is_not_lost(
    lead: Visitor,
    db: Database,
    world: World,
    teams: list[Team],
    monkeypatch: pytest.MonkeyPatch,
    meanwhile: str,
    said: str,
) -> None:
    game_id, codes = _create(lead, db)
    blue, green = teams
    blue.join(codes["Blue"])
    green.join(codes["Green"])
    assert blue.decide().status_code == 303
    assert green.decide().status_code == 303
    simulate = service.play_planned
    wrote: list[bool] = []

    def change() -> None:
        with db.unit_of_work() as session:
            if meanwhile == "correlations":
                changed = PublishedCorrelations(turnover_per_10_points_purpose=-0.5)
                service.set_correlations(session, game_id, world.people["lee"], changed, T)
            elif meanwhile == "decisions":
                row = session.scalars(select(GameDecision).order_by(GameDecision.id)).first()
                assert row is not None
                row.decisions = {**row.decisions, "recognition": 1000.0}
            else:  # the same round, run to the end by a second click
                plan = service.plan_round(session, game_id, world.people["lee"])
                service.record_round(session, plan, simulate(plan), world.people["lee"], T)

    def slow_round(plan: service.RoundPlan) -> object:
        wrote.append(_write_beside(change))
        return simulate(plan)

    monkeypatch.setattr(service, "play_planned", slow_round)
    assert lead.post(f"/practice/{game_id}/rounds").status_code == 303
    _round_done(db, game_id, refused=True)
    assert wrote == [True], "a write beside the round's simulation had to wait for it"
    # The console says why the round was not stored, and offers to run it again.
    console = lead.get(f"/practice/{game_id}")
    assert "round 1 was not stored" in console.text.lower()
    assert said in console.text.lower()
    with db.unit_of_work(readonly=True) as session:
        game = session.get(GameSession, game_id)
        assert game is not None
        # Nothing stored by the refused run: only the second click's round, if any.
        assert game.rounds_played == (1 if meanwhile == "second click" else 0)
        results = session.scalar(select(func.count()).select_from(GameResult))
        assert results == (2 if meanwhile == "second click" else 0)
    monkeypatch.setattr(service, "play_planned", simulate)
    if meanwhile != "second click":  # run again, it is played on what is there now
        assert lead.post(f"/practice/{game_id}/rounds").status_code == 303
        assert _round_done(db, game_id).rounds_played == 1
        assert "was not stored" not in lead.get(f"/practice/{game_id}").text


def test_a_round_is_played_in_the_background_and_the_console_follows_it(
    lead: Visitor, db: Database, teams: list[Team], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Run round" answers while the round is simulated (a year of ten replications on your own
    company takes minutes); the console says so, refuses a second start, and loads the board
    again once the round is stored."""
    game_id = _decided(lead, db, teams)
    simulate = service.play_planned
    release = threading.Event()
    simulated: list[int] = []

    def held_round(plan: service.RoundPlan) -> object:
        simulated.append(plan.number)
        assert release.wait(30)
        return simulate(plan)

    monkeypatch.setattr(service, "play_planned", held_round)
    try:
        assert lead.post(f"/practice/{game_id}/rounds").status_code == 303
        console = lead.get(f"/practice/{game_id}")
        assert "Round 1 is being played" in console.text
        assert "Run round 1" not in console.text
        assert f'hx-get="/practice/{game_id}/status?playing=1"' in console.text
        again = lead.post(f"/practice/{game_id}/rounds")
        assert again.status_code == 409, again.text[:300]
        assert "the simulation of round 1 is still running" in again.text.lower()
        polled = lead.get(f"/practice/{game_id}/status", params={"playing": "1"})
        assert polled.status_code == 200
        assert "hx-redirect" not in polled.headers
        # The teams' decisions are in: a change now would only have the round thrown away.
        blue = teams[0]
        assert "running round 1 with the decisions you saved" in blue.http.get("/play/team").text
        changed = blue.decide(**{"training.communication_skills": "0"})
        assert changed.status_code >= 400
        assert "the facilitator is running round 1" in changed.text.lower()
    finally:
        release.set()
    assert _round_done(db, game_id).rounds_played == 1
    assert simulated == [1], "the refused second start simulated a round too"
    polled = lead.get(f"/practice/{game_id}/status", params={"playing": "1"})
    assert polled.headers["hx-redirect"] == f"/practice/{game_id}"
    console = lead.get(f"/practice/{game_id}")
    assert "Round 1 has been played." in console.text
    assert "Run round 2" in console.text
    assert "is being played" not in console.text


def test_a_burst_of_run_round_clicks_starts_the_round_once(
    lead: Visitor, db: Database, teams: list[Team], monkeypatch: pytest.MonkeyPatch
) -> None:
    game_id = _decided(lead, db, teams)
    simulate = service.play_planned
    simulated: list[int] = []

    def counted(plan: service.RoundPlan) -> object:
        simulated.append(plan.number)
        return simulate(plan)

    monkeypatch.setattr(service, "play_planned", counted)
    with ThreadPoolExecutor(max_workers=8) as clicks:
        answers = list(clicks.map(lambda _: lead.post(f"/practice/{game_id}/rounds"), range(8)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(303) == 1, statuses
    # The others are told it is running, or (once it is stored) that round 2's decisions are
    # still to come; none is a server error.
    assert set(statuses) <= {303, 409, 422}, statuses
    assert _round_done(db, game_id).rounds_played == 1
    assert simulated == [1]


def test_a_round_that_fails_in_the_background_is_said_and_can_be_run_again(
    lead: Visitor, db: Database, teams: list[Team], monkeypatch: pytest.MonkeyPatch
) -> None:
    game_id = _decided(lead, db, teams)
    simulate = service.play_planned

    def broken(plan: service.RoundPlan) -> object:
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(service, "play_planned", broken)
    assert lead.post(f"/practice/{game_id}/rounds").status_code == 303
    assert _round_done(db, game_id, refused=True).rounds_played == 0
    console = lead.get(f"/practice/{game_id}")
    assert "Round 1 was not stored: it could not be played or stored; run it again." in (
        console.text
    )
    assert "Run round 1" in console.text
    monkeypatch.setattr(service, "play_planned", simulate)
    assert lead.post(f"/practice/{game_id}/rounds").status_code == 303
    assert _round_done(db, game_id).rounds_played == 1
    assert "was not stored" not in lead.get(f"/practice/{game_id}").text
