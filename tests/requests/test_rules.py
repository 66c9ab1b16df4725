"""Request lifecycle rules, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followthrough.errors import InvalidInput, InvalidTransition
from followthrough.org.rules import WorkingCalendar
from followthrough.promises.rules import BROKEN, KEPT, is_broken_by, outcome_when_done
from followthrough.requests import rules
from followthrough.requests.rules import Actor


def test_returning_to_an_earlier_team_is_a_bounce() -> None:
    assert rules.is_bounce([1, 2], 1)
    assert not rules.is_bounce([1, 2], 3)
    # Reassigning within the current team is not a bounce.
    assert not rules.is_bounce([1, 2], 2)
    assert not rules.is_bounce([], 1)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=10), st.integers(1, 5))
def test_a_bounce_needs_a_team_visited_before_and_left(path: list[int], to_team: int) -> None:
    assert rules.is_bounce(path, to_team) == (to_team in path[:-1] and path[-1] != to_team)


# Which actions each state allows, written out from the lifecycle as the users know it (not read
# from rules.ALLOWED_IN, the table under test): a request is handed on, answered about, asked
# about or resolved while new or in progress; paused to wait only once someone works it; resumed
# only from waiting; confirmed, reopened or auto-closed only once resolved; updated and promised
# about while open; split into a sub-request unless it waits on the requester or is finished;
# rated once resolved or closed; withdrawn, merged or merged into only while open (a withdrawn
# or merged request is finished, and allows nothing).
OPEN = {"new", "in_progress", "needs_clarification", "waiting"}
ALLOWED_IN_STATES: dict[str, set[str]] = {
    "offer": {"new", "in_progress"},
    "answer_offer": {"new", "in_progress"},
    "ask_clarification": {"new", "in_progress"},
    "answer_clarification": {"needs_clarification"},
    "wait": {"in_progress"},
    "resume": {"waiting"},
    "resolve": {"new", "in_progress"},
    "confirm": {"resolved"},
    "reopen": {"resolved"},
    "auto_close": {"resolved"},
    "post_update": OPEN,
    "make_promise": OPEN,
    "open_sub_request": {"new", "in_progress", "waiting"},
    "rate": {"resolved", "closed"},
    # A deactivated person's held requests go to the duty owner while open or resolved.
    "reassign": OPEN | {"resolved"},
    "withdraw": OPEN,
    "merge": OPEN,
    "merge_into": OPEN,
    # Filing it under another service: only while it is being worked.
    "change_service": OPEN,
}
STATES = (
    "new",
    "in_progress",
    "needs_clarification",
    "waiting",
    "resolved",
    "closed",
    "withdrawn",
    "merged",
)


def test_each_action_is_refused_outside_its_states() -> None:
    assert sorted(rules.ALLOWED_IN) == sorted(ALLOWED_IN_STATES)
    assert sorted(rules.STATES) == sorted(STATES)
    for action, allowed in ALLOWED_IN_STATES.items():
        for state in STATES:
            if state in allowed:
                rules.require_state(action, state)
            else:
                with pytest.raises(InvalidTransition):
                    rules.require_state(action, state)


def test_offers_to_a_person_are_theirs_and_their_leads_to_answer() -> None:
    clerk = Actor(person_id=1, team_ids=frozenset({10}))
    colleague = Actor(person_id=2, team_ids=frozenset({10}))
    lead = Actor(person_id=3, team_ids=frozenset({10}), lead_of=frozenset({10}))
    assert rules.may_answer_offer(clerk, 10, 1)
    assert not rules.may_answer_offer(colleague, 10, 1)
    assert rules.may_answer_offer(lead, 10, 1)
    assert rules.may_answer_offer(colleague, 10, None)
    assert not rules.may_answer_offer(Actor(person_id=4), 10, None)


def test_the_duty_owner_defaults_to_the_lead() -> None:
    assert rules.effective_duty_owner(None, 7) == 7
    assert rules.effective_duty_owner(5, 7) == 5
    assert rules.effective_duty_owner(None, None) is None


def test_text_must_not_be_blank() -> None:
    with pytest.raises(InvalidInput) as raised:
        rules.require_text("  ", "reason")
    assert raised.value.field == "reason"
    assert rules.require_text("  ok ", "reason") == "ok"


def test_an_overdue_update_escalates_half_a_cadence_later() -> None:
    monday_9 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    ladder = rules.update_ladder(WorkingCalendar(), monday_9, 4)
    assert ladder.due_at == monday_9 + timedelta(hours=4)
    assert ladder.escalate_at == monday_9 + timedelta(hours=6)


@given(st.datetimes(timezones=st.just(UTC)), st.timedeltas(timedelta(days=-3), timedelta(days=3)))
def test_a_promise_is_kept_only_when_done_by_its_due_time(due: datetime, delta: timedelta) -> None:
    try:
        done = due + delta
    except OverflowError:
        return
    assert outcome_when_done(due, done) == (KEPT if done <= due else BROKEN)
    assert is_broken_by(due, done) == (done >= due)
