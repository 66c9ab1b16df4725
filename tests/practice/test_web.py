"""The game pages over real HTTP: the facilitator's console, the team pages, CSRF and errors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.practice.models import GameDecision, GameSession, GameTeam
from tests.conftest import LiveServer
from tests.factories import World
from tests.web.pages import Visitor

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
