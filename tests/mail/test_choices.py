"""Each person's choices, applied by the sender on both databases: off means never, quiet hours
hold mail until they end on the person's clock, the daily summary is one message a day."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from followthrough.db import Database
from followthrough.mail.inbound_models import BouncingAddress
from followthrough.mail.outbound import claim, send_outbox
from followthrough.mail.preferences import Delivery, Preference, QuietHours
from followthrough.mail.preferences_service import preference_of, save_preference, turn_off
from followthrough.notify import service as notify
from followthrough.org.models import Person
from tests.conftest import T0
from tests.factories import World
from tests.mail.conftest import SmtpServer
from tests.mail.helpers import DOMAIN, mail_settings, open_policy_fix, outbox


def _choose(db: Database, person_id: int, preference: Preference, zone: str = "UTC") -> None:
    with db.unit_of_work() as session:
        person = session.get(Person, person_id)
        assert person is not None
        person.timezone = zone
        save_preference(session, person_id, preference)


def test_choices_are_saved_and_read_back(db: Database, world: World) -> None:
    chosen = Preference(
        by_kind={"note": Delivery.OFF, "update_posted": Delivery.DAILY_DIGEST},
        quiet=QuietHours(time(21, 30), time(6, 45)),
        digest_at=time(17, 15),
    )
    _choose(db, world.people["dan"], chosen)
    with db.unit_of_work(readonly=True) as session:
        assert preference_of(session, world.people["dan"]) == chosen
        assert preference_of(session, world.people["asha"]) == Preference()


def test_a_kind_turned_off_is_never_sent(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    dan = world.people["dan"]
    _choose(db, dan, Preference(by_kind={"feedback": Delivery.OFF}))
    with db.unit_of_work() as session:
        notify.notify(session, dan, "feedback", "Thanks", T0)
        notify.notify(session, dan, "escalation", "Escalated", T0)
    send_outbox(db, mail_settings(db, smtp_server.settings()), T0)
    states = {row.kind: row.state for row in outbox(db)}
    assert states == {"feedback": "skipped", "escalation": "sent"}
    assert len(smtp_server.received) == 1


def test_quiet_hours_hold_mail_until_they_end_on_the_persons_clock(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    dan = world.people["dan"]
    _choose(db, dan, Preference(quiet=QuietHours(time(22), time(7))), zone="Asia/Kolkata")
    late = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 22:30 in Kolkata
    with db.unit_of_work() as session:
        notify.notify(session, dan, "escalation", "Escalated", late)
    settings = mail_settings(db, smtp_server.settings())
    send_outbox(db, settings, late)
    [row] = outbox(db)
    ends = datetime(2026, 3, 3, 1, 30, tzinfo=UTC)  # 07:00 in Kolkata
    assert (row.state, row.not_before) == ("pending", ends)
    send_outbox(db, settings, ends - timedelta(minutes=1))
    assert smtp_server.received == []
    send_outbox(db, settings, ends)
    assert len(smtp_server.received) == 1


def test_the_daily_summary_is_one_message_with_every_held_notification(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    dan = world.people["dan"]
    request_id = open_policy_fix(db, world, T0)  # dan is offered it: an "offer", sent at once
    _choose(
        db,
        dan,
        Preference(
            by_kind={"feedback": Delivery.DAILY_DIGEST, "update_posted": Delivery.DAILY_DIGEST},
            digest_at=time(8),
        ),
    )
    with db.unit_of_work() as session:
        notify.notify(session, dan, "feedback", "Asha thanked you", T0)
        notify.notify(
            session, dan, "update_posted", "Cleo posted an update", T0, request_id=request_id
        )
        notify.notify(session, dan, "feedback", "Lee thanked you", T0 + timedelta(hours=2))
    settings = mail_settings(db, smtp_server.settings())
    send_outbox(db, settings, T0 + timedelta(hours=3))
    at_once = len(smtp_server.received)
    held = [row for row in outbox(db) if row.state == "digest"]
    assert len(held) == 3
    next_morning = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert {row.not_before for row in held} == {next_morning}

    send_outbox(db, settings, next_morning - timedelta(seconds=1))
    assert len(smtp_server.received) == at_once
    send_outbox(db, settings, next_morning)
    assert len(smtp_server.received) == at_once + 1
    summary = smtp_server.received[-1].message()
    assert summary["Message-ID"] == f"<n{min(row.id for row in held)}@{DOMAIN}>"
    assert summary["Subject"] == "Your daily summary: 3 notifications"
    assert summary["In-Reply-To"] is None
    text = summary.get_body(("plain",)).get_content()
    for words in ("Asha thanked you", "Cleo posted an update", "Lee thanked you", "Fix policy 42"):
        assert words in text
    assert {row.state for row in outbox(db) if row.id in {h.id for h in held}} == {"sent"}
    # The next day's sweep sends nothing more.
    send_outbox(db, settings, next_morning + timedelta(days=1))
    assert len(smtp_server.received) == at_once + 1


def test_unsubscribing_from_the_summary_turns_off_what_was_in_it(
    db: Database, world: World
) -> None:
    dan = world.people["dan"]
    _choose(
        db,
        dan,
        Preference(by_kind={"feedback": Delivery.DAILY_DIGEST, "note": Delivery.OFF}),
    )
    with db.unit_of_work() as session:
        assert turn_off(session, dan, "digest") == ["feedback"]
    with db.unit_of_work(readonly=True) as session:
        assert preference_of(session, dan).by_kind == {
            "feedback": Delivery.OFF,
            "note": Delivery.OFF,
        }


def test_nothing_goes_to_an_address_that_bounces_until_it_is_fixed(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    dan = world.people["dan"]
    with db.unit_of_work() as session:
        session.add(
            BouncingAddress(address="DAN@example.com", first_bounced_at=T0, last_bounced_at=T0)
        )
        notify.notify(session, dan, "escalation", "Escalated", T0)
        notify.notify(session, world.people["asha"], "escalation", "Escalated", T0)
    settings = mail_settings(db, smtp_server.settings())
    send_outbox(db, settings, T0)
    assert [r.recipients for r in smtp_server.received] == [("asha@example.com",)]
    with db.unit_of_work() as session:
        bounce = session.get(BouncingAddress, "DAN@example.com")
        assert bounce is not None
        bounce.fixed_at = T0 + timedelta(minutes=30)
    send_outbox(db, settings, T0 + timedelta(hours=2))  # looked at again within the hour
    assert [r.recipients for r in smtp_server.received][1:] == [("dan@example.com",)]


def test_old_news_is_not_mailed_when_mail_is_switched_on(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    dan = world.people["dan"]
    with db.unit_of_work() as session:
        notify.notify(session, dan, "escalation", "Escalated long ago", T0 - timedelta(hours=73))
        notify.notify(session, dan, "escalation", "Escalated yesterday", T0 - timedelta(hours=23))
    send_outbox(db, mail_settings(db, smtp_server.settings(), mail_max_age_hours=72), T0)
    rows = outbox(db)
    assert [(row.state, row.last_error) for row in rows] == [
        ("skipped", "too old to mail when its turn came"),
        ("sent", None),
    ]
    [received] = smtp_server.received
    assert "Escalated yesterday" in received.message().get_body(("plain",)).get_content()


def test_a_summary_whose_sender_died_goes_later_as_the_same_one_message(
    db: Database, world: World, smtp_server: SmtpServer
) -> None:
    dan = world.people["dan"]
    _choose(db, dan, Preference(by_kind={"feedback": Delivery.DAILY_DIGEST}, digest_at=time(8)))
    with db.unit_of_work() as session:
        for n in range(3):
            notify.notify(session, dan, "feedback", f"Thanks #{n}", T0)
    settings = mail_settings(db, smtp_server.settings(), mail_lease_seconds=300)
    send_outbox(db, settings, T0)  # kept for tomorrow's summary
    morning = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    with db.unit_of_work() as session:  # the summary claimed, then its sender "died"
        [summary] = claim(session, settings, morning, 10).outgoing
    assert len(summary.row_ids) == 3
    # A notification kept after the claim waits for the next summary, not this one.
    with db.unit_of_work() as session:
        notify.notify(session, dan, "feedback", "Thanks, late", morning)
    send_outbox(db, settings, morning + timedelta(seconds=301))
    [received] = smtp_server.received
    assert received.message_id == summary.message_id
    text = received.message().get_body(("plain",)).get_content()
    assert "Thanks #2" in text
    assert "Thanks, late" not in text
    states = {row.id: row.state for row in outbox(db)}
    assert [states[i] for i in summary.row_ids] == ["sent"] * 3
    assert sorted(states.values()) == ["digest", "sent", "sent", "sent"]
