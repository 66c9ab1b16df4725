"""The game, stored: create a session, let teams join and decide, run rounds, read the boards.

Services only flush; the caller's unit of work commits. The rules are `practice.game`; this
module loads rows, rebuilds the rules' view of a session, calls them and writes what changed.

Interactive play: a round is run while the facilitator waits, so a session defaults to rounds
of 91 simulated days (a quarter) and 2 replications per team. With four teams on the insurance
scenario a round takes about 1.5 s on one core (the baseline company plus each team, on common
random numbers). More replications narrow the noise between teams and cost time in proportion.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.errors import Conflict, InvalidInput, NotFound
from followthrough.practice.game import records
from followthrough.practice.game import session as rules
from followthrough.practice.game.decisions import Decisions, check_decisions
from followthrough.practice.game.effects import Effects, PublishedCorrelations
from followthrough.practice.models import GameDecision, GameResult, GameSession, GameTeam
from followthrough.practice.sim.scenario import (
    SHIPPED,
    Scenario,
    parse_scenario,
    shipped_scenario_path,
)

DAYS_PER_ROUND = 91
REPLICATIONS = 2
MAX_TEAMS = 8
MAX_ROUNDS = 12
TITLE_LIMIT = 120  # the column's width
# The company fitted from the desk's own history (practice.fitted), beside the shipped ones.
FITTED = "fitted"
OPEN = "open"
FINISHED = "finished"


@dataclass(frozen=True)
class GameSetup:
    """What a facilitator chooses when creating a session."""

    title: str
    scenario: str
    team_names: Sequence[str]
    rounds: int = 4
    days_per_round: int = DAYS_PER_ROUND
    budget_per_round: float = 100_000.0
    replications: int = REPLICATIONS
    # With `scenario` FITTED: the fitted company's scenario file (practice.fitted.toml_file),
    # fitted by the caller before its unit of work began.
    fitted_toml: str | None = None


def setup_problems(setup: GameSetup) -> dict[str, str]:
    """Every problem with a setup by field name; empty when it can be created."""
    problems: dict[str, str] = {}
    if not setup.title.strip():
        problems["title"] = "Give the session a title."
    elif len(setup.title.strip()) > TITLE_LIMIT:
        problems["title"] = f"Keep the title under {TITLE_LIMIT} characters."
    if setup.scenario == FITTED:
        if setup.fitted_toml is None:
            problems["scenario"] = (
                "Your own company is for team leads and admins, once teams have resolved "
                "requests in the last 120 days."
            )
    elif setup.scenario not in SHIPPED:
        problems["scenario"] = "Choose one of the companies in the list."
    if not 1 <= setup.rounds <= MAX_ROUNDS:
        problems["rounds"] = f"A session has between 1 and {MAX_ROUNDS} rounds."
    if not 7 <= setup.days_per_round <= 365:
        problems["days_per_round"] = "A round covers between 7 and 365 days."
    if not 1 <= setup.replications <= 10:
        problems["replications"] = "Use between 1 and 10 replications."
    if setup.budget_per_round < 0:
        problems["budget_per_round"] = "The budget cannot be negative."
    names = [name.strip() for name in setup.team_names if name.strip()]
    if not 1 <= len(names) <= MAX_TEAMS:
        problems["teams"] = f"Name between 1 and {MAX_TEAMS} teams, one a line."
    elif len({name.casefold() for name in names}) != len(names):
        problems["teams"] = "Each team needs its own name."
    elif any(len(name) > 80 for name in names):
        problems["teams"] = "Keep team names under 80 characters."
    return problems


def create_game(
    session: Session,
    facilitator_id: int,
    setup: GameSetup,
    now: datetime,
    rng: np.random.Generator | None = None,
) -> GameSession:
    """A new session with one join code per team; codes are unique across all sessions."""
    problems = setup_problems(setup)
    if problems:
        field, message = next(iter(problems.items()))
        raise InvalidInput(message, field=field, problems=problems)
    rng = rng or np.random.default_rng()
    if setup.scenario == FITTED and setup.fitted_toml is not None:
        toml = setup.fitted_toml
    else:
        toml = shipped_scenario_path(setup.scenario).read_text(encoding="utf-8")
    scenario = _round_scenario(parse_scenario(toml, f"{setup.scenario}.toml"), setup)
    names = [name.strip() for name in setup.team_names if name.strip()]
    while True:
        plan = rules.create_session(
            scenario,
            names,
            rng,
            rounds=setup.rounds,
            budget_per_round=setup.budget_per_round,
            replications=setup.replications,
        )
        codes = [team.code for team in plan.teams]
        taken = session.scalars(select(GameTeam.code).where(GameTeam.code.in_(codes))).first()
        if taken is None:
            break
    game = GameSession(
        title=setup.title.strip(),
        facilitator_id=facilitator_id,
        scenario_name=setup.scenario,
        scenario_toml=toml,
        rounds=setup.rounds,
        rounds_played=0,
        days_per_round=setup.days_per_round,
        budget_per_round=setup.budget_per_round,
        replications=setup.replications,
        seed=plan.seed,
        correlations=records.correlations_json(PublishedCorrelations()),
        state=OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(game)
    session.flush()
    for team in plan.teams:
        session.add(
            GameTeam(
                game_id=game.id,
                name=team.name,
                code=team.code,
                secret=secrets.token_urlsafe(32),
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
            )
        )
    session.flush()
    return game


def _round_scenario(scenario: Scenario, setup: GameSetup | GameSession) -> Scenario:
    # The rules split the scenario's days evenly over the rounds.
    return scenario.model_copy(update={"days": setup.days_per_round * setup.rounds})


def game_scenario(game: GameSession) -> Scenario:
    """The company the session plays, as the facilitator set it up."""
    return _round_scenario(parse_scenario(game.scenario_toml, f"{game.scenario_name}.toml"), game)


def game_rules(game: GameSession, teams: Sequence[GameTeam]) -> rules.Session:
    """The rules' view of a stored session, with the facilitator's correlations."""
    return rules.Session(
        scenario=game_scenario(game),
        teams=tuple(rules.Team(team.name, team.code) for team in teams),
        rounds=game.rounds,
        budget_per_round=game.budget_per_round,
        seed=game.seed,
        replications=game.replications,
        effects=Effects(correlations=records.correlations_from_json(game.correlations)),
    )


# ---- facilitator ------------------------------------------------------------------------------


def games_of(session: Session, person_id: int) -> list[GameSession]:
    """The sessions a person facilitates, newest first."""
    return list(
        session.scalars(
            select(GameSession)
            .where(GameSession.facilitator_id == person_id)
            .order_by(GameSession.id.desc())
        )
    )


def facilitated_game(
    session: Session, game_id: int, person_id: int, *, for_update: bool = False
) -> GameSession:
    """A session its facilitator may see; anyone else's is not found."""
    query = select(GameSession).where(
        GameSession.id == game_id, GameSession.facilitator_id == person_id
    )
    if for_update:
        query = query.with_for_update()
    game = session.scalars(query).one_or_none()
    if game is None:
        raise NotFound("no such game session", field="game_id")
    return game


