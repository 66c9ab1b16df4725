"""`followthrough mail service-address`, `address-fixed` and `poll`: set-up and mistakes."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from followthrough.cli import app
from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.mail import inbound
from followthrough.mail.inbound_models import BouncingAddress, ServiceMailAddress
from tests.conftest import T0
from tests.factories import World

runner = CliRunner()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, db: Database) -> pytest.MonkeyPatch:
    monkeypatch.setenv("FOLLOWTHROUGH_DATABASE_URL", db.url)
    monkeypatch.setenv("FOLLOWTHROUGH_MAIL_INBOUND_ADDRESS", "desk@example.com")
    return monkeypatch


def test_a_service_gets_its_addresses_and_a_taken_slug_is_refused(
    db: Database, world: World, environment: pytest.MonkeyPatch
) -> None:
    fix = world.services["correct_policy"]
    result = runner.invoke(
        app,
        [
            "mail",
            "service-address",
            str(fix),
            "--slug",
            "Policy-Fix",
            "--address",
            "Fix@Example.com",
            "--by",
            "ada",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "desk+s-policy-fix@example.com" in result.output
    with db.unit_of_work(readonly=True) as session:
        row = session.get(ServiceMailAddress, fix)
        assert row is not None
        assert (row.slug, row.address) == ("policy-fix", "fix@example.com")
    other = world.services["claim_review"]
    # Audited as Ada's change, as on the admin page.
    with db.unit_of_work(readonly=True) as session:
        (actor,) = session.scalars(
            select(Event.actor_id).where(Event.kind == "service_mail_address_set")
        ).all()
    assert actor == world.people["ada"]
    by = ["--by", "ada"]
    not_admin = runner.invoke(
        app, ["mail", "service-address", str(fix), "--slug", "x", "--by", "lee"]
    )
    assert not_admin.exit_code == 2
    assert "--by" in not_admin.output
    taken = runner.invoke(app, ["mail", "service-address", str(other), "--slug", "policy-fix", *by])
    assert taken.exit_code == 2
    assert "slug" in taken.output
    bad = runner.invoke(app, ["mail", "service-address", str(other), "--slug", "no spaces", *by])
    assert bad.exit_code == 2


def test_an_admin_fixes_a_bouncing_address(
    db: Database, world: World, environment: pytest.MonkeyPatch
) -> None:
    with db.unit_of_work() as session:
        session.add(
            BouncingAddress(address="asha@example.com", first_bounced_at=T0, last_bounced_at=T0)
        )
    not_admin = runner.invoke(app, ["mail", "address-fixed", "asha@example.com", "--by", "lee"])
    assert not_admin.exit_code == 2
    done = runner.invoke(app, ["mail", "address-fixed", "Asha@Example.com", "--by", "ada"])
    assert done.exit_code == 0, done.output
    with db.unit_of_work(readonly=True) as session:
        assert inbound.bouncing_addresses(session, ("asha@example.com",)) == set()
        (actor,) = session.scalars(
            select(Event.actor_id).where(Event.kind == "mail_address_fixed")
        ).all()
    assert actor == world.people["ada"]
    again = runner.invoke(app, ["mail", "address-fixed", "asha@example.com", "--by", "ada"])
    assert again.exit_code == 2


def test_poll_without_a_mailbox_names_the_setting(
    db: Database, environment: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["mail", "poll"])
    assert result.exit_code == 2
    assert "imap_host" in result.output
