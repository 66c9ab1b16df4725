"""The story the product exists for, played through the real services and the real sweeper.

Asha, a motor claims assessor, finds that Mrs Okafor's policy shows the wrong sum insured, so her
claim cannot be settled. She asks Policy Admin to correct it. Nobody takes it within the
acceptance target, so it escalates to the lead; the duty owner offers it to Colin, who accepts and
promises a call-back by 15:00. The call-back never comes: the promise breaks, the update falls
overdue and escalates to the lead. Colin needs Underwriting to approve the change (a sub-request);
once they do, the request picks up by itself, Colin resolves it and Asha confirms, rates it and
tells Colin what the missed call-back cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from followthrough.cases.service import add_case
from followthrough.demo.company import Company
from followthrough.feedback.service import give_feedback, rate_request
from followthrough.org.actors import Actor
from followthrough.org.service import actor_for, get_person
from followthrough.promises import scheduled as promises_due
from followthrough.promises.service import keep_promise, make_promise
from followthrough.requests import scheduled as requests_due
from followthrough.requests import service as requests
from followthrough.requests.service import NewRequest


@dataclass(frozen=True)
class Story:
    """Ids of what the story created, for the summary and the tests."""

    request_id: int
    sub_request_id: int
    case_id: int
    broken_promise_id: int


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    # November: London is on UTC, so these are the times people saw on their clocks.
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def play_story(session: Session, company: Company) -> Story:
    """Play the story from Monday 9 to Wednesday 11 November 2026 in the caller's transaction."""

    def actor(handle: str) -> Actor:
        return actor_for(session, get_person(session, company.people[handle]))

    asha, priya, colin, linda, conor = (
        actor(h) for h in ("asha", "priya", "colin", "linda", "conor")
    )
    case = add_case(
        session,
        asha,
        "CLM-2026-04417",
        "Mrs Adaeze Okafor",
        _at(13, 17),
        "Escape of water in the kitchen. The policy shows contents cover of £5,000, not the "
        "£50,000 on the proposal form, so the claim cannot be settled until it is corrected.",
        _at(9, 9, 10),
    )
    request = requests.open_request(
        session,
        asha,
        NewRequest(
            title="Correct the policy error on policy HP-20417",
            need="The contents sum insured on HP-20417 shows £5,000; the proposal form says "
            "£50,000. Please correct the policy so I can settle Mrs Okafor's claim.",
            service_id=company.services["correct_policy"],
            context="Found while assessing claim CLM-2026-04417. I have told the customer we "
            "would have an answer by Friday.",
            impact_customers=1,
            desired_by=_at(11, 17),
            priority="high",
            case_ids=(case.id,),
        ),
        _at(9, 9, 25),
    )
    # Nobody in Policy Admin takes it within the two-hour acceptance target.
    requests_due.escalate_offers(session, _at(9, 11, 30))
    intake = requests.open_offer_of(session, request.id)
    assert intake is not None
    offer = requests.offer_request(
        session,
        priya,
        request.id,
        company.teams["policy_admin"],
        company.people["colin"],
        "Colin, can you take this? A claim is waiting on it.",
        _at(9, 11, 40),
    )
    requests.accept_offer(session, colin, request.id, offer.id, _at(9, 12, 5))
    call_back = make_promise(
        session,
        colin,
        request.id,
        "Call Asha back by 15:00 with the corrected policy document",
        _at(9, 15),
        _at(9, 12, 10),
    )
    promises_due.remind_promises(session, _at(9, 14, 35))
    promises_due.break_promises(session, _at(9, 15, 0))
    requests_due.remind_updates(session, _at(9, 16, 10))
    requests.post_update(
        session,
        asha,
        request.id,
        "Mrs Okafor has called twice today. When will the policy be corrected?",
        _at(10, 9, 30),
    )
    requests_due.escalate_updates(session, _at(10, 10, 10))
    requests.post_update(
        session,
        linda,
        request.id,
        "Sorry, Asha. Colin needs Underwriting to approve the corrected sum insured first; "
        "we are asking them now and I am keeping an eye on it.",
        _at(10, 10, 30),
    )
    sub = requests.open_request(
        session,
        colin,
        NewRequest(
            title="Approve the corrected sum insured on HP-20417",
            need="The contents sum insured on HP-20417 should be £50,000 as on the proposal "
            "form. Please approve the correction from the start date.",
            service_id=company.services["approve_cover"],
            priority="high",
            parent_id=request.id,
            case_ids=(case.id,),
        ),
        _at(10, 10, 40),
    )
    requests.start_waiting(
        session,
        colin,
        request.id,
        "sub_request",
        "Waiting on Underwriting to approve the corrected sum insured",
        _at(10, 10, 41),
        child_request_id=sub.id,
    )
    sub_intake = requests.open_offer_of(session, sub.id)
    assert sub_intake is not None
    requests.accept_offer(session, conor, sub.id, sub_intake.id, _at(10, 11, 15))
    # Resolving the sub-request resumes the request that waited on it.
    requests.resolve_request(
        session,
        conor,
        sub.id,
        "Approved: £50,000 matches the proposal form; no extra premium.",
        _at(10, 14, 20),
    )
    requests.confirm_resolution(session, colin, sub.id, _at(10, 14, 50))
    document = make_promise(
        session,
        colin,
        request.id,
        "Send the corrected policy schedule by 16:30",
        _at(10, 16, 30),
        _at(10, 14, 45),
    )
    keep_promise(
        session,
        colin,
        request.id,
        document.id,
        "Corrected schedule issued and emailed to Asha.",
        _at(10, 16, 5),
    )
    requests.resolve_request(
        session,
        colin,
        request.id,
        "Contents sum insured corrected to £50,000 from the start date; corrected schedule "
        "issued. The claim can be settled.",
        _at(10, 16, 10),
    )
    requests.confirm_resolution(session, asha, request.id, _at(11, 9, 15))
    rate_request(
        session,
        asha,
        request.id,
        {"understand": 4, "own": 2, "serve": 4, "communicate": 1},
        "Fixed well in the end, but nobody took it for hours and the 15:00 call-back never "
        "came. Mrs Okafor rang me twice.",
        _at(11, 9, 18),
    )
    give_feedback(
        session,
        asha,
        company.people["colin"],
        "constructive",
        "Correcting policy HP-20417 for Mrs Okafor's claim on Monday.",
        "You promised to call me back by 15:00 and didn't, and there was no update until Linda "
        "stepped in the next morning.",
        "The claim missed the day we had promised the customer, and she called me twice.",
        _at(11, 9, 25),
        request_id=request.id,
    )
    give_feedback(
        session,
        asha,
        company.people["conor"],
        "praise",
        "Underwriting approval for policy HP-20417 on Tuesday.",
        "You approved the corrected sum insured within three hours of being asked.",
        "The claim could be settled the next morning.",
        _at(11, 9, 30),
    )
    session.flush()
    return Story(
        request_id=request.id,
        sub_request_id=sub.id,
        case_id=case.id,
        broken_promise_id=call_back.id,
    )