def teams_of(session: Session, game_id: int) -> list[GameTeam]:
    return list(
        session.scalars(select(GameTeam).where(GameTeam.game_id == game_id).order_by(GameTeam.id))
    )


def set_correlations(
    session: Session,
    game_id: int,
    person_id: int,
    correlations: PublishedCorrelations,
    now: datetime,
) -> GameSession:
    """Replace the published correlations; rounds already played keep their results."""
    if not -0.9 <= correlations.turnover_per_10_points_purpose <= 0.9:
        raise InvalidInput(
            "the turnover change must be between -0.9 and 0.9",
            field="turnover_per_10_points_purpose",
        )
    for name, value in records.correlations_json(correlations).items():
        if not -1.0 <= value <= 1.0:
            raise InvalidInput("use a share between -1 and 1 (0.045 is 4.5%)", field=name)
    game = facilitated_game(session, game_id, person_id, for_update=True)
    game.correlations = records.correlations_json(correlations)
    game.updated_at = now
    session.flush()
    return game


@dataclass(frozen=True)
class RoundPlan:
    """What the next round is played from, read in one short unit of work (`plan_round`), so
    that it is simulated with no transaction open (`play_planned`: seconds, a minute for a year
    of ten replications, during which SQLite would let nobody else write) and stored after, if
    nothing it was read from changed meanwhile (`record_round`)."""

    game_id: int
    number: int
    setup: rules.Session  # the rules' view of the session
    correlations: dict[str, object]  # as stored: the round is played with these
    states: dict[str, rules.TeamState]
    teams: tuple[tuple[int, str], ...]  # (id, name)
    decisions: dict[int, Decisions]  # by team id, the missing ones filled
    filled: frozenset[int]  # the teams whose decisions were filled for them


