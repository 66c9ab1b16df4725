"""The stored game on SQLite and PostgreSQL: sessions, joining, decisions, rounds, boards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.errors import Conflict, InvalidInput, NotFound
from followthrough.org import service as org
from followthrough.practice import service
from followthrough.practice.game.decisions import Decisions, InvalidDecisions, Policies, Theme
from followthrough.practice.game.effects import PublishedCorrelations
from followthrough.practice.game.session import ROUND_GIVEN_UP_AFTER
from followthrough.practice.models import GameDecision, GameResult, GameSession, GameTeam
from tests.conftest import T0

# Two short rounds of a small firm keep each test to a fraction of a second.
SETUP = service.GameSetup(
    title="Leadership course, March",
    scenario="professional_services",
    team_names=["Blue", "Green"],
    rounds=2,
    days_per_round=14,
    budget_per_round=50_000,
    replications=1,
)
INVEST = Decisions(
    training={Theme.COMMUNICATION_SKILLS: 20_000, Theme.SERVICE_EXCELLENCE_REVIEWS: 10_000},
    buddy_system=True,
    policies=Policies(handoffs_must_be_accepted=True, promise_discipline=True),
)


@dataclass
class Game:
    id: int
    facilitator: int
    other: int
    codes: dict[str, str]
    teams: dict[str, int]


@pytest.fixture
def game(db: Database) -> Game:
    with db.unit_of_work() as session:
        lead = org.add_person(session, "lena", "Lena Learning", "lena@example.com")
        other = org.add_person(session, "otto", "Otto Other", "otto@example.com")
        created = service.create_game(session, lead.id, SETUP, T0, np.random.default_rng(5))
        teams = service.teams_of(session, created.id)
        return Game(
            created.id,
            lead.id,
            other.id,
            {t.name: t.code for t in teams},
            {t.name: t.id for t in teams},
        )


def test_a_new_session_gives_each_team_its_own_join_code(db: Database, game: Game) -> None:
    with db.unit_of_work(readonly=True) as session:
        stored = service.facilitated_game(session, game.id, game.facilitator)
        assert stored.state == "open"
        assert stored.rounds_played == 0
        assert "[[departments]]" in stored.scenario_toml
        assert service.game_scenario(stored).days == 28
    assert len(set(game.codes.values())) == 2
    assert all(len(code) == 5 for code in game.codes.values())


def test_a_bad_setup_names_every_field(db: Database, game: Game) -> None:
    bad = service.GameSetup(
        title=" ", scenario="bakery", team_names=["A", "a"], rounds=0, days_per_round=2
    )
    assert set(service.setup_problems(bad)) == {
        "title",
        "scenario",
        "teams",
        "rounds",
        "days_per_round",
    }
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        service.create_game(session, game.facilitator, bad, T0)
    assert refused.value.field == "title"


def test_a_team_joins_with_its_code_in_any_case(db: Database, game: Game) -> None:
    with db.unit_of_work() as session:
        team = service.join_team(session, f" {game.codes['Green'].lower()} ", T0)
        assert team.name == "Green"
    with db.unit_of_work(readonly=True) as session:
        joined = session.get(GameTeam, game.teams["Green"])
        assert joined is not None
        assert joined.joined_at == T0
        assert service.team_for_secret(session, joined.secret).id == joined.id


def test_an_unknown_code_is_refused_naming_the_code(db: Database, game: Game) -> None:
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        service.join_team(session, "ZZZZZ", T0)
    assert refused.value.field == "code"


def test_an_unknown_team_secret_is_not_found(db: Database, game: Game) -> None:
    with db.unit_of_work(readonly=True) as session, pytest.raises(NotFound):
        service.team_for_secret(session, "guess")


def test_decisions_over_budget_are_refused_naming_the_field(db: Database, game: Game) -> None:
    lavish = Decisions(recognition=60_000, staffing={"delivery": 0})
    with db.unit_of_work() as session, pytest.raises(InvalidDecisions) as refused:
        service.record_decisions(session, game.teams["Blue"], lavish, T0)
    assert {p.field for p in refused.value.problems} == {"budget", "staffing.delivery"}
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(GameDecision)) == 0


def test_saving_decisions_again_replaces_them_for_the_round(db: Database, game: Game) -> None:
    with db.unit_of_work() as session:
        service.record_decisions(session, game.teams["Blue"], Decisions(buddy_system=True), T0)
    with db.unit_of_work() as session:
        service.record_decisions(session, game.teams["Blue"], INVEST, T0)
    with db.unit_of_work(readonly=True) as session:
        stored = service.facilitated_game(session, game.id, game.facilitator)
        board = service.board(session, stored)
        assert board.team(game.teams["Blue"]).decisions == INVEST
        assert board.waiting_for == ["Green"]


def test_a_round_waits_for_every_team(db: Database, game: Game) -> None:
    with db.unit_of_work() as session:
        service.record_decisions(session, game.teams["Blue"], INVEST, T0)
    with db.unit_of_work() as session, pytest.raises(InvalidInput, match="Green"):
        service.run_round(session, game.id, game.facilitator, T0)


def _decide_both(db: Database, game: Game) -> None:
    with db.unit_of_work() as session:
        service.record_decisions(session, game.teams["Blue"], INVEST, T0)
        service.record_decisions(session, game.teams["Green"], Decisions(), T0)


def test_running_a_round_stores_every_teams_results(db: Database, game: Game) -> None:
    _decide_both(db, game)
    with db.unit_of_work() as session:
        assert service.run_round(session, game.id, game.facilitator, T0) == 1
    with db.unit_of_work(readonly=True) as session:
        stored = service.facilitated_game(session, game.id, game.facilitator)
        board = service.board(session, stored)
        assert stored.rounds_played == 1
        assert board.next_round == 2
        assert board.waiting_for == ["Blue", "Green"]
        blue = board.team(game.teams["Blue"]).latest
        green = board.team(game.teams["Green"]).latest
        assert blue is not None
        assert green is not None
        assert blue.decisions == INVEST
        assert blue.spent == 45_000
        assert blue.mean_accept_hours < green.mean_accept_hours
        assert [s.team for s in board.standings] == sorted(
            ["Blue", "Green"], key=lambda name: -board.team(game.teams[name]).rounds[0].score
        )


def test_the_second_round_continues_from_the_first(db: Database, game: Game) -> None:
    _decide_both(db, game)
    with db.unit_of_work() as session:
        service.run_round(session, game.id, game.facilitator, T0)
    _decide_both(db, game)
    with db.unit_of_work() as session:
        assert service.run_round(session, game.id, game.facilitator, T0) == 2
    with db.unit_of_work(readonly=True) as session:
        stored = service.facilitated_game(session, game.id, game.facilitator)
        board = service.board(session, stored)
        assert stored.state == "finished"
        assert board.next_round is None
        assert [r.round for r in board.team(game.teams["Green"]).rounds] == [1, 2]
        assert session.scalar(select(func.count()).select_from(GameResult)) == 4


def test_a_finished_session_refuses_more_decisions_and_rounds(db: Database, game: Game) -> None:
    for _ in range(2):
        with db.unit_of_work() as session:
            service.run_round(session, game.id, game.facilitator, T0, fill_missing=True)
    with db.unit_of_work() as session, pytest.raises(Conflict):
        service.record_decisions(session, game.teams["Blue"], INVEST, T0)
    with db.unit_of_work() as session, pytest.raises(Conflict):
        service.run_round(session, game.id, game.facilitator, T0)


def test_teams_that_did_not_decide_repeat_their_last_choices_when_asked(
    db: Database, game: Game
) -> None:
    _decide_both(db, game)
    with db.unit_of_work() as session:
        service.run_round(session, game.id, game.facilitator, T0)
    with db.unit_of_work() as session:
        service.run_round(session, game.id, game.facilitator, T0, fill_missing=True)
    with db.unit_of_work(readonly=True) as session:
        stored = service.facilitated_game(session, game.id, game.facilitator)
        blue = service.board(session, stored).team(game.teams["Blue"])
        assert [r.decisions for r in blue.rounds] == [INVEST, INVEST]


def test_someone_elses_session_is_not_found(db: Database, game: Game) -> None:
    with db.unit_of_work() as session, pytest.raises(NotFound):
        service.facilitated_game(session, game.id, game.other)
    with db.unit_of_work() as session, pytest.raises(NotFound):
        service.run_round(session, game.id, game.other, T0, fill_missing=True)
    with db.unit_of_work(readonly=True) as session:
        assert service.games_of(session, game.other) == []


def test_changed_correlations_change_the_published_figures(db: Database, game: Game) -> None:
    silent = PublishedCorrelations(
        turnover_per_10_points_purpose=-0.081,
        profitability_per_10_points_purpose=0.0,
        revenue_per_10_points_satisfaction=0.0,
        profitability_per_10_points_satisfaction=0.0,
    )
    with db.unit_of_work() as session:
        service.set_correlations(session, game.id, game.facilitator, silent, T0)
    _decide_both(db, game)
    with db.unit_of_work() as session:
        service.run_round(session, game.id, game.facilitator, T0)
    with db.unit_of_work(readonly=True) as session:
        stored = service.facilitated_game(session, game.id, game.facilitator)
        assert service.correlations_of(stored) == silent
        blue = service.board(session, stored).team(game.teams["Blue"]).latest
        assert blue is not None
        assert blue.published.revenue == 0
        assert blue.published.profit == 0


def test_correlations_out_of_range_are_refused_naming_the_field(db: Database, game: Game) -> None:
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        service.set_correlations(
            session,
            game.id,
            game.facilitator,
            PublishedCorrelations(revenue_per_10_points_satisfaction=4.5),
            T0,
        )
    assert refused.value.field == "revenue_per_10_points_satisfaction"


def test_a_started_round_refuses_a_second_start_until_stored_refused_or_given_up(
    db: Database, game: Game
) -> None:
    _decide_both(db, game)
    with db.unit_of_work() as session:
        plan = service.start_round(session, game.id, game.facilitator, T0)
    with db.unit_of_work() as session, pytest.raises(Conflict, match="still running"):
        service.start_round(session, game.id, game.facilitator, T0 + timedelta(minutes=5))
    # Refused in the background (a team changed its decisions meanwhile): said, and free again.
    with db.unit_of_work() as session:
        service.round_not_stored(session, game.id, plan.number, "a team changed its decisions")
    with db.unit_of_work() as session:
        stored = session.get(GameSession, game.id)
        assert stored is not None
        assert stored.round_problem == "Round 1 was not stored: a team changed its decisions."
        again = service.start_round(session, game.id, game.facilitator, T0)
        assert stored.round_problem is None
    # Lost with its process: after ROUND_GIVEN_UP_AFTER it may be started again, and stored.
    later = T0 + ROUND_GIVEN_UP_AFTER
    with db.unit_of_work() as session:
        plan = service.start_round(session, game.id, game.facilitator, later)
        assert plan.number == again.number == 1
        assert (
            service.record_round(session, plan, service.play_planned(plan), game.facilitator, later)
            == 1
        )
    with db.unit_of_work(readonly=True) as session:
        stored = session.get(GameSession, game.id)
        assert stored is not None
        assert (stored.rounds_played, stored.playing_round, stored.playing_since) == (1, None, None)
