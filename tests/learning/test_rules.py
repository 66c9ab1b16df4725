"""The training programme's pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from followthrough.learning import rules

DAY = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_a_member_completes_only_after_every_session_held() -> None:
    assert rules.may_complete([1, 2, 3], [3, 1, 2])
    assert not rules.may_complete([1, 2, 3], [1, 3])
    assert rules.missing_sessions([1, 2, 3], [1, 3]) == [2]


def test_a_cohort_that_never_met_completes_nobody() -> None:
    assert not rules.may_complete([], [])


def test_the_record_averages_each_block_and_keeps_the_newest() -> None:
    evidence = [
        rules.Evidence("own", 2.0, "role play", DAY),
        rules.Evidence("own", 4.0, "observer", DAY + timedelta(days=3)),
        rules.Evidence("serve", 5.0, "desk", DAY),
    ]
    record = {line.block: line for line in rules.competency_record(evidence)}
    assert list(record) == ["understand", "own", "serve", "communicate"]
    assert record["own"].mean == 3.0
    assert record["own"].count == 2
    assert record["own"].by_source == {"role play": 1, "observer": 1}
    assert record["own"].latest == DAY + timedelta(days=3)
    assert record["understand"].mean is None
    assert record["understand"].count == 0


def test_role_play_points_map_onto_one_to_five() -> None:
    assert rules.points_as_score(0, 4) == 1.0
    assert rules.points_as_score(4, 4) == 5.0
    assert rules.points_as_score(2, 4) == 3.0
    assert rules.points_as_score(9, 4) == 5.0  # never above the top
    with pytest.raises(ValueError, match="positive"):
        rules.points_as_score(1, 0)


def test_the_first_completion_counts() -> None:
    later = DAY + timedelta(days=30)
    assert rules.first_completions([(1, later), (1, DAY), (2, later)]) == {1: DAY, 2: later}


def test_a_team_is_reached_when_half_its_members_completed() -> None:
    members = {10: [1, 2, 3, 4], 20: [5, 6, 7], 30: []}
    done = {1: DAY + timedelta(days=9), 3: DAY, 5: DAY}
    reached = rules.team_reached(members, done)
    # Team 10 needs 2 of 4: the second completion, on day 9; team 20 needs 2 of 3: not yet.
    assert reached == {10: DAY + timedelta(days=9), 20: None}


def test_everyone_not_completed_is_not_yet() -> None:
    assert rules.subjects_reached([1, 2, 3], {2: DAY}) == {1: None, 2: DAY, 3: None}


def test_a_role_play_scores_each_block_by_the_share_of_replies_showing_it() -> None:
    replies = [
        {"understand": 1, "own": 0, "serve": 0, "communicate": 2},
        {"understand": 0, "own": -1, "serve": 0, "communicate": 1},  # a deflection on Own
        {"understand": 1, "own": 1, "serve": 0, "communicate": 0},
        {"understand": 1, "own": 0, "serve": 0, "communicate": 1},
    ]
    assert rules.roleplay_block_scores(replies) == {
        "understand": 4.0,  # 3 of 4 replies: 1 + 4 * 0.75
        "own": 2.0,  # 1 of 4
        "serve": 1.0,  # none
        "communicate": 4.0,  # 3 of 4
    }
    assert rules.roleplay_block_scores([]) == {}
