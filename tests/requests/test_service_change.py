"""Filing a request under another service (SQLite and PostgreSQL): the targets that follow the
service, computed by hand on the test teams' calendar (UTC, 09:00-17:00, Monday to Friday;
T0 is Monday 2 March 2026, 09:00); who may; another team's service offered, never moved
silently; ended requests refused; the event in the history; the API and the page form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from followthrough.db import Database
from followthrough.errors import InvalidInput, InvalidTransition, NotAllowed, NotFound
from followthrough.history.models import Event
from followthrough.org import service as org
from followthrough.requests import service
from followthrough.requests.models import Offer, Request
from followthrough.requests.service import NewRequest
from tests.conftest import T0, LiveServer
from tests.factories import World
from tests.web.pages import Visitor

PROBLEM = "application/problem+json"
MON = datetime(2026, 3, 2, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in the week of T0: day 0 is Monday 2 March 2026."""
    return MON + timedelta(days=day, hours=hour, minutes=minute)


def _reissue(db: Database, world: World) -> int:
    """A second, quicker Policy Admin service: resolve in 4 business hours, update every 2."""
    with db.unit_of_work() as session:
        return org.add_service(
            session,
            world.teams["admin"],
            "Reissue a policy",
            accept_target_hours=1,
            update_every_hours=2,
            resolve_target_hours=4,
        ).id


def _open(db: Database, world: World, service_id: int | None, handle: str = "asha") -> int:
    with db.unit_of_work() as session:
        request = service.open_request(
            session,
            world.actor(session, handle),
            NewRequest(title="Wrong address", need="Fix it", service_id=service_id),
            T0,
        )
        return request.id


def _accept_intake(db: Database, world: World, rid: int, handle: str = "cleo") -> None:
    with db.unit_of_work() as session:
        intake = service.open_offer_of(session, rid)
        assert intake is not None
        service.accept_offer(session, world.actor(session, handle), rid, intake.id, T0)


def _change(
    db: Database, world: World, rid: int, handle: str, service_id: int, now: datetime
) -> None:
    with db.unit_of_work() as session:
        service.change_service(
            session, world.actor(session, handle), rid, service_id, "it is a reissue", now
        )


def _row(db: Database, rid: int) -> Request:
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, rid)
        assert request is not None
        session.expunge(request)
        return request


def test_a_quicker_service_brings_the_resolve_by_and_the_next_update_forward(
    db: Database, world: World
) -> None:
    reissue = _reissue(db, world)
    rid = _open(db, world, world.services["correct_policy"])
    _accept_intake(db, world, rid)
    before = _row(db, rid)
    # Correct a policy document: resolve in 16 business hours (Tuesday 17:00), an update every 4.
    assert before.resolve_due_at == at(1, 17)
    assert before.next_update_due_at == at(0, 13)

    _change(db, world, rid, "cleo", reissue, at(0, 10))

    after = _row(db, rid)
    assert after.service_id == reissue
    # 4 business hours from opening at Monday 09:00, as if it had been raised on it.
    assert after.resolve_due_at == at(0, 13)
    # 2 business hours from the change (10:00), sooner than the 13:00 owed; escalates 1h later.
    assert (after.next_update_due_at, after.update_escalate_at) == (at(0, 12), at(0, 13))
    # Same team: nobody else is offered it and nobody else owns it.
    assert (after.team_id, after.owner_id) == (world.teams["admin"], world.people["cleo"])


def test_time_already_paused_still_moves_the_new_resolve_by_on(db: Database, world: World) -> None:
    reissue = _reissue(db, world)
    rid = _open(db, world, world.services["correct_policy"])
    _accept_intake(db, world, rid)
    with db.unit_of_work() as session:
        service.ask_clarification(session, world.actor(session, "cleo"), rid, "Which?", at(0, 10))
    with db.unit_of_work() as session:
        service.answer_clarification(session, world.actor(session, "asha"), rid, "P-1", at(0, 11))

    _change(db, world, rid, "cleo", reissue, at(0, 11, 30))

    after = _row(db, rid)
    # 09:00 + 4 business hours = 13:00, plus the hour the clock stood still = 14:00.
    assert after.resolve_due_at == at(0, 14)
    # The answer restarted the ladder at 11:00 (due 15:00 at 4-hourly); 2 hours from 11:30 is
    # sooner.
    assert (after.next_update_due_at, after.update_escalate_at) == (at(0, 13, 30), at(0, 14, 30))