def plan_round(
    session: Session, game_id: int, person_id: int, *, fill_missing: bool = False
) -> RoundPlan:
    """Everything the next round needs, or InvalidInput / Conflict saying why it cannot run.

    Teams that have not decided stop the round, unless `fill_missing`: then they play their
    last round's decisions again (or change nothing in the first round), and that is recorded.
    """
    game = facilitated_game(session, game_id, person_id)
    if game.state == FINISHED:
        raise Conflict("every round of this session has been played", field="round")
    teams = teams_of(session, game.id)
    number = game.rounds_played + 1
    states = _team_states(session, game, teams)
    decided = _decisions_for_round(session, teams, number)
    missing = [team for team in teams if team.id not in decided]
    if missing and not fill_missing:
        names = ", ".join(team.name for team in missing)
        raise InvalidInput(f"still waiting for decisions from {names}", field="round")
    for team in missing:
        rounds_played = states[team.name].rounds
        decided[team.id] = rounds_played[-1].decisions if rounds_played else Decisions()
    plan = RoundPlan(
        game_id=game.id,
        number=number,
        setup=game_rules(game, teams),
        correlations=dict(game.correlations),
        states=states,
        teams=tuple((team.id, team.name) for team in teams),
        decisions=decided,
        filled=frozenset(team.id for team in missing),
    )
    rules.check_round(plan.setup, plan.states, _by_name(plan))  # before anything runs
    return plan


def start_round(
    session: Session, game_id: int, person_id: int, now: datetime, *, fill_missing: bool = False
) -> RoundPlan:
    """Plan the next round (`plan_round`) and mark it as being played, so that every server
    process shows it and a second start is refused (Conflict) until it is stored
    (`record_round`), refused (`round_not_stored`) or given up (`rules.round_in_play`)."""
    game = facilitated_game(session, game_id, person_id, for_update=True)
    playing = rules.round_in_play(game.playing_round, game.playing_since, now)
    if playing is not None:
        raise Conflict(
            f"the simulation of round {playing} is still running; its results appear here "
            "when it is done",
            field="round",
        )
    plan = plan_round(session, game_id, person_id, fill_missing=fill_missing)
    game.playing_round = plan.number
    game.playing_since = now
    game.round_problem = None
    session.flush()
    return plan


def round_not_stored(session: Session, game_id: int, number: int, reason: str) -> None:
    """A round started in the background was not stored: say why on the console, and let the
    facilitator start it again."""
    game = session.scalars(
        select(GameSession).where(GameSession.id == game_id).with_for_update()
    ).one_or_none()
    if game is None:
        return
    if game.playing_round == number:
        game.playing_round = game.playing_since = None
    game.round_problem = f"Round {number} was not stored: {reason}."[:300]
    session.flush()


def round_playing(game: GameSession, now: datetime) -> int | None:
    """The round of this session being simulated now, if any."""
    return rules.round_in_play(game.playing_round, game.playing_since, now)


