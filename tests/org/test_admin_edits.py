"""An admin adds to and edits the organisation over the API and the pages: departments, teams,
people and services added; service targets, team calendars and holidays,
membership, deactivating and reactivating people, and new-password links. Only admins may;
every edit is audited as an event, in the same transaction as the edit (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.notify.models import Notification
from followthrough.org.models import Holiday, Membership, Person, Service, Team
from followthrough.requests import service as requests
from followthrough.requests.models import Offer, Request
from followthrough.requests.service import NewRequest
from tests.conftest import Clock, LiveServer, issue_tokens
from tests.factories import PASSWORD, World
from tests.web.pages import Visitor

D = "\N{EN DASH}"  # as a person writes a range of days or hours


def _events(db: Database, kind: str) -> list[Event]:
    with db.unit_of_work(readonly=True) as session:
        rows = list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))
        session.expunge_all()
        return rows


def _pages(live: LiveServer) -> httpx.Client:
    """A browser-like client for the pages (closed with the server's clients)."""
    client = httpx.Client(base_url=live.base_url, timeout=30)
    live.clients.append(client)
    return client


def _event_count(db: Database) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


@pytest.fixture
def api(db: Database, world: World, clock: Clock, live_server: LiveServer) -> dict[str, Any]:
    tokens = issue_tokens(db, world, clock)
    clients: dict[str, Any] = {h: live_server.client(t) for h, t in tokens.items()}
    clients[""] = live_server.client()
    return clients


def _edits(world: World) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every admin edit, as (method, path, body), each valid for an admin."""
    admin_team, claims = world.teams["admin"], world.teams["claims"]
    department = world.departments["Policy Administration"]
    return [
        ("POST", "/departments", {"name": "Finance"}),
        ("POST", "/teams", {"department_id": department, "name": "Reinsurance"}),
        ("POST", "/people", {"handle": "nia", "name": "Nia Okoro", "email": "nia@example.com"}),
        ("POST", "/services", {"team_id": admin_team, "name": "Change a payee"}),
        ("PATCH", f"/services/{world.services['correct_policy']}", {"resolve_target_hours": 8}),
        ("PATCH", f"/teams/{claims}", {"timezone": "Asia/Kolkata", "day_end": "17:30"}),
        ("POST", f"/teams/{claims}/holidays", {"day": "2026-12-25", "name": "Christmas Day"}),
        ("DELETE", f"/teams/{claims}/holidays/2026-12-25", None),
        ("POST", f"/teams/{admin_team}/members", {"person_id": world.people["otto"]}),
        ("DELETE", f"/teams/{admin_team}/members/{world.people['otto']}", None),
        ("POST", f"/people/{world.people['cleo']}/deactivate", None),
        ("POST", f"/people/{world.people['cleo']}/reactivate", None),
        ("POST", f"/people/{world.people['asha']}/password-reset", None),
        ("GET", "/audit", None),
    ]


def _send(client: httpx.Client, method: str, path: str, body: dict[str, Any] | None) -> int:
    return (
        client.request(method, path, json=body).status_code
        if body
        else client.request(method, path).status_code
    )


def test_only_an_admin_may_edit_and_a_refusal_changes_and_records_nothing(
    db: Database, world: World, api: dict[str, Any]
) -> None:
    # Who may, written out: the admin yes; a lead, a member and someone anonymous no.
    expected = {"ada": "yes", "lee": 403, "cleo": 403, "asha": 403, "": 401}
    before = _event_count(db)
    for method, path, body in _edits(world):
        for handle in ("lee", "cleo", "asha", ""):
            status = _send(api[handle], method, path, body)
            assert status == expected[handle], (handle, method, path, status)
    assert _event_count(db) == before
    for method, path, body in _edits(world):
        status = _send(api["ada"], method, path, body)
        assert status in (200, 201), (method, path, status)
    # Thirteen audited changes (four adds, nine edits); the audit list itself writes nothing.
    assert _event_count(db) == before + 13


def test_service_targets_change_within_the_bounds_and_are_audited(
    db: Database, world: World, clock: Clock, api: dict[str, Any]
) -> None:
    admin = api["ada"]
    path = f"/services/{world.services['correct_policy']}"
    changed = admin.patch(path, json={"resolve_target_hours": 8, "auto_close_days": 7})
    assert changed.status_code == 200, changed.text
    # Sent targets change; the others keep the values the factory gave them (2 h, 4 h).
    assert {k: changed.json()[k] for k in ("accept_target_hours", "update_every_hours")} == {
        "accept_target_hours": 2.0,
        "update_every_hours": 4.0,
    }
    assert (changed.json()["resolve_target_hours"], changed.json()["auto_close_days"]) == (8.0, 7)
    for body, field in (
        ({"accept_target_hours": 0}, "accept_target_hours"),
        ({"update_every_hours": -1}, "update_every_hours"),
        ({"resolve_target_hours": 10_000_000}, "resolve_target_hours"),
        ({"auto_close_days": 0}, "auto_close_days"),
        ({"auto_close_days": 1.5}, "auto_close_days"),
        ({"colour": "red"}, "colour"),
    ):
        refused = admin.patch(path, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["field"] == field
    assert admin.patch("/services/999999", json={"resolve_target_hours": 8}).status_code == 404
    (event,) = _events(db, "service_changed")
    assert event.actor_id == world.people["ada"]
    assert event.team_id == world.teams["admin"]
    assert event.request_id is None
    assert event.payload == {
        "service_id": world.services["correct_policy"],
        "resolve_target_hours": 8.0,
        "auto_close_days": 7,
        "summary": "Resolve within: 16 h → 8 h; Auto-close after: 3 days → 7 days",
    }
    # A request opened from now on is due 8 business hours after opening: Monday 09:00 UTC in
    # Policy Admin's 09:00-17:00 UTC week is due at Monday 17:00.
    with db.unit_of_work() as session:
        new = NewRequest(title="t", need="n", service_id=world.services["correct_policy"])
        opened = requests.open_request(session, world.actor(session, "asha"), new, clock.now)
        assert opened.resolve_due_at == clock.now.replace(hour=17)


def test_a_team_calendar_is_edited_shown_in_words_and_audited(
    db: Database, world: World, api: dict[str, Any]
) -> None:
    admin = api["ada"]
    path = f"/teams/{world.teams['claims']}"
    changed = admin.patch(
        path,
        json={
            "timezone": "Asia/Kolkata",
            "day_start": "09:30",
            "day_end": "18:00",
            "working_days": "123456",
        },
    )
    assert changed.status_code == 200, changed.text
    team = changed.json()
    assert (team["timezone"], team["day_start"], team["day_end"], team["working_days"]) == (
        "Asia/Kolkata",
        "09:30",
        "18:00",
        "123456",
    )
    assert team["hours"] == f"Mon{D}Sat 09:30{D}18:00"
    # Only the sent fields change: the lead is still Carl.
    assert team["lead_id"] == world.people["carl"]
    for body, field in (
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"day_start": "18:00", "day_end": "09:00"}, "day_end"),
        ({"day_start": "25:00"}, "day_start"),
        ({"working_days": "0"}, "working_days"),
        ({"working_days": ""}, "working_days"),
    ):
        refused = admin.patch(path, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["field"] == field, (body, refused.json())
    (event,) = _events(db, "team_calendar_changed")
    assert event.team_id == world.teams["claims"]
    assert (
        event.payload["summary"]
        == f"Mon{D}Fri 09:00{D}17:00 (UTC) → Mon{D}Sat 09:30{D}18:00 (Asia/Kolkata)"
    )
    with db.unit_of_work(readonly=True) as session:
        row = session.get(Team, world.teams["claims"])
        assert row is not None
        assert (row.day_start_minute, row.day_end_minute) == (570, 1080)


def test_holidays_are_added_and_removed_with_events(
    db: Database, world: World, api: dict[str, Any]
) -> None:
    admin = api["ada"]
    team = world.teams["claims"]
    added = admin.post(f"/teams/{team}/holidays", json={"day": "2026-12-25", "name": "Christmas"})
    assert added.status_code == 201, added.text
    assert added.json()["holiday_names"] == {"2026-12-25": "Christmas"}
    removed = admin.delete(f"/teams/{team}/holidays/2026-12-25")
    assert removed.status_code == 200, removed.text
    assert removed.json()["holidays"] == []
    missing = admin.delete(f"/teams/{team}/holidays/2026-12-26")
    assert missing.status_code == 404
    assert missing.json()["field"] == "day"
    assert admin.delete(f"/teams/{team}/holidays/not-a-day").status_code == 422
    kinds = [
        (e.kind, e.payload) for e in _events(db, "holiday_added") + _events(db, "holiday_removed")
    ]
    assert kinds == [
        ("holiday_added", {"day": "2026-12-25", "name": "Christmas"}),
        ("holiday_removed", {"day": "2026-12-25", "name": "Christmas"}),
    ]
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Holiday)) == 0


def test_members_are_removed_but_not_a_lead_or_duty_owner_until_replaced(
    db: Database, world: World, api: dict[str, Any]
) -> None:
    admin = api["ada"]
    team = world.teams["admin"]
    removed = admin.delete(f"/teams/{team}/members/{world.people['cleo']}")
    assert removed.status_code == 200, removed.text
    assert world.people["cleo"] not in removed.json()["member_ids"]
    duty = admin.delete(f"/teams/{team}/members/{world.people['dan']}")
    assert duty.status_code == 409
    assert duty.json()["field"] == "person_id"
    assert "duty owner" in duty.json()["detail"]
    assert admin.delete(f"/teams/{team}/members/{world.people['otto']}").status_code == 404
    # Replacing the duty owner first: then Dan can go.
    assert admin.patch(f"/teams/{team}", json={"duty_owner_id": world.people["lee"]}).is_success
    assert admin.delete(f"/teams/{team}/members/{world.people['dan']}").status_code == 200
    removed_events = _events(db, "member_removed")
    assert [(e.team_id, e.person_id) for e in removed_events] == [
        (team, world.people["cleo"]),
        (team, world.people["dan"]),
    ]
    (roles,) = _events(db, "team_roles_changed")
    assert roles.payload["summary"] == "Duty owner: Dan Duty → Lee Lead"
    with db.unit_of_work(readonly=True) as session:
        assert session.get(Membership, (team, world.people["cleo"])) is None


def _open_and_give_to_cleo(db: Database, world: World, clock: Clock) -> tuple[int, int, int]:
    """A request Cleo owns, and one offered to her (still open): (owned, offered, offer id)."""
    with db.unit_of_work() as session:
        asha = world.actor(session, "asha")
        new = NewRequest(
            title="Owned by Cleo", need="n", service_id=world.services["correct_policy"]
        )
        owned = requests.open_request(session, asha, new, clock.now)
        intake = session.scalar(select(Offer.id).where(Offer.request_id == owned.id))
        assert intake is not None
        requests.accept_offer(session, world.actor(session, "cleo"), owned.id, intake, clock.now)
        other = NewRequest(
            title="Offered to Cleo", need="n", service_id=world.services["correct_policy"]
        )
        offered = requests.open_request(session, asha, other, clock.now)
        requests.offer_request(
            session,
            world.actor(session, "dan"),
            offered.id,
            world.teams["admin"],
            world.people["cleo"],
            "for you",
            clock.now,
        )
        offer = session.scalar(
            select(Offer.id).where(Offer.request_id == offered.id, Offer.state == "open")
        )
        assert offer is not None
        return owned.id, offered.id, offer


def test_deactivating_a_person_hands_their_work_on_and_stops_their_sign_in(
    db: Database, world: World, clock: Clock, api: dict[str, Any], live_server: LiveServer
) -> None:
    owned, offered, offer_id = _open_and_give_to_cleo(db, world, clock)
    cleo_signs_in = {"handle": "cleo", "password": PASSWORD}
    assert api[""].post("/session", json=cleo_signs_in).status_code == 200
    clock.advance(minutes=5)
    done = api["ada"].post(f"/people/{world.people['cleo']}/deactivate")
    assert done.status_code == 200, done.text
    # Her request goes to Policy Admin's duty owner, Dan; the offer to her is withdrawn.
    assert done.json()["handed_on"] == {str(owned): world.people["dan"]}
    assert done.json()["offers_withdrawn"] == [offer_id]
    assert done.json()["person"]["active"] is False
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, owned)
        assert request is not None
        assert request.owner_id == world.people["dan"]
        offer = session.get(Offer, offer_id)
        assert offer is not None
        assert offer.state == "withdrawn"
        reassigned = session.scalars(
            select(Event).where(Event.request_id == owned, Event.kind == "owner_reassigned")
        ).one()
        assert (reassigned.actor_id, reassigned.person_id) == (
            world.people["ada"],
            world.people["dan"],
        )
        assert reassigned.payload == {
            "previous_owner_id": world.people["cleo"],
            "reason": "Cleo Clerk no longer works here",
        }
        assert reassigned.at == clock.now
        notices = set(
            session.execute(
                select(Notification.person_id, Notification.kind, Notification.request_id).where(
                    Notification.request_id.in_([owned, offered]),
                    Notification.kind.in_(["reassigned", "offer_declined"]),
                )
            ).all()
        )
        assert notices == {
            (world.people["dan"], "reassigned", owned),
            (world.people["dan"], "offer_declined", offered),
        }
        # The intake offer was withdrawn when Dan offered it on; then the offer to Cleo.
        withdrawn = session.scalars(
            select(Event)
            .where(Event.request_id == offered, Event.kind == "withdrawn")
            .order_by(Event.id)
        ).all()
        assert withdrawn[-1].payload == {"offer_id": offer_id}
        assert withdrawn[-1].actor_id == world.people["ada"]
    # The request's timeline says who moved it, from whom, to whom and why.
    dan = Visitor(live_server.base_url)
    live_server.clients.append(dan.http)
    assert dan.sign_in("dan").status_code == 303
    timeline = dan.get(f"/requests/{owned}")
    assert timeline.status_code == 200
    assert (
        "Ada Admin moved it from Cleo Clerk to Dan Duty — Cleo Clerk no longer works here"
        in timeline.text
    )
    (audit,) = _events(db, "person_deactivated")
    assert audit.payload == {"handed_on": [owned], "offers_withdrawn": [offer_id]}
    assert audit.person_id == world.people["cleo"]
    # She can no longer sign in, her token stops working, and she is offered no more work.
    assert api[""].post("/session", json=cleo_signs_in).status_code == 401
    assert api["cleo"].get("/me").status_code == 401
    refused = api["dan"].post(
        f"/requests/{offered}/offers",
        json={"to_team_id": world.teams["admin"], "to_person_id": world.people["cleo"]},
    )
    assert refused.status_code == 404
    assert refused.json()["field"] == "to_person_id"
    # Back again: she may sign in, with her old token still revoked.
    assert api["ada"].post(f"/people/{world.people['cleo']}/reactivate").status_code == 200
    assert api[""].post("/session", json=cleo_signs_in).status_code == 200
    assert api["cleo"].get("/me").status_code == 401
    assert len(_events(db, "person_reactivated")) == 1
    assert api["ada"].post(f"/people/{world.people['cleo']}/reactivate").status_code == 409


def test_deactivating_a_duty_owner_clears_the_role_and_the_lead_takes_the_work(
    db: Database, world: World, clock: Clock, api: dict[str, Any]
) -> None:
    with db.unit_of_work() as session:
        new = NewRequest(title="New", need="n", service_id=world.services["correct_policy"])
        opened = requests.open_request(session, world.actor(session, "asha"), new, clock.now)
        assert opened.owner_id == world.people["dan"]
        rid = opened.id
    done = api["ada"].post(f"/people/{world.people['dan']}/deactivate")
    assert done.status_code == 200, done.text
    assert done.json()["handed_on"] == {str(rid): world.people["lee"]}
    with db.unit_of_work(readonly=True) as session:
        team = session.get(Team, world.teams["admin"])
        assert team is not None
        assert (team.lead_id, team.duty_owner_id) == (world.people["lee"], None)
    (roles,) = _events(db, "team_roles_changed")
    assert roles.payload["summary"] == "Duty owner: Dan Duty → nobody"
    # The person list leaves him out, unless an admin asks for everyone.
    handles = {p["handle"] for p in api["asha"].get("/people").json()}
    assert "dan" not in handles
    everyone = api["ada"].get("/people", params={"include_inactive": "true"}).json()
    assert {p["handle"]: p["active"] for p in everyone}["dan"] is False
    asked = api["asha"].get("/people", params={"include_inactive": "true"}).json()
    assert "dan" not in {p["handle"] for p in asked}


def test_deactivation_is_refused_for_oneself_and_the_only_accountable_person(
    db: Database, world: World, api: dict[str, Any]
) -> None:
    before = _event_count(db)
    self_ = api["ada"].post(f"/people/{world.people['ada']}/deactivate")
    assert self_.status_code == 409
    assert self_.json()["field"] == "person_id"
    # Hana leads HR, which has no duty owner: nobody would be accountable for new grievances.
    only = api["ada"].post(f"/people/{world.people['hana']}/deactivate")
    assert only.status_code == 409
    assert "HR" in only.json()["detail"]
    assert api["ada"].post("/people/999999/deactivate").status_code == 404
    assert _event_count(db) == before
    with db.unit_of_work(readonly=True) as session:
        hana = session.get(Person, world.people["hana"])
        assert hana is not None
        assert hana.active


def test_a_new_password_link_works_once_and_the_admin_never_sees_the_password(
    db: Database, world: World, clock: Clock, api: dict[str, Any], live_server: LiveServer
) -> None:
    made = api["ada"].post(f"/people/{world.people['asha']}/password-reset")
    assert made.status_code == 201, made.text
    link = urlsplit(made.json()["reset_url"])
    assert link.path == "/password-reset"
    pages = _pages(live_server)
    page = pages.get(f"{link.path}?{link.query}")
    assert page.status_code == 200
    assert "Choose a new password" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    token = dict(p.split("=", 1) for p in link.query.split("&"))["token"]
    mismatch = pages.post(
        "/password-reset", data={"token": token, "password": "a new secret 1", "repeat": "other"}
    )
    assert mismatch.status_code == 422
    assert "The two passwords are not the same." in mismatch.text
    short = pages.post(
        "/password-reset", data={"token": token, "password": "short", "repeat": "short"}
    )
    assert short.status_code == 422
    assert "at least 8 characters" in short.text
    done = pages.post(
        "/password-reset",
        data={"token": token, "password": "a new secret 1", "repeat": "a new secret 1"},
    )
    assert done.status_code == 200, done.text
    assert "Your new password is set" in done.text
    anonymous = api[""]
    assert (
        anonymous.post("/session", json={"handle": "asha", "password": PASSWORD}).status_code == 401
    )
    assert (
        anonymous.post(
            "/session", json={"handle": "asha", "password": "a new secret 1"}
        ).status_code
        == 200
    )
    # Used up: the link no longer works, and a forged token never did.
    again = pages.post(
        "/password-reset",
        data={"token": token, "password": "third secret", "repeat": "third secret"},
    )
    assert again.status_code == 404
    assert "expired or was already used" in again.text
    assert pages.get("/password-reset", params={"token": "forged"}).status_code == 404
    issued, changed = _events(db, "password_reset_issued"), _events(db, "password_changed")
    assert [(e.actor_id, e.person_id) for e in issued] == [
        (world.people["ada"], world.people["asha"])
    ]
    assert [(e.actor_id, e.person_id) for e in changed] == [
        (world.people["asha"], world.people["asha"])
    ]
    # The secret is in no event.
    assert token not in str(issued[0].payload)


def test_a_newer_link_replaces_the_older_and_a_link_expires_after_a_day(
    db: Database, world: World, clock: Clock, api: dict[str, Any], live_server: LiveServer
) -> None:
    def token_of(response: httpx.Response) -> str:
        return response.json()["reset_url"].split("token=", 1)[1]

    first = token_of(api["ada"].post(f"/people/{world.people['asha']}/password-reset"))
    second = token_of(api["ada"].post(f"/people/{world.people['asha']}/password-reset"))
    pages = _pages(live_server)
    assert pages.get("/password-reset", params={"token": first}).status_code == 404
    assert pages.get("/password-reset", params={"token": second}).status_code == 200
    clock.advance(hours=24)
    assert pages.get("/password-reset", params={"token": second}).status_code == 404


def test_the_audit_list_names_who_changed_what_newest_first(
    db: Database, world: World, api: dict[str, Any]
) -> None:
    admin = api["ada"]
    admin.post(f"/teams/{world.teams['claims']}/holidays", json={"day": "2026-12-25"})
    admin.patch(f"/services/{world.services['claim_review']}", json={"accept_target_hours": 1})
    listed = admin.get("/audit", params={"limit": 10})
    assert listed.status_code == 200
    assert [e["kind"] for e in listed.json()] == ["service_changed", "holiday_added"]
    assert {e["actor_id"] for e in listed.json()} == {world.people["ada"]}
    assert admin.get("/audit", params={"limit": 0}).status_code == 422
    with db.unit_of_work(readonly=True) as session:
        service = session.get(Service, world.services["claim_review"])
        assert service is not None
        assert service.accept_target_hours == 1.0


def test_every_add_is_audited_with_what_was_added_and_a_refused_add_writes_nothing(
    db: Database, world: World, api: dict[str, Any], live_server: LiveServer
) -> None:
    admin, ada = api["ada"], world.people["ada"]
    department = admin.post("/departments", json={"name": "Finance"})
    assert department.status_code == 201, department.text
    team = admin.post(
        "/teams",
        json={
            "department_id": department.json()["id"],
            "name": "Payables",
            "timezone": "Asia/Kolkata",
            "day_start": "09:30",
            "day_end": "18:00",
            "lead_id": world.people["lee"],
        },
    )
    assert team.status_code == 201, team.text
    person = admin.post(
        "/people",
        json={
            "handle": "nia",
            "name": "Nia Okoro",
            "email": "nia@example.com",
            "password": "a long secret 9",
        },
    )
    assert person.status_code == 201, person.text
    added_service = admin.post(
        "/services",
        json={
            "team_id": team.json()["id"],
            "name": "Pay a supplier",
            "accept_target_hours": 2,
            "update_every_hours": 4,
            "resolve_target_hours": 16,
            "auto_close_days": 3,
        },
    )
    assert added_service.status_code == 201, added_service.text

    (d,) = _events(db, "department_added")
    assert (d.actor_id, d.payload) == (
        ada,
        {"department_id": department.json()["id"], "name": "Finance"},
    )
    (t,) = _events(db, "team_added")
    assert (t.actor_id, t.team_id) == (ada, team.json()["id"])
    assert t.payload["name"] == "Payables"
    assert t.payload["summary"] == f"Mon{D}Fri 09:30{D}18:00 (Asia/Kolkata); lead Lee Lead"
    (p,) = _events(db, "person_added")
    assert (p.actor_id, p.person_id) == (ada, person.json()["id"])
    assert p.payload == {"handle": "nia", "name": "Nia Okoro", "may_sign_in": True}
    with db.unit_of_work(readonly=True) as session:
        stored = session.get(Person, person.json()["id"])
        assert stored is not None
        assert stored.password_hash is not None
        assert stored.password_hash not in str(p.payload)
    (sv,) = _events(db, "service_added")
    assert (sv.actor_id, sv.team_id) == (ada, team.json()["id"])
    assert sv.payload == {
        "service_id": added_service.json()["id"],
        "name": "Pay a supplier",
        "summary": "Accept within: 2 h; Update every: 4 h; Resolve within: 16 h; "
        "Auto-close after: 3 days",
    }

    # Refused adds (a name taken, a bad zone) leave neither a row nor an event.
    before = _event_count(db)
    assert admin.post("/departments", json={"name": "Finance"}).status_code == 409
    taken = {"department_id": department.json()["id"], "name": "Payables"}
    assert admin.post("/teams", json=taken).status_code == 409
    bad_zone = {"department_id": department.json()["id"], "name": "X", "timezone": "Mars/Olympus"}
    assert admin.post("/teams", json=bad_zone).status_code == 422
    nia_again = {"handle": "nia", "name": "Nia", "email": "other@example.com"}
    assert admin.post("/people", json=nia_again).status_code == 409
    assert _event_count(db) == before
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Team).where(Team.name == "X")) == 0

    # The admin page's "Recent changes" says each add in words.
    visitor = Visitor(live_server.base_url)
    live_server.clients.append(visitor.http)
    assert visitor.sign_in("ada").status_code == 303
    made = visitor.post(
        "/admin/people", {"handle": "omar", "name": "Omar Haddad", "email": "omar@example.com"}
    )
    assert made.status_code == 303, made.text
    (omar,) = [e for e in _events(db, "person_added") if e.payload["handle"] == "omar"]
    assert omar.actor_id == ada
    page = visitor.get("/admin").text
    assert "Omar Haddad (omar) added, without a password yet" in page
    assert "Department added: Finance" in page
    assert f"Team added: Payables — Mon{D}Fri 09:30{D}18:00 (Asia/Kolkata); lead Lee Lead" in page
    assert "Service added for Payables: Pay a supplier — Accept within: 2 h" in page