def test_a_slower_service_never_puts_off_an_update_already_owed(db: Database, world: World) -> None:
    reissue = _reissue(db, world)
    rid = _open(db, world, reissue)
    _accept_intake(db, world, rid)
    # Reissue: an update every 2 hours from 09:00, escalating an hour after it is due.
    assert _row(db, rid).next_update_due_at == at(0, 11)

    _change(db, world, rid, "cleo", world.services["correct_policy"], at(0, 10))

    after = _row(db, rid)
    assert after.resolve_due_at == at(1, 17)  # 16 business hours from Monday 09:00
    assert (after.next_update_due_at, after.update_escalate_at) == (at(0, 11), at(0, 12))


def test_another_teams_service_is_offered_to_that_team_and_the_owner_stays(
    db: Database, world: World
) -> None:
    rid = _open(db, world, world.services["correct_policy"])  # intake open to Policy Admin
    _change(db, world, rid, "dan", world.services["claim_review"], at(0, 10))

    after = _row(db, rid)
    assert after.service_id == world.services["claim_review"]
    assert (after.team_id, after.owner_id) == (world.teams["admin"], world.people["dan"])
    # Review a claim keeps the default targets: resolve in 24 business hours from opening.
    assert after.resolve_due_at == at(2, 17)
    with db.unit_of_work(readonly=True) as session:
        offers = session.execute(
            select(Offer.kind, Offer.state, Offer.to_team_id, Offer.due_at)
            .where(Offer.request_id == rid)
            .order_by(Offer.id)
        ).all()
        kinds = list(
            session.scalars(select(Event.kind).where(Event.request_id == rid).order_by(Event.id))
        )
        recategorised = session.scalars(
            select(Event).where(Event.request_id == rid, Event.kind == "recategorised")
        ).one()
        payload, team_id = dict(recategorised.payload), recategorised.team_id
        other_team_id = recategorised.other_team_id
    assert [tuple(o) for o in offers] == [
        ("intake", "withdrawn", world.teams["admin"], at(0, 11)),
        # Claims' acceptance target (4 business hours) from the change.
        ("handoff", "open", world.teams["claims"], at(0, 14)),
    ]
    assert kinds[-3:] == ["recategorised", "withdrawn", "offered"]
    assert payload == {
        "from_service_id": world.services["correct_policy"],
        "to_service_id": world.services["claim_review"],
        "reason": "it is a reissue",
    }
    assert (team_id, other_team_id) == (world.teams["admin"], world.teams["claims"])


def test_a_confidential_service_makes_the_request_confidential(db: Database, world: World) -> None:
    rid = _open(db, world, world.services["correct_policy"])
    _change(db, world, rid, "dan", world.services["grievance"], at(0, 10))
    assert _row(db, rid).confidential is True


# Who may file cleo's request (asha raised it; Policy Admin holds it) under another service.
WHO_MAY = [
    ("cleo", None),  # its owner
    ("dan", None),  # the holding team's duty owner, a member
    ("lee", None),  # the holding team's lead
    ("asha", NotAllowed),  # the requester
    ("ada", NotAllowed),  # an admin who works on none of it
    ("otto", NotFound),  # cannot read it
]


@pytest.mark.parametrize(("handle", "refused"), WHO_MAY)
def test_who_may_change_the_service(
    db: Database, world: World, handle: str, refused: type[Exception] | None
) -> None:
    reissue = _reissue(db, world)
    rid = _open(db, world, world.services["correct_policy"])
    _accept_intake(db, world, rid)
    if refused is None:
        _change(db, world, rid, handle, reissue, at(0, 10))
        assert _row(db, rid).service_id == reissue
    else:
        with pytest.raises(refused):
            _change(db, world, rid, handle, reissue, at(0, 10))


def test_triage_files_an_unsure_request_under_a_service(db: Database, world: World) -> None:
    rid = _open(db, world, None)  # "not sure which team": it goes to Triage
    assert _row(db, rid).team_id == world.teams["triage"]
    with pytest.raises(NotAllowed):
        _change(db, world, rid, "asha", world.services["correct_policy"], at(0, 10))
    _change(db, world, rid, "tess", world.services["correct_policy"], at(0, 10))
    after = _row(db, rid)
    assert after.service_id == world.services["correct_policy"]
    assert after.owner_id == world.people["tess"]  # until Policy Admin accepts
    with db.unit_of_work(readonly=True) as session:
        offer = service.open_offer_of(session, rid)
        assert offer is not None
        assert (offer.kind, offer.to_team_id) == ("handoff", world.teams["admin"])


def test_the_same_service_again_is_refused(db: Database, world: World) -> None:
    rid = _open(db, world, world.services["correct_policy"])
    with pytest.raises(InvalidInput) as refused:
        _change(db, world, rid, "dan", world.services["correct_policy"], at(0, 10))
    assert refused.value.field == "service_id"


