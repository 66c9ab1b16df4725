"""Mail out on both databases, to a real SMTP server: every notification delivered once, under
a Message-ID fixed before the first try, threaded by request, nothing lost when a server stops."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from followthrough.db import Database
from followthrough.mail import outbound
from followthrough.mail.outbound import claim, send_outbox
from followthrough.notify import service as notify
from followthrough.notify.models import OutboxMessage
from followthrough.org.models import Person
from tests.conftest import T0
from tests.factories import World
from tests.mail.conftest import SmtpServer
from tests.mail.helpers import DOMAIN, mail_settings, open_policy_fix, outbox


def test_every_notification_goes_once_threaded_by_its_request(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    request_id = open_policy_fix(db, world, T0)
    with db.unit_of_work() as session:
        notify.notify(
            session,
            world.people["dan"],
            "update_due",
            "An update is due",
            T0,
            request_id=request_id,
        )
        notify.notify(session, world.people["asha"], "feedback", "Cleo thanked you", T0)
    settings = mail_settings(db, smtp_server.settings())
    rows = outbox(db)
    assert len(rows) >= 3

    report = send_outbox(db, settings, T0 + timedelta(seconds=1))

    assert report.server_error is None, report
    assert report.counts["sent"] == len(rows), outbox(db)
    received = {r.message_id: r for r in smtp_server.received}
    assert len(smtp_server.received) == len(rows)
    for row in rows:
        if row.request_id is None:
            expected = f"<n{row.id}@{DOMAIN}>"
        else:
            expected = f"<n{row.id}.r{row.request_id}@{DOMAIN}>"
        message = received[expected].message()
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Unsubscribe"].startswith(
            f"<https://desk.example.com/mail/unsubscribe/{row.person_id}.{row.kind}."
        )
        assert message["Date"] is not None
        if row.request_id is not None:
            root = f"<request-{row.request_id}@{DOMAIN}>"
            assert message["In-Reply-To"] == root
            assert message["References"] == root
            assert message["Reply-To"] == f"desk+r{row.request_id}@example.com"
            assert message["Subject"] == f"#{request_id} Fix policy 42"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        if row.request_id is not None:
            assert "Fix policy 42" in text
            assert "Fix policy 42" in html
            assert f"https://desk.example.com/requests/{request_id}" in text
        if row.kind == "offer":
            # The duty owner may answer the offer: the message carries its signed action link.
            assert "Accept or decline the request: https://desk.example.com/act/" in text
            assert 'href="https://desk.example.com/act/' in html
    assert {row.state for row in outbox(db)} == {"sent"}
    # Sending again sends nothing.
    again = send_outbox(db, settings, T0 + timedelta(minutes=5))
    assert again.counts["sent"] == 0
    assert len(smtp_server.received) == len(rows)


def test_the_body_is_written_on_the_readers_clock_and_escaped_in_html(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    dan = world.people["dan"]
    with db.unit_of_work() as session:
        person = session.get(Person, dan)
        assert person is not None
        person.timezone = "Asia/Kolkata"
    request_id = open_policy_fix(db, world, T0, title="<b>Urgent</b> & <script>x()</script>")
    with db.unit_of_work() as session:
        notify.notify(
            session,
            dan,
            "promise_due",
            "Call back by 2026-03-02 15:00 UTC",
            T0,
            request_id=request_id,
        )
    send_outbox(db, mail_settings(db, smtp_server.settings()), T0)
    [mine] = [
        r.message()
        for r in smtp_server.received
        if "Call back" in r.message().get_body(("plain",)).get_content()
    ]
    text = mine.get_body(("plain",)).get_content()
    html = mine.get_body(("html",)).get_content()
    # 15:00 UTC is 20:30 in Kolkata (UTC+5:30), shown with its zone.
    assert "20:30 IST" in text
    assert "15:00 UTC" not in text
    assert "<script>" not in html
    assert "<b>Urgent" not in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "&lt;b&gt;Urgent&lt;/b&gt; &amp;" in html
    # Plain text is written as is.
    assert "<b>Urgent</b> & <script>x()</script>" in text


def test_a_mail_server_that_is_down_loses_nothing_and_the_retry_keeps_the_message_id(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    with db.unit_of_work() as session:
        notify.notify(session, world.people["dan"], "feedback", "Thanks", T0)
    settings = mail_settings(db, {"smtp_port": 1}, mail_retry_seconds=60)
    started = time.monotonic()
    down = send_outbox(db, settings, T0)
    took = timedelta(seconds=time.monotonic() - started)
    assert down.server_error is not None
    assert down.server_error.setting == "smtp_port"
    [row] = outbox(db)
    assert (row.state, row.attempts) == ("sending", 1)
    # The wait counts from the failed try, as the sender's clock runs on from T0.
    assert timedelta(seconds=60) <= row.claimed_until - T0 <= timedelta(seconds=60) + took
    first_id = row.message_id
    assert first_id == f"<n{row.id}@{DOMAIN}>"

    up = mail_settings(db, smtp_server.settings(), mail_retry_seconds=60)
    assert send_outbox(db, up, T0 + timedelta(seconds=30)).counts["sent"] == 0  # still waiting
    assert send_outbox(db, up, row.claimed_until).counts["sent"] == 1
    assert smtp_server.message_ids() == [first_id]
    [row] = outbox(db)
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, None)


def test_a_temporary_refusal_waits_twice_as_long_each_time_then_gives_up(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    with db.unit_of_work() as session:
        notify.notify(session, world.people["dan"], "feedback", "Thanks", T0)
    smtp_server.handler.refuse_with = "451 4.3.0 try again later"
    settings = mail_settings(db, smtp_server.settings(), mail_retry_seconds=10, mail_max_attempts=3)
    at = T0
    waits = []
    for _ in range(3):
        started = time.monotonic()
        send_outbox(db, settings, at)
        took = time.monotonic() - started
        [row] = outbox(db)
        if row.state == "failed":
            break
        # The wait counts from the failed try, as the sender's clock runs on from `at`.
        waited = (row.claimed_until - at).total_seconds()
        waits.append(next(w for w in (10, 20, 40) if w <= waited <= w + took))
        at = row.claimed_until
    assert waits == [10, 20]
    [row] = outbox(db)
    assert (row.state, row.attempts) == ("failed", 3)
    assert "451" in row.last_error
    assert smtp_server.received == []


def test_a_permanent_refusal_is_given_up_at_once(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    with db.unit_of_work() as session:
        notify.notify(session, world.people["dan"], "feedback", "Thanks", T0)
    smtp_server.handler.refuse_with = "550 5.1.1 no such mailbox"
    send_outbox(db, mail_settings(db, smtp_server.settings()), T0)
    [row] = outbox(db)
    assert (row.state, row.attempts) == ("failed", 1)
    assert "550" in row.last_error


def test_a_claim_whose_sender_died_is_taken_over_after_its_lease_with_the_same_message_id(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    with db.unit_of_work() as session:
        notify.notify(session, world.people["dan"], "feedback", "Thanks", T0)
    settings = mail_settings(db, smtp_server.settings(), mail_lease_seconds=300)
    with db.unit_of_work() as session:  # claimed and committed, then the sender "died"
        claimed = claim(session, settings, T0, 10)
    [dead] = claimed.outgoing
    assert send_outbox(db, settings, T0 + timedelta(seconds=299)).counts["sent"] == 0
    assert send_outbox(db, settings, T0 + timedelta(seconds=300)).counts["sent"] == 1
    assert smtp_server.message_ids() == [dead.message_id]
    [row] = outbox(db)
    assert (row.state, row.attempts, row.message_id) == ("sent", 2, dead.message_id)


def test_a_sent_row_is_never_claimed_again(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    with db.unit_of_work() as session:
        notify.notify(session, world.people["dan"], "feedback", "Thanks", T0)
    settings = mail_settings(db, smtp_server.settings())
    send_outbox(db, settings, T0)
    # Even with its old claim time in the past, a sent row stays sent.
    with db.unit_of_work() as session:
        session.execute(update(OutboxMessage).values(claimed_until=T0))
        assert claim(session, settings, T0 + timedelta(days=1), 10).outgoing == []
    assert len(smtp_server.received) == 1


def test_a_message_that_cannot_be_written_fails_alone_and_the_rest_go(
    db: Database, world: World, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.unit_of_work() as session:
        notify.notify(session, world.people["dan"], "feedback", "poison", T0)
        notify.notify(session, world.people["dan"], "feedback", "fine", T0)
    real = outbound.notification_message

    def refusing(settings: Any, reader: Any, item: Any, message_id: str, now: Any) -> Any:
        if item.message == "poison":
            raise ValueError("the encoder refused it")
        return real(settings, reader, item, message_id, now)

    monkeypatch.setattr(outbound, "notification_message", refusing)
    send_outbox(db, mail_settings(db, smtp_server.settings()), T0)
    poison, fine = outbox(db)
    assert poison.state == "failed"
    assert poison.last_error == "could not be written: the encoder refused it"
    assert fine.state == "sent"
    assert len(smtp_server.received) == 1


def test_line_breaks_in_a_title_or_name_stay_out_of_the_headers(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    # A title pasted from a document keeps its line break (the API takes any text); a header
    # is one line, and a break in it either ends the headers early or looks like a header
    # of its own ("Bcc:").
    dan = world.people["dan"]
    with db.unit_of_work() as session:
        person = session.get(Person, dan)
        assert person is not None
        person.name = "Dan\nDuty"
    request_id = open_policy_fix(db, world, T0, title="Policy HM-1234\r\nBcc: everyone@example.com")
    with db.unit_of_work() as session:
        notify.notify(session, dan, "update_due", "An update is due", T0, request_id=request_id)
    send_outbox(db, mail_settings(db, smtp_server.settings()), T0)
    assert {row.state for row in outbox(db) if row.person_id == dan} == {"sent"}
    for received in smtp_server.received:
        message = received.message()
        assert message["Subject"] == f"#{request_id} Policy HM-1234 Bcc: everyone@example.com"
        assert message["Reply-To"] == f"desk+r{request_id}@example.com"
        assert message["Bcc"] is None
        assert received.recipients in (("dan@example.com",), ("asha@example.com",))
    to_dan = [r for r in smtp_server.received if r.recipients == ("dan@example.com",)]
    assert to_dan
    assert {r.message()["To"] for r in to_dan} == {"Dan Duty <dan@example.com>"}


def test_a_time_in_a_title_that_no_clock_can_show_is_left_as_written(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    # Times written in UTC in a notification's text are shown on the reader's clock; a title
    # may hold one at the calendar's edge, which is past year 9999 in Tokyo.
    dan = world.people["dan"]
    with db.unit_of_work() as session:
        person = session.get(Person, dan)
        assert person is not None
        person.timezone = "Asia/Tokyo"
    title = "Keep the archive until 9999-12-31 23:59 UTC"
    request_id = open_policy_fix(db, world, T0, title=title)
    with db.unit_of_work() as session:
        notify.notify(
            session,
            dan,
            "update_due",
            f"An update is due on #{request_id} {title}",
            T0,
            request_id=request_id,
        )
    send_outbox(db, mail_settings(db, smtp_server.settings()), T0)
    assert {(row.state, row.last_error) for row in outbox(db) if row.person_id == dan} == {
        ("sent", None)
    }
    [update_due] = [
        r.message().get_body(("plain",)).get_content()
        for r in smtp_server.received
        if "An update is due" in r.message().get_body(("plain",)).get_content()
    ]
    assert f"An update is due on #{request_id} {title}" in update_due
