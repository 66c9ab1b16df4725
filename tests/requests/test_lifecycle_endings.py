"""Withdrawing, merging, a declined intake and the sweeper's escalations, as pure transitions.

Expected values come from the rules as the issue states them, worked out by hand. The calendar
is UTC, Monday to Friday, 9:00 to 17:00; 2026-11-23 is a Monday. Targets: accept within 2
business hours, an update every 4 (escalation half a cadence, 2 business hours, after it is
due), resolve within 16.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from followthrough.errors import InvalidInput, InvalidTransition
from followthrough.history.payloads import (
    Declined,
    DuplicateMerged,
    Escalated,
    MergedInto,
    Offered,
    PromiseReleased,
    RequestWithdrawn,
    ReturnedToRequester,
    UpdateEscalated,
    Withdrawn,
)
from followthrough.org.rules import WorkingCalendar
from followthrough.requests import lifecycle
from followthrough.requests.lifecycle import OfferFacts, PromiseFacts, RequestFacts, Targets
from followthrough.requests.vocabulary import (
    NotificationKind,
    OfferKind,
    OfferState,
    PromiseState,
    RequestState,
)

CAL = WorkingCalendar()
TARGETS = Targets(accept_hours=2, update_every_hours=4, resolve_hours=16, auto_close_days=2)
REQUESTER, DUTY, CLERK, LEAD, ADMIN, OTHER_REQUESTER, TRIAGE_DUTY = 1, 2, 3, 4, 5, 6, 7
TEAM, OTHER, TRIAGE = 10, 20, 30
TRIAGE_TEAM = lifecycle.TriageTeam(TRIAGE, "Triage", TRIAGE_DUTY, CAL)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def opened(
    now: datetime = at(23, 10), requester: int = REQUESTER, title: str = "Fix the address"
) -> tuple[RequestFacts, OfferFacts]:
    change = lifecycle.open_request(
        title=title,
        requester_id=requester,
        team_id=TEAM,
        team_name="Policy Admin",
        duty_owner_id=DUTY,
        calendar=CAL,
        targets=TARGETS,
        now=now,
    )
    new = change.new_offer
    assert new is not None
    offer = OfferFacts(
        100,
        new.kind,
        new.from_person_id,
        new.from_team_id,
        new.to_team_id,
        new.to_person_id,
        new.offered_at,
        new.due_at,
    )
    return change.request, offer


def promise(pid: int, state: PromiseState = PromiseState.OPEN, by: int = DUTY) -> PromiseFacts:
    return PromiseFacts(
        id=pid,
        made_by_id=by,
        made_to_id=REQUESTER,
        what="Call back",
        due_at=at(23, 15),
        made_at=at(23, 10, 30),
        state=state,
    )


# ---- withdrawing -------------------------------------------------------------------------------


def test_withdrawing_ends_the_request_unresolved_and_lets_go_of_what_was_open() -> None:
    request, intake = opened()
    change = lifecycle.withdraw_request(
        request,
        open_offer=intake,
        offer_receiver_id=DUTY,
        promises=[promise(7), promise(8, PromiseState.KEPT)],
        actor_id=REQUESTER,
        reason="Found the letter myself",
        now=at(23, 11),
    )
    after = change.request
    assert after.state == RequestState.WITHDRAWN
    # Closed now, never resolved: nothing counts it as resolved work.
    assert (after.closed_at, after.resolved_at, after.resolution) == (at(23, 11), None, None)
    # Nothing is owed on it any more, and it does not close by itself later.
    assert (after.next_update_due_at, after.update_escalate_at, after.auto_close_at) == (
        None,
        None,
        None,
    )
    assert [e.payload for e in change.events] == [
        RequestWithdrawn(reason="Found the letter myself"),
        Withdrawn(offer_id=100),
        PromiseReleased(promise_id=7, why="the request was withdrawn"),
    ]
    assert change.answered == (
        lifecycle.OfferAnswer(100, OfferState.WITHDRAWN, REQUESTER, at(23, 11)),
    )
    # Only the open promise is released; the kept one stays kept.
    assert change.released_promise_ids == (7,)
    # The owner (also the offer's receiver and the promise's maker) is told once, with the reason.
    assert change.notices == (
        lifecycle.Notice(
            DUTY, NotificationKind.WITHDRAWN, "Withdrawn: Fix the address — Found the letter myself"
        ),
    )


def test_an_admin_withdrawing_tells_the_requester_too() -> None:
    request, _ = opened()
    change = lifecycle.withdraw_request(
        request,
        open_offer=None,
        offer_receiver_id=None,
        promises=[],
        actor_id=ADMIN,
        reason="Raised twice by mistake",
        now=at(23, 11),
    )
    assert sorted(n.person_id for n in change.notices) == [REQUESTER, DUTY]


@pytest.mark.parametrize("state", [RequestState.RESOLVED, RequestState.CLOSED])
def test_only_an_open_request_can_be_withdrawn(state: RequestState) -> None:
    request, _ = opened()
    with pytest.raises(InvalidTransition):
        lifecycle.withdraw_request(
            replace(request, state=state),
            open_offer=None,
            offer_receiver_id=None,
            promises=[],
            actor_id=REQUESTER,
            reason="no longer needed",
            now=at(23, 11),
        )


def test_withdrawing_a_paused_request_ends_its_pause() -> None:
    request, _ = opened()
    asked = lifecycle.ask_clarification(
        request, actor_id=DUTY, question="Which policy?", now=at(23, 10, 30)
    ).request
    change = lifecycle.withdraw_request(
        asked,
        open_offer=None,
        offer_receiver_id=None,
        promises=[],
        actor_id=REQUESTER,
        reason="Sorted",
        now=at(23, 11),
    )
    assert change.pause_ended_at == at(23, 11)
    assert (change.request.clock_paused_at, change.request.waiting_on) == (None, None)


# ---- merging -----------------------------------------------------------------------------------


def _pair() -> tuple[RequestFacts, RequestFacts]:
    duplicate, _ = opened(at(23, 10), REQUESTER, "Fix the address")
    into, _ = opened(at(23, 9, 30), OTHER_REQUESTER, "Address wrong on HM-1234")
    return duplicate, replace(into, owner_id=LEAD, state=RequestState.IN_PROGRESS)


def test_merging_ends_the_duplicate_and_carries_its_people_and_cases_over() -> None:
    duplicate, into = _pair()
    _, intake = opened()
    merged = lifecycle.merge(
        duplicate,
        into,
        duplicate_id=2,
        into_id=1,
        open_offer=intake,
        promises=[promise(9)],
        duplicate_people=[REQUESTER, DUTY],
        new_case_ids=[55],
        actor_id=CLERK,
        note="Same policy, same error",
        now=at(23, 12),
    )
    ended = merged.duplicate.request
    assert (ended.state, ended.merged_into_id, ended.closed_at, ended.resolved_at) == (
        RequestState.MERGED,
        1,
        at(23, 12),
        None,
    )
    assert ended.next_update_due_at is None
    # Each request keeps its history: an event on each side.
    assert [e.payload for e in merged.duplicate.events] == [
        MergedInto(into_id=1, note="Same policy, same error"),
        Withdrawn(offer_id=100),
        PromiseReleased(promise_id=9, why="the request was merged into #1"),
    ]
    assert [e.payload for e in merged.into.events] == [
        DuplicateMerged(duplicate_id=2, requester_id=REQUESTER, case_ids=(55,))
    ]
    assert merged.into.events[0].person_id == REQUESTER
    # The duplicate's requester and participants may read the other request from now on.
    assert merged.into.participants == (REQUESTER, DUTY)
    assert merged.into.request.state == RequestState.IN_PROGRESS
    # Both requesters and both owners hear of it; the one merging does not.
    assert sorted(n.person_id for n in merged.duplicate.notices) == [REQUESTER, DUTY]
    assert sorted(n.person_id for n in merged.into.notices) == [LEAD, OTHER_REQUESTER]
    assert merged.duplicate.notices[0].message == (
        "#2 Fix the address was merged into #1 Address wrong on HM-1234: follow it there."
    )


def test_a_duplicate_of_the_same_requester_adds_no_one() -> None:
    duplicate, into = _pair()
    into = replace(into, requester_id=REQUESTER)
    merged = lifecycle.merge(
        duplicate,
        into,
        duplicate_id=2,
        into_id=1,
        open_offer=None,
        promises=[],
        duplicate_people=[REQUESTER],
        new_case_ids=[],
        actor_id=CLERK,
        note="",
        now=at(23, 12),
    )
    assert merged.into.participants == ()
    assert merged.into.events[0].payload == DuplicateMerged(duplicate_id=2)
    assert merged.into.events[0].person_id is None


def _merge(duplicate: RequestFacts, into: RequestFacts, dup_id: int, into_id: int) -> None:
    lifecycle.merge(
        duplicate,
        into,
        duplicate_id=dup_id,
        into_id=into_id,
        open_offer=None,
        promises=[],
        duplicate_people=[],
        new_case_ids=[],
        actor_id=CLERK,
        note="",
        now=at(23, 12),
    )


def test_a_request_cannot_be_merged_into_itself() -> None:
    duplicate, _ = _pair()
    with pytest.raises(InvalidInput) as refused:
        _merge(duplicate, duplicate, 2, 2)
    assert refused.value.field == "into_id"


@pytest.mark.parametrize(
    "state", [RequestState.RESOLVED, RequestState.CLOSED, RequestState.WITHDRAWN]
)
def test_a_duplicate_goes_only_into_an_open_request(state: RequestState) -> None:
    duplicate, into = _pair()
    with pytest.raises(InvalidTransition) as refused:
        _merge(duplicate, replace(into, state=state), 2, 1)
    assert refused.value.field == "into_id"


def test_merging_back_the_other_way_is_refused_so_there_is_no_circle() -> None:
    b, a = _pair()
    merged = lifecycle.merge(
        b,
        a,
        duplicate_id=2,
        into_id=1,
        open_offer=None,
        promises=[],
        duplicate_people=[],
        new_case_ids=[],
        actor_id=CLERK,
        note="",
        now=at(23, 12),
    )
    with pytest.raises(InvalidTransition):
        _merge(merged.into.request, merged.duplicate.request, 1, 2)


def test_an_ended_request_cannot_be_merged() -> None:
    duplicate, into = _pair()
    with pytest.raises(InvalidTransition):
        _merge(replace(duplicate, state=RequestState.RESOLVED), into, 2, 1)


# ---- a declined intake -------------------------------------------------------------------------


def test_a_declined_intake_goes_to_triage_when_there_is_one() -> None:
    request, intake = opened()
    change = lifecycle.decline_intake(
        request,
        intake,
        actor_id=CLERK,
        reason="We do not do motor policies",
        team_name="Policy Admin",
        triage=TRIAGE_TEAM,
        path=[TEAM],
        targets=TARGETS,
        now=at(23, 11),
    )
    after = change.request
    # Triage's duty owner is accountable, and triage is offered it as a new intake.
    assert (after.owner_id, after.team_id, after.state) == (TRIAGE_DUTY, TRIAGE, RequestState.NEW)
    note = "Policy Admin declined it: We do not do motor policies"
    assert change.new_offer == lifecycle.NewOffer(
        kind=OfferKind.INTAKE,
        from_person_id=CLERK,
        from_team_id=TEAM,
        to_team_id=TRIAGE,
        to_person_id=None,
        note=note,
        offered_at=at(23, 11),
        due_at=at(23, 13),  # two business hours
    )
    assert change.new_step == lifecycle.NewPathStep(TRIAGE, at(23, 11), False)
    assert [e.payload for e in change.events] == [
        Declined(offer_id=100, reason="We do not do motor policies", intake=True),
        Offered(intake=True, note=note),
    ]
    assert change.answered == (
        lifecycle.OfferAnswer(
            100, OfferState.DECLINED, CLERK, at(23, 11), "We do not do motor policies"
        ),
    )
    told = {n.person_id: n for n in change.notices}
    assert set(told) == {TRIAGE_DUTY, REQUESTER, DUTY}
    assert told[TRIAGE_DUTY].kind == NotificationKind.OFFER
    assert told[REQUESTER].message == (
        "Policy Admin declined Fix the address: We do not do motor policies. "
        "It went to Triage, who will route it."
    )


@pytest.mark.parametrize(
    ("triage", "path", "declining_team"),
    [
        (None, [TEAM], TEAM),  # no triage team set up
        (TRIAGE_TEAM, [TRIAGE], TRIAGE),  # triage itself declines
        (TRIAGE_TEAM, [TRIAGE, TEAM], TEAM),  # it came from triage already
    ],
)
def test_otherwise_a_declined_intake_goes_back_to_the_requester(
    triage: lifecycle.TriageTeam | None, path: list[int], declining_team: int
) -> None:
    request, intake = opened()
    request = replace(request, team_id=declining_team)
    intake = replace(intake, to_team_id=declining_team)
    change = lifecycle.decline_intake(
        request,
        intake,
        actor_id=CLERK,
        reason="Not ours",
        team_name="Them",
        triage=triage,
        path=path,
        targets=TARGETS,
        now=at(23, 11),
    )
    after = change.request
    assert (after.owner_id, after.state) == (REQUESTER, RequestState.NEW)
    # Nobody owes the requester updates while they hold it themselves.
    assert (after.next_update_due_at, after.update_escalate_at) == (None, None)
    assert change.new_offer is None
    assert [e.payload for e in change.events] == [
        Declined(offer_id=100, reason="Not ours", intake=True),
        ReturnedToRequester(offer_id=100, reason="Not ours"),
    ]
    assert change.events[1].person_id == REQUESTER
    told = {n.person_id: n for n in change.notices}
    assert told[REQUESTER].kind == NotificationKind.RETURNED
    assert told[REQUESTER].message == (
        "Them declined Fix the address: Not ours. It is back with you: "
        "offer it to another team, or withdraw it."
    )
    assert set(told) == {REQUESTER, DUTY}


def test_a_handoff_is_not_declined_by_the_intake_rule() -> None:
    request, intake = opened()
    with pytest.raises(InvalidInput):
        lifecycle.decline_intake(
            request,
            replace(intake, kind=OfferKind.HANDOFF),
            actor_id=CLERK,
            reason="no",
            team_name="Policy Admin",
            triage=None,
            path=[TEAM],
            targets=TARGETS,
            now=at(23, 11),
        )


# ---- the sweeper's escalations -----------------------------------------------------------------


def test_an_overdue_update_never_escalates_to_the_owner_it_is_recorded_nobody_is_above() -> None:
    request, _ = opened()
    lead_owns = replace(request, owner_id=LEAD)
    change = lifecycle.escalate_update(lead_owns, lead_id=LEAD, now=at(23, 16))
    assert change.events[0].payload == UpdateEscalated(owner_id=LEAD, nobody_above=True)
    assert change.events[0].person_id is None
    assert change.notices == ()
    # Escalated once all the same: not due again.
    assert change.request.update_escalate_at is None
    # Owned by someone else, it goes to the lead.
    clerk_owns = replace(request, owner_id=CLERK)
    change = lifecycle.escalate_update(clerk_owns, lead_id=LEAD, now=at(23, 16))
    assert change.events[0].person_id == LEAD
    assert change.notices == (
        lifecycle.Notice(LEAD, NotificationKind.ESCALATION, "Update overdue: Fix the address"),
    )


def test_an_unaccepted_offer_never_escalates_to_the_owner() -> None:
    request, intake = opened()
    change = lifecycle.escalate_offer(
        replace(request, owner_id=LEAD), intake, lead_id=LEAD, now=at(23, 12)
    )
    assert change.events[0].payload == Escalated(offer_id=100, nobody_above=True)
    assert (change.events[0].person_id, change.notices, change.escalated_offer_id) == (
        None,
        (),
        100,
    )
    change = lifecycle.escalate_offer(request, intake, lead_id=LEAD, now=at(23, 12))
    assert change.events[0].person_id == LEAD
    assert [n.person_id for n in change.notices] == [LEAD]


@pytest.mark.parametrize(
    ("reminded", "escalates"),
    [
        # On time (due 14:00): the planned escalation, 16:00, is already 2 business hours on.
        (at(23, 14), at(23, 16)),
        # Half an hour late: 2 business hours from 15:30 are 1.5 h on Monday and 0.5 h Tuesday.
        (at(23, 15, 30), at(24, 9, 30)),
        # After the planned escalation (the sweeper was down): still 2 business hours later,
        # never in the same second as the reminder.
        (at(24, 12), at(24, 14)),
    ],
)
def test_an_escalation_comes_at_least_half_a_cadence_after_its_reminder(
    reminded: datetime, escalates: datetime
) -> None:
    request, _ = opened()  # opened Monday 10:00: update due 14:00, escalation planned 16:00
    assert (request.next_update_due_at, request.update_escalate_at) == (at(23, 14), at(23, 16))
    change = lifecycle.remind_update(request, calendar=CAL, targets=TARGETS, now=reminded)
    assert change.request.update_reminded_at == reminded
    assert lifecycle.update_escalation_due_at(change.request) == escalates
