"""Withdraw, merge, a declined intake and the sweeper's escalations on a real database
(SQLite and PostgreSQL): who may, what is written, who is told.

The world (tests/factories.py): asha raises requests (Claims); Policy Admin has lee (lead), dan
(duty owner) and cleo; Claims is led by carl; tess leads Triage; otto is in no team; ada is an
admin. T0 is Monday 09:00 UTC; Policy Admin works 9:00 to 17:00 and "Correct a policy document"
owes an update every 4 business hours (escalated 2 business hours after it is due).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from followthrough.cases.models import Case, RequestCase
from followthrough.db import Database
from followthrough.errors import InvalidInput, InvalidTransition, NotAllowed, NotFound
from followthrough.history.models import Event
from followthrough.notify.models import Notification
from followthrough.org.models import Team
from followthrough.promises import service as promises
from followthrough.promises.models import Promise
from followthrough.requests import service
from followthrough.requests.access import get_readable_request
from followthrough.requests.models import Offer, Request
from followthrough.requests.service import NewRequest
from followthrough.sweeper.service import sweep
from tests.conftest import T0
from tests.factories import World


def _open(db: Database, world: World, handle: str = "asha", title: str = "Wrong address") -> int:
    with db.unit_of_work() as session:
        request = service.open_request(
            session,
            world.actor(session, handle),
            NewRequest(title=title, need="Fix it", service_id=world.services["correct_policy"]),
            T0,
        )
        return request.id


def _accept(db: Database, world: World, rid: int, handle: str = "cleo") -> None:
    with db.unit_of_work() as session:
        intake = service.open_offer_of(session, rid)
        assert intake is not None
        service.accept_offer(session, world.actor(session, handle), rid, intake.id, T0)


def _kinds(db: Database, rid: int) -> list[str]:
    with db.unit_of_work(readonly=True) as session:
        return list(
            session.scalars(select(Event.kind).where(Event.request_id == rid).order_by(Event.id))
        )


def _inbox(db: Database, world: World, handle: str) -> list[tuple[str, str]]:
    with db.unit_of_work(readonly=True) as session:
        rows = session.execute(
            select(Notification.kind, Notification.message)
            .where(Notification.person_id == world.people[handle])
            .order_by(Notification.id)
        )
        return [(kind, message) for kind, message in rows]


# ---- withdraw -----------------------------------------------------------------------------------

# Who may withdraw asha's request, owned by cleo in Policy Admin: the literal rule.
WITHDRAW = [
    ("asha", None),  # the requester
    ("ada", None),  # an admin
    ("cleo", NotAllowed),  # its owner
    ("lee", NotAllowed),  # the owning team's lead
    ("dan", NotAllowed),  # the owning team's duty owner
    ("otto", NotFound),  # cannot read it
]


@pytest.mark.parametrize(("handle", "refused"), WITHDRAW)
def test_only_the_requester_or_an_admin_may_withdraw(
    db: Database, world: World, handle: str, refused: type[Exception] | None
) -> None:
    rid = _open(db, world)
    _accept(db, world, rid)
    with db.unit_of_work() as session:
        actor = world.actor(session, handle)
        if refused is None:
            request = service.withdraw_request(session, actor, rid, "no longer needed", T0)
            assert request.state == "withdrawn"
        else:
            with pytest.raises(refused):
                service.withdraw_request(session, actor, rid, "no longer needed", T0)


def test_withdrawing_closes_it_releases_promises_withdraws_the_offer_and_tells_them(
    db: Database, world: World
) -> None:
    rid = _open(db, world)
    _accept(db, world, rid)
    later = T0 + timedelta(hours=1)
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        promises.make_promise(session, cleo, rid, "Call back", T0 + timedelta(hours=3), later)
        service.offer_request(
            session, cleo, rid, world.teams["admin"], world.people["dan"], "can you", later
        )
    at = T0 + timedelta(hours=2)
    with db.unit_of_work() as session:
        service.withdraw_request(
            session, world.actor(session, "asha"), rid, "Found the letter myself", at
        )
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, rid)
        assert request is not None
        assert (request.state, request.closed_at, request.resolved_at) == ("withdrawn", at, None)
        assert request.next_update_due_at is None
        assert session.scalars(select(Promise.state).where(Promise.request_id == rid)).all() == [
            "released"
        ]
        assert (
            session.scalar(
                select(Offer.state).where(Offer.request_id == rid).order_by(Offer.id.desc())
            )
            == "withdrawn"
        )
    assert _kinds(db, rid)[-3:] == ["request_withdrawn", "withdrawn", "promise_released"]
    reason = ("withdrawn", "Withdrawn: Wrong address — Found the letter myself")
    # The owner (who made the promise) and the person the open offer named are told why.
    assert _inbox(db, world, "cleo")[-1] == reason
    assert _inbox(db, world, "dan")[-1] == reason
    # The sweeper finds nothing due on it afterwards: no reminder, no broken promise.
    assert sweep(db, T0 + timedelta(days=3))["promises broken"] == 0
    assert _kinds(db, rid)[-1] == "promise_released"


def test_withdrawing_twice_changes_nothing_and_an_ended_request_is_a_conflict(
    db: Database, world: World
) -> None:
    rid = _open(db, world)
    with db.unit_of_work() as session:
        service.withdraw_request(session, world.actor(session, "asha"), rid, "dup", T0)
    events = _kinds(db, rid)
    with db.unit_of_work() as session:
        again = service.withdraw_request(session, world.actor(session, "asha"), rid, "dup", T0)
        assert again.state == "withdrawn"
    assert _kinds(db, rid) == events

    resolved = _open(db, world)
    _accept(db, world, resolved)
    with db.unit_of_work() as session:
        service.resolve_request(session, world.actor(session, "cleo"), resolved, "done", T0)
        service.confirm_resolution(session, world.actor(session, "asha"), resolved, T0)
    with db.unit_of_work() as session, pytest.raises(InvalidTransition):
        service.withdraw_request(session, world.actor(session, "asha"), resolved, "dup", T0)


def test_a_reason_is_required_to_withdraw(db: Database, world: World) -> None:
    rid = _open(db, world)
    with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
        service.withdraw_request(session, world.actor(session, "asha"), rid, "  ", T0)
    assert refused.value.field == "reason"


# ---- merge --------------------------------------------------------------------------------------

# Who may merge otto's request (the duplicate, with Policy Admin) into asha's: the literal rule.
MERGE = [
    ("dan", None),  # its owner (the duty owner, until someone accepts)
    ("cleo", None),  # a member of the owning team
    ("lee", None),  # the owning team's lead
    ("otto", NotAllowed),  # its requester does not work on it
    ("ada", NotAllowed),  # an admin does not work on it either
    ("carl", NotFound),  # cannot read it
]


@pytest.mark.parametrize(("handle", "refused"), MERGE)
def test_whoever_works_the_duplicate_may_merge_it(
    db: Database, world: World, handle: str, refused: type[Exception] | None
) -> None:
    into = _open(db, world, "asha", "Address wrong on HM-1234")
    duplicate = _open(db, world, "otto", "HM-1234 address")
    with db.unit_of_work() as session:
        actor = world.actor(session, handle)
        if refused is None:
            merged = service.merge_requests(session, actor, duplicate, into, "same policy", T0)
            assert (merged.state, merged.merged_into_id) == ("merged", into)
        else:
            with pytest.raises(refused):
                service.merge_requests(session, actor, duplicate, into, "same policy", T0)


def test_merging_carries_the_requester_and_cases_over_and_keeps_both_histories(
    db: Database, world: World
) -> None:
    into = _open(db, world, "asha", "Address wrong on HM-1234")
    with db.unit_of_work() as session:
        case = Case(reference="CLM-7", customer="Mrs Jones", created_at=T0)
        session.add(case)
        session.flush()
        case_id = case.id
        duplicate = service.open_request(
            session,
            world.actor(session, "otto"),
            NewRequest(
                title="HM-1234 address",
                need="Fix it",
                service_id=world.services["correct_policy"],
                case_ids=(case_id,),
            ),
            T0,
        ).id
    at = T0 + timedelta(minutes=30)
    with db.unit_of_work() as session:
        service.merge_requests(
            session, world.actor(session, "cleo"), duplicate, into, "Same policy", at
        )
    with db.unit_of_work(readonly=True) as session:
        # otto raised the duplicate: he may read the request it went into from now on.
        assert get_readable_request(session, world.actor(session, "otto"), into).id == into
        assert session.get(RequestCase, (into, case_id)) is not None
        # The duplicate's open intake offer ended with it.
        assert session.scalars(select(Offer.state).where(Offer.request_id == duplicate)).all() == [
            "withdrawn"
        ]
    assert _kinds(db, duplicate)[-2:] == ["merged_into", "withdrawn"]
    assert _kinds(db, into)[-1] == "duplicate_merged"
    # Both requesters are told.
    moved = f"#{duplicate} HM-1234 address was merged into #{into} Address wrong on HM-1234"
    assert _inbox(db, world, "otto")[-1] == ("merged", f"{moved}: follow it there.")
    assert _inbox(db, world, "asha")[-1] == ("merged", f"{moved}.")


def test_no_merge_into_an_ended_request_nor_back_the_other_way(db: Database, world: World) -> None:
    a = _open(db, world, "asha", "A")
    b = _open(db, world, "otto", "B")
    with db.unit_of_work() as session:
        service.merge_requests(session, world.actor(session, "dan"), b, a, "", T0)
    with db.unit_of_work() as session, pytest.raises(InvalidTransition):
        service.merge_requests(session, world.actor(session, "dan"), a, b, "", T0)
    with db.unit_of_work() as session, pytest.raises(InvalidInput):
        service.merge_requests(session, world.actor(session, "dan"), a, a, "", T0)


def test_the_request_merged_into_must_be_readable_by_whoever_merges(
    db: Database, world: World
) -> None:
    duplicate = _open(db, world, "asha", "A")
    with db.unit_of_work() as session:
        grievance = service.open_request(
            session,
            world.actor(session, "tess"),
            NewRequest(title="G", need="n", service_id=world.services["grievance"]),
            T0,
        ).id
    with db.unit_of_work() as session, pytest.raises(NotFound) as refused:
        service.merge_requests(session, world.actor(session, "cleo"), duplicate, grievance, "", T0)
    assert refused.value.field == "into_id"


# ---- a declined intake ------------------------------------------------------------------------


def test_a_declined_intake_goes_to_triage_then_back_to_the_requester_who_routes_it_on(
    db: Database, world: World
) -> None:
    rid = _open(db, world)
    with db.unit_of_work() as session:
        intake = service.open_offer_of(session, rid)
        assert intake is not None
        service.decline_offer(
            session, world.actor(session, "cleo"), rid, intake.id, "Not a policy fix", T0
        )
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, rid)
        assert request is not None
        # Never in limbo: triage's duty owner (its lead, tess) is accountable and triage is
        # offered it, with the reason.
        assert (request.owner_id, request.team_id, request.state) == (
            world.people["tess"],
            world.teams["triage"],
            "new",
        )
        offer = service.open_offer_of(session, rid)
        assert offer is not None
        assert (offer.kind, offer.to_team_id, offer.note) == (
            "intake",
            world.teams["triage"],
            "Policy Admin declined it: Not a policy fix",
        )
        triage_offer = offer.id
    assert _inbox(db, world, "asha")[-1] == (
        "offer_declined",
        "Policy Admin declined Wrong address: Not a policy fix. It went to Triage, who will route it.",
    )
    # Triage declines too: back to the requester, who is told what they can do.
    with db.unit_of_work() as session:
        service.decline_offer(
            session, world.actor(session, "tess"), rid, triage_offer, "Nobody here does this", T0
        )
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, rid)
        assert request is not None
        assert (request.owner_id, request.state) == (world.people["asha"], "new")
        assert service.open_offer_of(session, rid) is None
        assert request.next_update_due_at is None
    assert _inbox(db, world, "asha")[-1] == (
        "returned",
        "Triage declined Wrong address: Nobody here does this. It is back with you: "
        "offer it to another team, or withdraw it.",
    )
    assert _kinds(db, rid)[-2:] == ["declined", "returned_to_requester"]
    # Holding it, the requester offers it to Claims, whose lead accepts: work goes on.
    with db.unit_of_work() as session:
        handoff = service.offer_request(
            session,
            world.actor(session, "asha"),
            rid,
            world.teams["claims"],
            None,
            "Maybe yours?",
            T0 + timedelta(hours=1),
        )
        service.accept_offer(
            session, world.actor(session, "carl"), rid, handoff.id, T0 + timedelta(hours=2)
        )
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, rid)
        assert request is not None
        assert (request.owner_id, request.state) == (world.people["carl"], "in_progress")
        # Updates are owed again from the acceptance: 11:00 + 4 business hours.
        assert request.next_update_due_at == T0 + timedelta(hours=6)


def test_without_a_triage_team_a_declined_intake_goes_straight_back(
    db: Database, world: World
) -> None:
    with db.unit_of_work() as session:
        triage = session.get(Team, world.teams["triage"])
        assert triage is not None
        triage.is_triage = False
    rid = _open(db, world)
    with db.unit_of_work() as session:
        intake = service.open_offer_of(session, rid)
        assert intake is not None
        service.decline_offer(session, world.actor(session, "cleo"), rid, intake.id, "No", T0)
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, rid)
        assert request is not None
        assert (request.owner_id, request.team_id) == (world.people["asha"], world.teams["admin"])


# ---- the sweeper ------------------------------------------------------------------------------


def test_an_overdue_update_of_a_request_the_lead_owns_escalates_to_nobody(
    db: Database, world: World
) -> None:
    rid = _open(db, world)
    _accept(db, world, rid, "lee")  # the lead owns it: due 13:00, escalation 15:00
    assert sweep(db, T0 + timedelta(hours=4))["updates reminded"] == 1
    assert sweep(db, T0 + timedelta(hours=6))["updates escalated"] == 1
    with db.unit_of_work(readonly=True) as session:
        escalation = session.scalars(
            select(Event).where(Event.request_id == rid, Event.kind == "update_escalated")
        ).one()
        assert escalation.person_id is None
        assert escalation.payload == {"owner_id": world.people["lee"], "nobody_above": True}
    assert [k for k, _ in _inbox(db, world, "lee")].count("escalation") == 0
    # Once: not again at the next sweep.
    assert sweep(db, T0 + timedelta(hours=7))["updates escalated"] == 0


def test_a_late_sweep_reminds_now_and_escalates_only_half_a_cadence_later(
    db: Database, world: World
) -> None:
    rid = _open(db, world)
    _accept(db, world, rid)  # cleo owns it: due 13:00, escalation planned 15:00
    # The sweeper was down until 16:00: the reminder goes now, the escalation waits.
    late = sweep(db, T0 + timedelta(hours=7))
    assert (late["updates reminded"], late["updates escalated"]) == (1, 0)
    # Two business hours after 16:00: one on Monday, one on Tuesday, so Tuesday 10:00.
    tuesday_10 = T0 + timedelta(days=1, hours=1)
    assert sweep(db, tuesday_10 - timedelta(seconds=1))["updates escalated"] == 0
    assert sweep(db, tuesday_10)["updates escalated"] == 1
    with db.unit_of_work(readonly=True) as session:
        times = dict(
            session.execute(
                select(Event.kind, Event.at).where(
                    Event.request_id == rid,
                    Event.kind.in_(("update_reminded", "update_escalated")),
                )
            ).all()
        )
    assert times == {"update_reminded": T0 + timedelta(hours=7), "update_escalated": tuesday_10}
    assert _inbox(db, world, "lee")[-1] == ("escalation", "Update overdue: Wrong address")
