import numpy as np
import pytest

from followthrough.practice.game import records
from followthrough.practice.game.decisions import Decisions, Policies, Targets, Theme
from followthrough.practice.game.effects import PublishedCorrelations
from followthrough.practice.game.session import create_session, play_round, starting_states
from followthrough.practice.sim.scenario import load_scenario

CHOICES = Decisions(
    training={Theme.COMMUNICATION_SKILLS: 12_000.0, Theme.FEEDBACK_SKILLS: 500.0},
    buddy_system=True,
    lunch_and_learn_sessions=3,
    recognition=2_500.0,
    staffing={"delivery": 9},
    policies=Policies(update_every_hours=24.0, promise_discipline=True, targets=Targets.BALANCED),
)


def test_decisions_survive_a_round_trip_through_json() -> None:
    assert records.decisions_from_json(records.decisions_json(CHOICES)) == CHOICES


def test_a_team_round_survives_a_round_trip_through_json() -> None:
    scenario = load_scenario("professional_services").model_copy(update={"days": 14})
    session = create_session(scenario, ["A"], np.random.default_rng(2), rounds=1, replications=1)
    state = play_round(session, starting_states(session), {"A": CHOICES})["A"]
    result = state.rounds[0]
    assert records.team_round_from_json(records.team_round_json(result)) == result
    assert records.levels_from_json(records.levels_json(state.levels)) == state.levels


def test_correlations_survive_a_round_trip_through_json() -> None:
    changed = PublishedCorrelations(revenue_per_10_points_satisfaction=0.02)
    assert records.correlations_from_json(records.correlations_json(changed)) == changed


def test_a_stored_record_with_unknown_fields_is_refused() -> None:
    stored = {**records.decisions_json(CHOICES), "bonus": 1}
    with pytest.raises(ValueError, match="bonus"):
        records.decisions_from_json(stored)