def _by_name(plan: RoundPlan) -> dict[str, Decisions]:
    return {name: plan.decisions[team_id] for team_id, name in plan.teams}


def play_planned(plan: RoundPlan) -> dict[str, rules.TeamState]:
    """The round simulated for every team: CPU only, no database."""
    return rules.play_round(plan.setup, plan.states, _by_name(plan))


def record_round(
    session: Session,
    plan: RoundPlan,
    played: Mapping[str, rules.TeamState],
    person_id: int,
    now: datetime,
) -> int:
    """Store a played round; returns its number. Conflict, and nothing stored, when the round
    was played meanwhile (a second click), a team changed its decisions or the facilitator the
    correlations while it ran: the facilitator runs it again."""
    game = facilitated_game(session, plan.game_id, person_id, for_update=True)
    if game.state == FINISHED or game.rounds_played != plan.number - 1:
        raise Conflict(f"another run played round {plan.number} meanwhile", field="round")
    teams = teams_of(session, game.id)
    handed_in = {t: d for t, d in plan.decisions.items() if t not in plan.filled}
    if (
        [(team.id, team.name) for team in teams] != list(plan.teams)
        or _decisions_for_round(session, teams, plan.number) != handed_in
        or game.correlations != plan.correlations
    ):
        raise Conflict(
            "a team changed its decisions, or the correlations changed, while the round was "
            "played; run it again",
            field="round",
        )
    for team_id in sorted(plan.filled):
        session.add(
            GameDecision(
                team_id=team_id,
                round=plan.number,
                decisions=records.decisions_json(plan.decisions[team_id]),
                decided_at=now,
            )
        )
    for team_id, name in plan.teams:
        state = played[name]
        session.add(
            GameResult(
                team_id=team_id,
                round=plan.number,
                result=records.team_round_json(state.rounds[-1]),
                levels=records.levels_json(state.levels),
                created_at=now,
            )
        )
    game.rounds_played = plan.number
    game.updated_at = now
    if game.playing_round == plan.number:
        game.playing_round = game.playing_since = None
    game.round_problem = None
    if plan.number == game.rounds:
        game.state = FINISHED
    session.flush()
    return plan.number


def run_round(
    session: Session, game_id: int, person_id: int, now: datetime, *, fill_missing: bool = False
) -> int:
    """Run the next round for every team and store their results in this one unit of work;
    returns its number. (The console's page runs the three steps in three, `RoundPlan`.)"""
    plan = plan_round(session, game_id, person_id, fill_missing=fill_missing)
    return record_round(session, plan, play_planned(plan), person_id, now)


def _decisions_for_round(
    session: Session, teams: Sequence[GameTeam], number: int
) -> dict[int, Decisions]:
    rows = session.scalars(
        select(GameDecision).where(
            GameDecision.team_id.in_([team.id for team in teams]), GameDecision.round == number
        )
    )
    return {row.team_id: records.decisions_from_json(row.decisions) for row in rows}


def _team_states(
    session: Session, game: GameSession, teams: Sequence[GameTeam]
) -> dict[str, rules.TeamState]:
    results: dict[int, list[GameResult]] = {team.id: [] for team in teams}
    for row in session.scalars(
        select(GameResult)
        .where(GameResult.team_id.in_(list(results)))
        .order_by(GameResult.team_id, GameResult.round)
    ):
        results[row.team_id].append(row)
    start = rules.starting_states(game_rules(game, teams))
    states = {}
    for team in teams:
        rows = results[team.id]
        if not rows:
            states[team.name] = start[team.name]
            continue
        states[team.name] = rules.TeamState(
            team.name,
            records.levels_from_json(rows[-1].levels),
            tuple(records.team_round_from_json(row.result) for row in rows),
        )
    return states


# ---- what the pages show ----------------------------------------------------------------------


