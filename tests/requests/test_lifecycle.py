"""The lifecycle's transitions, as pure functions, against values worked out by hand.

The calendar is UTC, Monday to Friday, 9:00 to 17:00; 2026-11-23 is a Monday. Targets: accept
within 2 business hours, an update every 4, resolve within 16, auto-close after 2 business days.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followthrough.errors import InvalidInput, InvalidTransition
from followthrough.history.payloads import NEW_ROW, Closed, Offered, Resumed
from followthrough.org.rules import WorkingCalendar, business_seconds_between
from followthrough.requests import lifecycle
from followthrough.requests.lifecycle import OfferFacts, RequestFacts, Targets
from followthrough.requests.vocabulary import (
    EventKind,
    NotificationKind,
    OfferKind,
    OfferState,
    RequestState,
    WaitReason,
)

CAL = WorkingCalendar()
TARGETS = Targets(accept_hours=2, update_every_hours=4, resolve_hours=16, auto_close_days=2)
REQUESTER, DUTY, CLERK, LEAD = 1, 2, 3, 4
TEAM, OTHER = 10, 20


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def opened(now: datetime = at(23, 10)) -> lifecycle.Change:
    return lifecycle.open_request(
        title="Fix the address",
        requester_id=REQUESTER,
        team_id=TEAM,
        team_name="Policy Admin",
        duty_owner_id=DUTY,
        calendar=CAL,
        targets=TARGETS,
        now=now,
        service_id=7,
    )


def intake(change: lifecycle.Change, offer_id: int = 100) -> OfferFacts:
    new = change.new_offer
    assert new is not None
    return OfferFacts(
        offer_id,
        new.kind,
        new.from_person_id,
        new.from_team_id,
        new.to_team_id,
        new.to_person_id,
        new.offered_at,
        new.due_at,
    )


def accepted(by: int = CLERK, now: datetime = at(23, 11)) -> RequestFacts:
    change = opened()
    return lifecycle.accept(
        change.request,
        intake(change),
        actor_id=by,
        actor_name="Colin Reyes",
        path=[TEAM],
        calendar=CAL,
        targets=TARGETS,
        now=now,
    ).request


def test_opening_makes_the_duty_owner_accountable_and_starts_the_clocks() -> None:
    change = opened()
    r = change.request
    assert (r.state, r.owner_id, r.team_id) == (RequestState.NEW, DUTY, TEAM)
    # Monday 10:00 + 16 h: 7 h on Monday, 8 on Tuesday, 1 on Wednesday.
    assert r.resolve_due_at == at(25, 10)
    assert r.next_update_due_at == at(23, 14)
    assert r.update_escalate_at == at(23, 16)  # half a cadence later
    assert change.new_offer is not None
    assert change.new_offer.kind == OfferKind.INTAKE
    assert change.new_offer.due_at == at(23, 12)
    assert [e.kind for e in change.events] == [EventKind.OPENED, EventKind.OFFERED]
    assert change.events[1].payload.to_json() == {"offer_id": NEW_ROW, "intake": True}
    assert change.with_new_row(55).events[1].payload.to_json() == {"offer_id": 55, "intake": True}
    assert change.notices == (
        lifecycle.Notice(
            DUTY, NotificationKind.OFFER, "New request for Policy Admin: Fix the address"
        ),
    )


def test_accepting_names_the_new_owner_in_words() -> None:
    change = opened()
    accept = lifecycle.accept(
        change.request,
        intake(change),
        actor_id=CLERK,
        actor_name="Ana Silva",
        path=[TEAM],
        calendar=CAL,
        targets=TARGETS,
        now=at(23, 11, 30),
    )
    assert accept.request.state == RequestState.IN_PROGRESS
    assert accept.request.owner_id == CLERK
    assert accept.request.accepted_at == at(23, 11, 30)
    assert accept.request.next_update_due_at == at(23, 15, 30)
    assert accept.notices[0].message == "Accepted: Fix the address is now owned by Ana Silva"
    assert accept.events[0].payload.to_json() == {
        "offer_id": 100,
        "previous_owner_id": DUTY,
        "waited_seconds": 5400.0,
    }
    assert accept.answered == (
        lifecycle.OfferAnswer(100, OfferState.ACCEPTED, CLERK, at(23, 11, 30)),
    )


def test_returning_to_a_team_the_request_left_is_a_bounce() -> None:
    r = replace(accepted(), team_id=OTHER)
    back = OfferFacts(9, OfferKind.HANDOFF, CLERK, OTHER, TEAM, None, at(24, 9), at(24, 11))
    change = lifecycle.accept(
        r,
        back,
        actor_id=LEAD,
        actor_name="Linda",
        path=[TEAM, OTHER],
        calendar=CAL,
        targets=TARGETS,
        now=at(24, 10),
    )
    assert change.request.bounce_count == 1
    assert change.new_step == lifecycle.NewPathStep(TEAM, at(24, 10), True)
    assert change.events[0].other_team_id == OTHER
    assert change.events[0].payload.to_json()["bounce"] is True


def test_resolving_withdraws_the_open_offer_and_says_so() -> None:
    r = accepted()
    open_offer = OfferFacts(5, OfferKind.HANDOFF, CLERK, TEAM, OTHER, None, at(23, 12), at(23, 14))
    change = lifecycle.resolve(
        r,
        open_offer=open_offer,
        actor_id=CLERK,
        resolution="Done",
        calendar=CAL,
        targets=TARGETS,
        now=at(23, 13),
    )
    assert [e.kind for e in change.events] == [EventKind.WITHDRAWN, EventKind.RESOLVED]
    assert change.events[0].payload.to_json() == {"offer_id": 5, "resolved": True}
    assert change.events[0].team_id == OTHER
    assert change.answered == (lifecycle.OfferAnswer(5, OfferState.WITHDRAWN, CLERK, at(23, 13)),)
    assert change.request.next_update_due_at is None


def test_a_resolved_request_closes_itself_two_business_days_later() -> None:
    # Friday 16:00 + 16 business hours: 1 on Friday, 8 on Monday, 7 on Tuesday.
    r = replace(accepted(), state=RequestState.IN_PROGRESS)
    change = lifecycle.resolve(
        r,
        open_offer=None,
        actor_id=CLERK,
        resolution="Done",
        calendar=CAL,
        targets=TARGETS,
        now=at(27, 16),
    )
    assert change.request.auto_close_at == datetime(2026, 12, 1, 16, tzinfo=UTC)
    assert lifecycle.auto_close_due_at(change.request) == datetime(2026, 12, 1, 16, tzinfo=UTC)
    closed = lifecycle.auto_close(change.request, now=datetime(2026, 12, 1, 16, tzinfo=UTC))
    assert closed.request.state == RequestState.CLOSED
    assert closed.events[0].payload == Closed(auto=True)
    assert closed.events[0].actor_id is None


@pytest.mark.parametrize(("was_accepted", "after"), [(False, "new"), (True, "in_progress")])
def test_an_answered_question_leaves_the_request_new_until_someone_accepted_it(
    was_accepted: bool, after: str
) -> None:
    r = accepted() if was_accepted else opened().request
    asked = lifecycle.ask_clarification(r, actor_id=DUTY, question="Which policy?", now=at(23, 11))
    assert asked.request.state == RequestState.NEEDS_CLARIFICATION
    assert asked.notices[0].person_id == REQUESTER
    answered = lifecycle.answer_clarification(
        asked.request,
        actor_id=REQUESTER,
        answer="HP-1",
        calendar=CAL,
        targets=TARGETS,
        now=at(24, 10),
    )
    assert answered.request.state == after
    # Monday 11-17 and Tuesday 9-10: seven business hours with the clock stopped.
    assert answered.request.paused_business_seconds == 7 * 3600
    assert answered.request.resolve_due_at == at(25, 17)
    assert answered.request.next_update_due_at == at(24, 14)
    assert answered.pause_ended_at == at(24, 10)


@pytest.mark.parametrize(
    ("reason", "owes"),
    [(WaitReason.REQUESTER, False), (WaitReason.OUTSIDE, True), (WaitReason.SUB_REQUEST, True)],
)
def test_no_update_is_owed_while_the_requester_owes_an_answer(
    reason: WaitReason, owes: bool
) -> None:
    r = accepted()
    waiting = lifecycle.wait(r, actor_id=CLERK, reason=reason, note="n", now=at(23, 12))
    assert (waiting.request.next_update_due_at is not None) is owes
    assert lifecycle.update_reminder_due_at(waiting.request) == (
        r.next_update_due_at if owes else None
    )


def test_accepting_during_a_question_does_not_start_the_update_cadence() -> None:
    change = opened()
    asked = lifecycle.ask_clarification(
        change.request, actor_id=DUTY, question="?", now=at(23, 10, 30)
    )
    # An offer can only be answered while new or in progress: the state machine refuses.
    with pytest.raises(InvalidTransition):
        lifecycle.accept(
            asked.request,
            intake(change),
            actor_id=CLERK,
            actor_name="C",
            path=[TEAM],
            calendar=CAL,
            targets=TARGETS,
            now=at(23, 11),
        )


def test_a_decline_tells_the_owner_and_the_sender_but_not_the_decliner() -> None:
    r = accepted()
    offer = OfferFacts(6, OfferKind.HANDOFF, LEAD, TEAM, OTHER, None, at(23, 12), at(23, 14))
    change = lifecycle.decline(r, offer, actor_id=9, reason="Not ours", now=at(23, 13))
    assert [n.person_id for n in change.notices] == [CLERK, LEAD]
    assert change.request.owner_id == CLERK
    assert change.events[0].team_id == OTHER
    assert change.events[0].other_team_id == TEAM
    mine = lifecycle.decline(
        r, replace(offer, from_person_id=CLERK), actor_id=CLERK, reason="x", now=at(23, 13)
    )
    assert mine.notices == ()


def test_the_intake_offer_cannot_be_withdrawn() -> None:
    change = opened()
    with pytest.raises(InvalidInput):
        lifecycle.withdraw(change.request, intake(change), actor_id=DUTY, now=at(23, 11))


def test_a_child_resolving_resumes_only_the_parent_waiting_on_it() -> None:
    r = accepted()
    waiting = lifecycle.wait(
        r, actor_id=CLERK, reason=WaitReason.SUB_REQUEST, note="n", now=at(23, 12), child_id=44
    ).request
    kwargs = {"child_title": "Check", "calendar": CAL, "targets": TARGETS, "now": at(23, 15)}
    assert lifecycle.child_resolved(waiting, child_id=44, waiting_on_child_id=45, **kwargs) is None  # type: ignore[arg-type]
    change = lifecycle.child_resolved(waiting, child_id=44, waiting_on_child_id=44, **kwargs)  # type: ignore[arg-type]
    assert change is not None
    assert change.request.state == RequestState.IN_PROGRESS
    assert change.events[0].payload.to_json() == {
        "reason": "sub_request",
        "why": "sub-request 44 resolved",
        "paused_business_seconds": 3 * 3600.0,
    }
    assert change.notices[0].message == "Sub-request resolved: Check"
    moved = change.events[0].payload.renumbered({44: 7})
    assert isinstance(moved, Resumed)
    assert moved.why == "sub-request 7 resolved"


def test_a_promise_marked_done_late_is_broken_with_the_note() -> None:
    r = accepted()
    made = lifecycle.make_promise(
        r, actor_id=CLERK, what="Call back", due_at=at(23, 15), now=at(23, 12)
    )
    promise = made.with_new_row(3).promise
    assert promise.id == 3
    assert lifecycle.promise_reminder_due_at(promise) == at(23, 14, 30)
    late = lifecycle.keep_promise(
        r, promise, actor_id=CLERK, note="called", lead_id=LEAD, now=at(23, 15, 1)
    )
    assert late.promise.state == "broken"
    # The maker, the requester and the team's lead hear of it.
    assert [n.person_id for n in late.notices] == [CLERK, r.requester_id, LEAD]
    assert late.events[0].payload.to_json() == {
        "promise_id": 3,
        "due_at": "2026-11-23T15:00:00+00:00",
        "late_note": "called",
    }
    kept = lifecycle.keep_promise(
        r, promise, actor_id=CLERK, note="called", lead_id=LEAD, now=at(23, 15)
    )
    assert kept.promise.state == "kept"
    assert kept.notices == ()
    # A lead who made the promise is told once, as its maker.
    own = lifecycle.break_promise(r, promise, lead_id=CLERK, now=at(23, 15))
    assert [n.person_id for n in own.notices] == [CLERK, r.requester_id]
    with pytest.raises(InvalidInput):
        lifecycle.make_promise(r, actor_id=CLERK, what="x", due_at=at(23, 12), now=at(23, 12))


def test_payload_json_leaves_out_what_is_not_said() -> None:
    assert Offered(offer_id=4).to_json() == {"offer_id": 4}
    assert Offered(offer_id=4, note="hi").to_json() == {"offer_id": 4, "note": "hi"}
    assert Closed().to_json() == {}


def test_escalations_go_to_the_lead_else_the_duty_owner() -> None:
    assert lifecycle.escalates_to(LEAD, DUTY) == LEAD
    assert lifecycle.escalates_to(None, DUTY) == DUTY


ACTIONS = (
    "ask",
    "answer",
    "wait_requester",
    "wait_outside",
    "resume",
    "update",
    "resolve",
    "reopen",
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(1, 600)), max_size=25))
def test_any_walk_keeps_the_clocks_consistent(steps: list[tuple[str, int]]) -> None:
    r = accepted()
    first_due = r.resolve_due_at
    assert first_due is not None
    now = at(23, 11)
    for action, minutes in steps:
        now += timedelta(minutes=minutes)
        try:
            r = _step(r, action, now)
        except InvalidTransition:
            continue
        paused = r.state in (RequestState.NEEDS_CLARIFICATION, RequestState.WAITING)
        assert paused == (r.clock_paused_at is not None) == (r.waiting_on is not None)
        if r.waiting_on in (WaitReason.CLARIFICATION, WaitReason.REQUESTER):
            assert r.next_update_due_at is None
        assert (r.state == RequestState.RESOLVED) == (r.auto_close_at is not None)
        # Every pause moved the resolve target on by exactly the business time it lasted.
        assert r.resolve_due_at is not None
        assert business_seconds_between(CAL, first_due, r.resolve_due_at) == pytest.approx(
            r.paused_business_seconds
        )


def _step(r: RequestFacts, action: str, now: datetime) -> RequestFacts:
    common = {"calendar": CAL, "targets": TARGETS, "now": now}
    if action == "ask":
        return lifecycle.ask_clarification(r, actor_id=CLERK, question="?", now=now).request
    if action == "answer":
        return lifecycle.answer_clarification(r, actor_id=REQUESTER, answer="!", **common).request  # type: ignore[arg-type]
    if action.startswith("wait"):
        reason = WaitReason.REQUESTER if action == "wait_requester" else WaitReason.OUTSIDE
        return lifecycle.wait(r, actor_id=CLERK, reason=reason, note="n", now=now).request
    if action == "resume":
        return lifecycle.resume(r, actor_id=CLERK, **common).request  # type: ignore[arg-type]
    if action == "update":
        return lifecycle.post_update(r, actor_id=CLERK, body="b", working=True, **common).request  # type: ignore[arg-type]
    if action == "resolve":
        return lifecycle.resolve(
            r, open_offer=None, actor_id=CLERK, resolution="d", **common
        ).request  # type: ignore[arg-type]
    return lifecycle.reopen(r, actor_id=REQUESTER, reason="no", **common).request  # type: ignore[arg-type]


def test_an_imported_request_starts_its_clocks_now() -> None:
    """Opened in the other system on Monday, brought in on Wednesday 15:00: still open, it owes
    an update 4 business hours on (Thursday 11:00, escalating 2 hours later at 13:00) and a
    resolution 16 on (Friday 15:00); waiting on its requester, no update; resolved, it closes by
    itself 2 business days on (Friday 15:00); closed, nothing moves."""
    past = replace(opened(at(23, 10)).request, owner_id=CLERK, state=RequestState.IN_PROGRESS)
    now = at(25, 15)
    open_now = lifecycle.restart_clocks(past, CAL, TARGETS, now)
    assert open_now.next_update_due_at == at(26, 11)
    assert open_now.update_escalate_at == at(26, 13)
    assert open_now.resolve_due_at == at(27, 15)

    waiting = replace(past, waiting_on=WaitReason.REQUESTER, state=RequestState.WAITING)
    waiting_now = lifecycle.restart_clocks(waiting, CAL, TARGETS, now)
    assert waiting_now.next_update_due_at is None
    assert waiting_now.resolve_due_at == at(27, 15)

    resolved = replace(past, state=RequestState.RESOLVED, resolved_at=at(24, 12))
    assert lifecycle.restart_clocks(resolved, CAL, TARGETS, now).auto_close_at == at(27, 15)

    closed = replace(past, state=RequestState.CLOSED)
    assert lifecycle.restart_clocks(closed, CAL, TARGETS, now) == closed