def test_an_ended_request_keeps_its_service(db: Database, world: World) -> None:
    reissue = _reissue(db, world)
    rid = _open(db, world, world.services["correct_policy"])
    _accept_intake(db, world, rid)
    with db.unit_of_work() as session:
        service.resolve_request(session, world.actor(session, "cleo"), rid, "done", at(0, 10))
    with pytest.raises(InvalidTransition):
        _change(db, world, rid, "cleo", reissue, at(0, 11))


# ---- over HTTP -------------------------------------------------------------------------------


def test_the_api_names_the_field_and_answers_409_when_ended(
    db: Database, world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    reissue = _reissue(db, world)
    asha, dan = (live_server.client(tokens[h]) for h in ("asha", "dan"))
    rid = _open(db, world, world.services["correct_policy"])

    unknown = dan.post(f"/requests/{rid}/service", json={"service_id": 999_999, "reason": "x"})
    assert (unknown.status_code, unknown.headers["content-type"]) == (404, PROBLEM)
    assert unknown.json()["field"] == "service_id"
    same = dan.post(
        f"/requests/{rid}/service",
        json={"service_id": world.services["correct_policy"], "reason": "x"},
    )
    assert (same.status_code, same.json()["field"]) == (422, "service_id")
    no_reason = dan.post(f"/requests/{rid}/service", json={"service_id": reissue, "reason": ""})
    assert no_reason.status_code == 422
    assert no_reason.headers["content-type"] == PROBLEM
    not_theirs = asha.post(f"/requests/{rid}/service", json={"service_id": reissue, "reason": "x"})
    assert not_theirs.status_code == 403

    done = dan.post(
        f"/requests/{rid}/service", json={"service_id": reissue, "reason": "It is a reissue"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["service_id"] == reissue
    events = asha.get(f"/requests/{rid}/events").json()
    assert [(e["kind"], e["payload"]["to_service_id"]) for e in events[-1:]] == [
        ("recategorised", reissue)
    ]

    assert asha.post(f"/requests/{rid}/withdraw", json={"reason": "sorted"}).status_code == 200
    ended = dan.post(
        f"/requests/{rid}/service",
        json={"service_id": world.services["correct_policy"], "reason": "back"},
    )
    assert (ended.status_code, ended.headers["content-type"]) == (409, PROBLEM)
    assert ended.json()["field"] == "state"


def test_the_request_page_offers_the_form_and_shows_the_change(
    db: Database, world: World, live_server: LiveServer
) -> None:
    reissue = _reissue(db, world)
    rid = _open(db, world, world.services["correct_policy"])
    cleo, asha = Visitor(live_server.base_url), Visitor(live_server.base_url)
    try:
        assert cleo.sign_in("cleo").status_code == 303
        assert asha.sign_in("asha").status_code == 303
        assert "File under another service" not in asha.get(f"/requests/{rid}").text
        page = cleo.get(f"/requests/{rid}").text
        assert "File under another service" in page
        assert f'<option value="{reissue}"' in page
        # The service it is on now is not offered.
        assert f'<option value="{world.services["correct_policy"]}"' not in page

        version = _row(db, rid).version
        blank = cleo.post(
            f"/requests/{rid}/service",
            {"service_id": "", "reason": "It is a reissue", "version": version},
        )
        assert blank.status_code == 422
        assert 'id="service-id-error"' in blank.text
        assert "It is a reissue" in blank.text  # what was typed is kept

        moved = cleo.post(
            f"/requests/{rid}/service",
            {"service_id": str(reissue), "reason": "It is a reissue", "version": version},
        )
        assert moved.status_code == 303, moved.text
        shown = cleo.get(moved.headers["location"]).text
        assert "Filed under the new service." in shown
        assert (
            "Cleo Clerk filed it under Reissue a policy (it was Correct a policy document)" in shown
        )
    finally:
        cleo.close()
        asha.close()


def test_home_says_the_state_of_my_requests_as_the_request_page_does(
    db: Database, world: World, live_server: LiveServer
) -> None:
    rid = _open(db, world, world.services["correct_policy"])
    _accept_intake(db, world, rid)
    with db.unit_of_work() as session:
        service.ask_clarification(session, world.actor(session, "cleo"), rid, "Which?", T0)
    asha = Visitor(live_server.base_url)
    try:
        assert asha.sign_in("asha").status_code == 303
        home = asha.get("/").text
        # The badge's words, not "Needs clarification · Clarification".
        assert "Cleo Clerk (Policy Admin) · needs clarification</span>" in home
        assert "· clarification" not in home.lower()
    finally:
        asha.close()