@dataclass(frozen=True)
class TeamView:
    """One team as the facilitator or the team sees it: next round's decisions and results."""

    id: int
    name: str
    code: str
    joined: bool
    decisions: Decisions | None  # for the next round, once handed in
    rounds: tuple[rules.TeamRound, ...]

    @property
    def latest(self) -> rules.TeamRound | None:
        return self.rounds[-1] if self.rounds else None


@dataclass(frozen=True)
class Board:
    """A whole session: its set-up, every team and the leaderboard."""

    game: GameSession
    scenario: Scenario
    teams: tuple[TeamView, ...]
    standings: tuple[rules.Standing, ...]

    @property
    def next_round(self) -> int | None:
        return None if self.game.state == FINISHED else self.game.rounds_played + 1

    @property
    def waiting_for(self) -> list[str]:
        return [team.name for team in self.teams if team.decisions is None]

    def team(self, team_id: int) -> TeamView:
        return next(team for team in self.teams if team.id == team_id)


def board(session: Session, game: GameSession) -> Board:
    """Everything about a session the console, the debrief and the team pages show."""
    teams = teams_of(session, game.id)
    states = _team_states(session, game, teams)
    decided = _decisions_for_round(session, teams, game.rounds_played + 1)
    views = tuple(
        TeamView(
            id=team.id,
            name=team.name,
            code=team.code,
            joined=team.joined_at is not None,
            decisions=decided.get(team.id),
            rounds=states[team.name].rounds,
        )
        for team in teams
    )
    return Board(game, game_scenario(game), views, tuple(rules.leaderboard(states)))


# ---- teams ------------------------------------------------------------------------------------


def join_team(session: Session, code: str, now: datetime) -> GameTeam:
    """The team a join code belongs to (not case-sensitive); marks it joined."""
    cleaned = code.strip().upper().replace(" ", "")
    if not cleaned:
        raise InvalidInput("enter the code your facilitator gave your team", field="code")
    team = session.scalars(select(GameTeam).where(GameTeam.code == cleaned)).one_or_none()
    if team is None:
        raise InvalidInput("no team has this code; check it with your facilitator", field="code")
    if team.joined_at is None:
        team.joined_at = now
        session.flush()
    return team


def team_for_secret(session: Session, secret: str) -> GameTeam:
    """The team whose browsers hold this secret."""
    team = (
        session.scalars(select(GameTeam).where(GameTeam.secret == secret)).one_or_none()
        if secret
        else None
    )
    if team is None:
        raise NotFound("join your team with its code first", field="team")
    return team


def record_decisions(
    session: Session, team_id: int, decisions: Decisions, now: datetime
) -> GameDecision:
    """Save a team's decisions for the next round, replacing earlier ones for that round.

    Checked by the rules first (`InvalidDecisions` names each field); refused once every round
    has been played. The session row is locked so a round cannot run half-way through a save.
    """
    team = session.get(GameTeam, team_id)
    if team is None:
        raise NotFound("no such team", field="team")
    game = session.scalars(
        select(GameSession).where(GameSession.id == team.game_id).with_for_update()
    ).one()
    if game.state == FINISHED:
        raise Conflict("the game is over; every round has been played", field="round")
    playing = rules.round_in_play(game.playing_round, game.playing_since, now)
    if playing is not None:  # changed now, they would make the round's results be thrown away
        raise Conflict(
            f"the facilitator is running round {playing} with the decisions you saved; you "
            "decide again once its results are in",
            field="round",
        )
    rules_session = game_rules(game, [team])
    check_decisions(
        decisions, rules_session.scenario, rules_session.budget_per_round, rules_session.prices
    )
    number = game.rounds_played + 1
    row = session.scalars(
        select(GameDecision).where(GameDecision.team_id == team.id, GameDecision.round == number)
    ).one_or_none()
    if row is None:
        row = GameDecision(team_id=team.id, round=number, decisions={})
        session.add(row)
    row.decisions = records.decisions_json(decisions)
    row.decided_at = now
    session.flush()
    return row


def correlations_of(game: GameSession) -> PublishedCorrelations:
    return records.correlations_from_json(game.correlations)
