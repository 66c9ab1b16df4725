"""The admin's mail addresses page and API over real HTTP, on SQLite and PostgreSQL: a service's
tag and own address set, a bouncing address marked fixed, each audited as an event; bad input
named by field; nobody but an admin may look or change."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.mail import inbound
from followthrough.mail.inbound_models import BouncingAddress, ServiceMailAddress
from followthrough.notify.models import Notification, OutboxMessage
from tests.conftest import T0, Clock, LiveServer, serving
from tests.factories import World
from tests.web.pages import Visitor


@pytest.fixture
def server(db: Database, world: World, clock: Clock) -> Iterator[LiveServer]:
    # The desk's own address, as the settings name it.
    with serving(db, clock, mail_inbound_address="desk@example.com") as live:
        yield live


@pytest.fixture
def ada(server: LiveServer) -> Iterator[Visitor]:
    visitor = Visitor(server.base_url)
    assert visitor.sign_in("ada").status_code == 303
    yield visitor
    visitor.close()


@dataclass(frozen=True)
class Audited:
    actor_id: int | None
    team_id: int | None
    person_id: int | None
    payload: dict[str, object]


def _events(db: Database, kind: str) -> list[Audited]:
    with db.unit_of_work(readonly=True) as session:
        return [
            Audited(e.actor_id, e.team_id, e.person_id, dict(e.payload or {}))
            for e in session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id))
        ]


def _bounced(db: Database, address: str) -> None:
    """Mail to the address came back undelivered (as mail in records it)."""
    with db.unit_of_work() as session:
        session.add(
            BouncingAddress(
                address=address, first_bounced_at=T0, last_bounced_at=T0 + timedelta(hours=2)
            )
        )


def test_an_admin_sets_a_services_addresses_and_it_is_audited(
    db: Database, world: World, ada: Visitor
) -> None:
    service_id = world.services["correct_policy"]
    page = ada.get("/admin/mail")
    assert page.status_code == 200
    assert "Correct a policy document" in page.text
    assert 'href="/admin/mail"' in ada.get("/admin").text

    saved = ada.post(
        f"/admin/mail/services/{service_id}", {"slug": "policy", "address": "Policy@Example.com"}
    )
    assert saved.status_code == 303
    with db.unit_of_work(readonly=True) as session:
        row = session.get(ServiceMailAddress, service_id)
        assert row is not None
        assert (row.slug, row.address) == ("policy", "policy@example.com")
    [event] = _events(db, "service_mail_address_set")
    assert event.actor_id == world.people["ada"]
    assert event.team_id == world.teams["admin"]
    assert event.payload == {
        "service_id": service_id,
        "slug": "policy",
        "address": "policy@example.com",
        "before": "no mail address",
    }
    shown = ada.get("/admin/mail").text
    assert "desk+s-policy@example.com" in shown
    assert "policy@example.com" in shown
    assert "mail reaches it at tag policy" in ada.get("/admin").text

    # The same again changes nothing and records nothing.
    ada.post(
        f"/admin/mail/services/{service_id}", {"slug": "policy", "address": "policy@example.com"}
    )
    assert len(_events(db, "service_mail_address_set")) == 1

    # A tag with a space, and a tag another service has, are refused by name.
    bad = ada.post(f"/admin/mail/services/{service_id}", {"slug": "two words"})
    assert bad.status_code == 422
    assert "Tag" in bad.text
    taken = ada.post(f"/admin/mail/services/{world.services['claim_review']}", {"slug": "policy"})
    assert taken.status_code == 422
    assert "already has that" in taken.text
    assert len(_events(db, "service_mail_address_set")) == 1


def test_an_admin_marks_a_bouncing_address_fixed_and_it_is_audited(
    db: Database, world: World, ada: Visitor
) -> None:
    _bounced(db, "asha@example.com")
    page = ada.get("/admin/mail")
    assert "asha@example.com" in page.text
    assert "Asha Assessor" in page.text

    fixed = ada.post("/admin/mail/bouncing", {"address": "asha@example.com"})
    assert fixed.status_code == 303
    with db.unit_of_work(readonly=True) as session:
        assert inbound.bouncing_addresses(session, ("asha@example.com",)) == set()
    [event] = _events(db, "mail_address_fixed")
    assert (event.actor_id, event.person_id) == (world.people["ada"], world.people["asha"])
    assert event.payload == {"address": "asha@example.com"}
    assert "No address bounces" in ada.get("/admin/mail").text
    assert "Mail to asha@example.com (Asha Assessor) marked fixed" in ada.get("/admin").text
    # Fixing it again: there is nothing to fix.
    again = ada.post("/admin/mail/bouncing", {"address": "asha@example.com"})
    assert again.status_code == 422
    assert len(_events(db, "mail_address_fixed")) == 1


def test_nobody_but_an_admin_sees_or_changes_mail_addresses(
    db: Database, world: World, server: LiveServer, tokens: dict[str, str]
) -> None:
    _bounced(db, "asha@example.com")
    lee = Visitor(server.base_url)
    assert lee.sign_in("lee").status_code == 303
    assert lee.get("/admin/mail").status_code in (403, 404)
    service_id = world.services["correct_policy"]
    assert lee.post(f"/admin/mail/services/{service_id}", {"slug": "x"}).status_code in (403, 404)
    assert lee.post("/admin/mail/bouncing", {"address": "asha@example.com"}).status_code in (
        403,
        404,
    )
    lee.close()
    api = server.client(tokens["lee"])
    assert api.get("/admin/mail/bouncing").status_code == 403
    assert api.put(f"/admin/mail/services/{service_id}", json={"slug": "x"}).status_code == 403
    with db.unit_of_work(readonly=True) as session:
        assert session.get(ServiceMailAddress, service_id) is None
        assert inbound.bouncing_addresses(session, ("asha@example.com",)) == {"asha@example.com"}


def test_the_api_sets_lists_and_fixes_with_problems_naming_the_field(
    db: Database, world: World, server: LiveServer, tokens: dict[str, str]
) -> None:
    api = server.client(tokens["ada"])
    service_id = world.services["correct_policy"]
    put = api.put(f"/admin/mail/services/{service_id}", json={"slug": "policy"})
    assert put.status_code == 200
    assert put.json()["tagged"] == "desk+s-policy@example.com"
    listed = {s["service_id"]: s for s in api.get("/admin/mail/services").json()}
    assert listed[service_id]["slug"] == "policy"
    assert listed[world.services["claim_review"]]["slug"] is None

    bad = api.put(f"/admin/mail/services/{service_id}", json={"slug": "two words"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "slug" in bad.text

    _bounced(db, "asha@example.com")
    [listed_bounce] = api.get("/admin/mail/bouncing").json()
    assert listed_bounce["address"] == "asha@example.com"
    assert listed_bounce["person_name"] == "Asha Assessor"
    assert (
        api.post("/admin/mail/bouncing/fixed", json={"address": "asha@example.com"}).status_code
        == 204
    )
    assert api.get("/admin/mail/bouncing").json() == []
    unknown = api.post("/admin/mail/bouncing/fixed", json={"address": "nobody@example.com"})
    assert unknown.status_code == 422
    assert "address" in unknown.text
    assert len(_events(db, "service_mail_address_set")) == 1
    assert len(_events(db, "mail_address_fixed")) == 1


def _failed_mail(db: Database, world: World, why: str) -> int:
    """A notification whose mail the server refused for good (as the sender records it)."""
    with db.unit_of_work() as session:
        note = Notification(
            person_id=world.people["asha"], kind="update_posted", message="An update", created_at=T0
        )
        session.add(note)
        session.flush()
        row = OutboxMessage(
            notification_id=note.id,
            channel="email",
            state="failed",
            attempts=5,
            created_at=T0,
            message_id="<n1@desk.test>",
            last_error=why,
        )
        session.add(row)
        session.flush()
        return row.id


def test_an_admin_sees_failed_mail_and_sends_it_again_audited(
    db: Database, world: World, ada: Visitor, server: LiveServer, tokens: dict[str, str]
) -> None:
    outbox_id = _failed_mail(db, world, "550 5.1.1 mailbox unavailable")
    page = ada.get("/admin/mail").text
    assert "1 failed" in page
    assert "550 5.1.1 mailbox unavailable" in page
    assert "Asha Assessor" in page

    api = server.client(tokens["ada"])
    listed = api.get("/admin/mail/outbox").json()
    assert listed["counts"] == {"failed": 1}
    assert [f["outbox_id"] for f in listed["failed"]] == [outbox_id]

    again = ada.post("/admin/mail/outbox", {})
    assert again.status_code == 303
    with db.unit_of_work(readonly=True) as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        # Back to be sent with fresh tries, under the Message-ID it already had.
        assert (row.state, row.attempts, row.message_id) == ("pending", 0, "<n1@desk.test>")
    [event] = _events(db, "mail_sent_again")
    assert (event.actor_id, event.payload) == (world.people["ada"], {"messages": 1})
    assert "No mail has failed" in ada.get("/admin/mail").text
    assert "1 failed message sent again" in ada.get("/admin").text
    # Nothing failed: nothing to send, nothing recorded.
    assert api.post("/admin/mail/outbox/send-again").json() == {"messages": 0}
    assert len(_events(db, "mail_sent_again")) == 1

    lee = server.client(tokens["lee"])
    assert lee.get("/admin/mail/outbox").status_code == 403
    assert lee.post("/admin/mail/outbox/send-again").status_code == 403


def test_the_command_line_sends_failed_mail_again_audited_with_no_person(
    db: Database, world: World
) -> None:
    from typer.testing import CliRunner

    from followthrough.cli import app

    outbox_id = _failed_mail(db, world, "421 try later, for the fifth time")
    result = CliRunner().invoke(app, ["mail", "send-failed-again", "--database-url", db.url])
    assert result.exit_code == 0, result.output
    assert "1 failed message put back to be sent" in result.output
    with db.unit_of_work(readonly=True) as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        assert (row.state, row.attempts) == ("pending", 0)
    [event] = _events(db, "mail_sent_again")
    assert (event.actor_id, event.payload) == (None, {"messages": 1})
