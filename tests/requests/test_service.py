"""The request lifecycle on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.errors import (
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    NotFound,
    OfferNotOpen,
    VersionConflict,
)
from followthrough.history.models import Event
from followthrough.notify.models import Notification, OutboxMessage
from followthrough.requests import service
from followthrough.requests.models import Offer, Request
from followthrough.requests.service import NewRequest
from tests.conftest import T0
from tests.factories import World


def _open(db: Database, world: World, handle: str = "asha", **kw: object) -> int:
    with db.unit_of_work() as session:
        fields: dict[str, object] = {
            "title": "Policy P-1 has the wrong address",
            "need": "Correct the address so the claim can be paid",
            "service_id": world.services["correct_policy"],
        }
        fields.update(kw)
        request = service.open_request(
            session, world.actor(session, handle), NewRequest(**fields), T0
        )  # type: ignore[arg-type]
        return request.id


def _intake(db: Database, request_id: int) -> int:
    with db.unit_of_work() as session:
        offer = service.open_offer_of(session, request_id)
        assert offer is not None
        return offer.id


def test_opening_makes_the_duty_owner_accountable_and_offers_it_to_the_team(
    db: Database, world: World
) -> None:
    rid = _open(db, world)
    with db.unit_of_work() as session:
        request = session.get(Request, rid)
        assert request is not None
        assert request.owner_id == world.people["dan"]
        assert request.state == "new"
        offer = service.open_offer_of(session, rid)
        assert offer is not None
        assert offer.kind == "intake"
        assert offer.to_team_id == world.teams["admin"]
        # Accept target 2 business hours from Monday 09:00.
        assert offer.due_at == T0 + timedelta(hours=2)
        assert request.next_update_due_at == T0 + timedelta(hours=4)
        kinds = list(
            session.scalars(select(Event.kind).where(Event.request_id == rid).order_by(Event.id))
        )
        assert kinds == ["opened", "offered"]
        inbox = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.person_id == world.people["dan"])
        )
        assert inbox == 1
        # The notification is queued for mail with it, pointing at it.
        notification = session.scalars(select(Notification)).one()
        outbox = session.scalars(select(OutboxMessage)).one()
        assert (outbox.notification_id, outbox.channel, outbox.state, outbox.attempts) == (
            notification.id,
            "email",
            "pending",
            0,
        )
        assert outbox.created_at == notification.created_at == T0
        assert notification.request_id == rid
        assert notification.kind == "offer"


def test_duty_owner_offers_on_to_a_clerk_who_accepts(db: Database, world: World) -> None:
    rid = _open(db, world)
    with db.unit_of_work() as session:
        dan = world.actor(session, "dan")
        offer = service.offer_request(
            session,
            dan,
            rid,
            world.teams["admin"],
            world.people["cleo"],
            "please fix",
            T0 + timedelta(minutes=5),
        )
        offer_id = offer.id
        # Until Cleo accepts, Dan stays accountable.
        request = session.get(Request, rid)
        assert request is not None
        assert request.owner_id == world.people["dan"]
    with db.unit_of_work() as session:
        service.accept_offer(
            session, world.actor(session, "cleo"), rid, offer_id, T0 + timedelta(minutes=10)
        )
    with db.unit_of_work() as session:
        request = session.get(Request, rid)
        assert request is not None
        assert request.owner_id == world.people["cleo"]
        assert request.state == "in_progress"
        intake = session.scalar(
            select(Offer).where(Offer.request_id == rid, Offer.kind == "intake")
        )
        assert intake is not None
        assert intake.state == "withdrawn"


def test_declined_offer_returns_to_sender_with_the_reason(db: Database, world: World) -> None:
    rid = _open(db, world)
    offer_id = _intake(db, rid)
    with db.unit_of_work() as session:
        service.accept_offer(session, world.actor(session, "cleo"), rid, offer_id, T0)
    with db.unit_of_work() as session:
        handoff = service.offer_request(
            session, world.actor(session, "cleo"), rid, world.teams["claims"], None, "", T0
        )
        handoff_id = handoff.id
    with db.unit_of_work() as session:
        service.decline_offer(
            session, world.actor(session, "asha"), rid, handoff_id, "not a claims matter", T0
        )
    with db.unit_of_work() as session:
        request = session.get(Request, rid)
        assert request is not None
        assert request.owner_id == world.people["cleo"]
        assert request.team_id == world.teams["admin"]
        declined = session.get(Offer, handoff_id)
        assert declined is not None
        assert declined.decline_reason == "not a claims matter"
        note = session.scalar(select(Notification).where(Notification.kind == "offer_declined"))
        assert note is not None
        assert note.person_id == world.people["cleo"]


def test_decline_needs_a_reason_and_changes_nothing(db: Database, world: World) -> None:
    rid = _open(db, world)
    offer_id = _intake(db, rid)
    with pytest.raises(InvalidInput) as raised, db.unit_of_work() as session:
        service.decline_offer(session, world.actor(session, "cleo"), rid, offer_id, "   ", T0)
    assert raised.value.field == "reason"
    with db.unit_of_work() as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None
        assert offer.state == "open"


def test_returning_to_a_team_already_left_is_a_bounce(db: Database, world: World) -> None:
    rid = _open(db, world)
    offer_id = _intake(db, rid)
    with db.unit_of_work() as session:
        service.accept_offer(session, world.actor(session, "cleo"), rid, offer_id, T0)
        to_claims = service.offer_request(
            session, world.actor(session, "cleo"), rid, world.teams["claims"], None, "", T0
        )
        service.accept_offer(session, world.actor(session, "asha"), rid, to_claims.id, T0)
        back = service.offer_request(
            session, world.actor(session, "asha"), rid, world.teams["admin"], None, "", T0
        )
        service.accept_offer(session, world.actor(session, "cleo"), rid, back.id, T0)
    with db.unit_of_work() as session:
        request = session.get(Request, rid)
        assert request is not None
        assert request.bounce_count == 1
        accepted = list(
            session.scalars(select(Event).where(Event.request_id == rid, Event.kind == "accepted"))
        )
        assert [e.payload.get("bounce", False) for e in accepted] == [False, False, True]


def test_only_the_offered_team_can_accept(db: Database, world: World) -> None:
    rid = _open(db, world)
    offer_id = _intake(db, rid)
    with pytest.raises(NotAllowed), db.unit_of_work() as session:
        service.accept_offer(session, world.actor(session, "asha"), rid, offer_id, T0)


def test_an_accepted_offer_cannot_be_accepted_again(db: Database, world: World) -> None:
    rid = _open(db, world)
    offer_id = _intake(db, rid)
    with db.unit_of_work() as session:
        service.accept_offer(session, world.actor(session, "cleo"), rid, offer_id, T0)
    with pytest.raises(OfferNotOpen), db.unit_of_work() as session:
        service.accept_offer(session, world.actor(session, "dan"), rid, offer_id, T0)


def test_stale_version_is_a_conflict(db: Database, world: World) -> None:
    rid = _open(db, world)
    with pytest.raises(VersionConflict), db.unit_of_work() as session:
        service.post_update(
            session, world.actor(session, "dan"), rid, "looking", T0, expected_version=99
        )


def test_clarification_pauses_the_clock_until_the_requester_answers(
    db: Database, world: World
) -> None:
    rid = _open(db, world)
    with db.unit_of_work() as session:
        service.ask_clarification(
            session, world.actor(session, "dan"), rid, "Which policy?", T0 + timedelta(hours=1)
        )
    with db.unit_of_work() as session:
        request = session.get(Request, rid)
        assert request is not None
        assert request.state == "needs_clarification"
        assert request.next_update_due_at is None
    # Three business hours pass while the requester thinks.
    with db.unit_of_work() as session:
        service.answer_clarification(
            session, world.actor(session, "asha"), rid, "P-1", T0 + timedelta(hours=4)
        )
    with db.unit_of_work() as session:
        request = session.get(Request, rid)
        assert request is not None
        assert request.state == "new"
        assert request.paused_business_seconds == 3 * 3600
        # 16 target hours from Monday 09:00 is Tuesday 17:00; plus 3 paused hours: Wednesday 12:00.
        assert request.resolve_due_at == T0 + timedelta(days=2, hours=3)


def test_resolve_confirm_and_everything_is_in_the_history(db: Database, world: World) -> None:
    rid = _open(db, world)
    offer_id = _intake(db, rid)
    with db.unit_of_work() as session:
        service.accept_offer(session, world.actor(session, "cleo"), rid, offer_id, T0)
        service.post_update(
            session, world.actor(session, "cleo"), rid, "found it", T0 + timedelta(hours=1)
        )
        service.resolve_request(
            session, world.actor(session, "cleo"), rid, "address corrected", T0 + timedelta(hours=2)
        )
    with pytest.raises(NotAllowed), db.unit_of_work() as session:
        service.confirm_resolution(
            session, world.actor(session, "cleo"), rid, T0 + timedelta(hours=3)
        )
    with db.unit_of_work() as session:
        service.confirm_resolution(
            session, world.actor(session, "asha"), rid, T0 + timedelta(hours=3)
        )
    with db.unit_of_work() as session:
        kinds = list(
            session.scalars(select(Event.kind).where(Event.request_id == rid).order_by(Event.id))
        )
        assert kinds == ["opened", "offered", "accepted", "update_posted", "resolved", "closed"]
    with pytest.raises(InvalidTransition), db.unit_of_work() as session:
        service.reopen_request(
            session, world.actor(session, "asha"), rid, "still wrong", T0 + timedelta(hours=4)
        )


def test_confidential_request_is_invisible_to_an_outsider(db: Database, world: World) -> None:
    rid = _open(
        db,
        world,
        "otto",
        service_id=world.services["grievance"],
        title="A grievance",
        need="private",
    )
    with pytest.raises(NotFound), db.unit_of_work() as session:
        service.load_for_change(session, world.actor(session, "cleo"), rid)
    with db.unit_of_work() as session:
        assert service.load_for_change(session, world.actor(session, "hana"), rid).id == rid
        assert service.load_for_change(session, world.actor(session, "otto"), rid).id == rid


def test_unsure_requests_go_to_the_triage_team(db: Database, world: World) -> None:
    rid = _open(db, world, service_id=None)
    with db.unit_of_work() as session:
        request = session.get(Request, rid)
        assert request is not None
        assert request.team_id == world.teams["triage"]
        assert request.owner_id == world.people["tess"]


def test_sub_request_resolution_resumes_the_waiting_parent(db: Database, world: World) -> None:
    parent = _open(db, world)
    offer_id = _intake(db, parent)
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        service.accept_offer(session, cleo, parent, offer_id, T0)
        child = service.open_request(
            session,
            cleo,
            NewRequest(
                title="Confirm claim",
                need="check the claim",
                service_id=world.services["claim_review"],
                parent_id=parent,
            ),
            T0,
        )
        child_id = child.id
        service.start_waiting(
            session, cleo, parent, "sub_request", "needs claims", T0, child_request_id=child_id
        )
    with db.unit_of_work() as session:
        service.resolve_request(
            session, world.actor(session, "carl"), child_id, "checked", T0 + timedelta(hours=1)
        )
    with db.unit_of_work() as session:
        request = session.get(Request, parent)
        assert request is not None
        assert request.state == "in_progress"
        assert request.waiting_on is None


def test_everyone_who_worked_a_request_still_sees_it_after_it_moves_on(
    db: Database, world: World
) -> None:
    """The owner is recorded as taking part when made owner, so changes by the owner need not
    record them again, and whoever held the request keeps sight of it after handing it on."""
    from followthrough.promises.service import make_promise
    from followthrough.requests.access import get_readable_request
    from followthrough.requests.models import RequestParticipant

    rid = _open(db, world)
    with db.unit_of_work() as session:
        offer = service.offer_request(
            session,
            world.actor(session, "dan"),
            rid,
            world.teams["admin"],
            world.people["cleo"],
            "yours",
            T0,
        )
        offer_id = offer.id
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        service.accept_offer(session, cleo, rid, offer_id, T0)
        service.post_update(session, cleo, rid, "on it", T0)
        make_promise(session, cleo, rid, "call back", T0 + timedelta(hours=1), T0)
    with db.unit_of_work() as session:
        handoff = service.offer_request(
            session, world.actor(session, "cleo"), rid, world.teams["claims"], None, "over", T0
        )
        handoff_id = handoff.id
    with db.unit_of_work() as session:
        service.accept_offer(session, world.actor(session, "carl"), rid, handoff_id, T0)
    with db.unit_of_work(readonly=True) as session:
        taking_part = set(
            session.scalars(
                select(RequestParticipant.person_id).where(RequestParticipant.request_id == rid)
            )
        )
        assert taking_part == {world.people[h] for h in ("asha", "dan", "cleo", "carl")}
        # Cleo is no longer owner nor in the holding team, and still sees what she worked on.
        request = get_readable_request(session, world.actor(session, "cleo"), rid)
        assert request.owner_id == world.people["carl"]
        assert request.team_id == world.teams["claims"]
