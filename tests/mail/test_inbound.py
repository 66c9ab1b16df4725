"""Mail in on both databases: what each kind of mail does to a request, and what it must not do."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import func, select

from followthrough.attachments.models import Attachment
from followthrough.attachments.storage import LocalFolderStore
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail import inbound
from followthrough.mail.inbound_models import BouncingAddress, InboundMail, ServiceMailAddress
from followthrough.mail.inbound_rules import Outcome
from followthrough.notify.models import Notification
from followthrough.requests import service as requests
from followthrough.requests.models import Request, RequestUpdate
from followthrough.requests.service import NewRequest
from tests.attachments import files
from tests.conftest import T0
from tests.factories import World
from tests.mail import corpus
from tests.mail.corpus import Expected

ASHA = "Asha Assessor <asha@example.com>"


def _raise_request(db: Database, world: World) -> int:
    with db.unit_of_work() as session:
        return requests.open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(
                title="Policy HM-1234 has the wrong address",
                need="Correct it so the claim can be paid",
                service_id=world.services["correct_policy"],
            ),
            T0,
        ).id


def _receive(
    db: Database,
    store: LocalFolderStore,
    settings: Settings,
    message: EmailMessage,
    minutes: float = 1,
) -> inbound.Received:
    with db.unit_of_work() as session:
        return inbound.receive(
            session,
            store,
            settings,
            message.as_bytes(),
            came_by="smtp",
            now=T0 + timedelta(minutes=minutes),
        )


def _updates(db: Database, request_id: int) -> list[tuple[int, str]]:
    with db.unit_of_work(readonly=True) as session:
        return [
            (u.author_id, u.body)
            for u in session.scalars(
                select(RequestUpdate)
                .where(RequestUpdate.request_id == request_id)
                .order_by(RequestUpdate.id)
            )
        ]


def _request_row(db: Database, request_id: int) -> tuple[str, int, object]:
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, request_id)
        assert request is not None
        return request.state, request.version, request.updated_at


def test_each_clients_reply_becomes_one_update_with_only_the_new_words(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    samples = corpus.person_replies(ASHA, request_id)
    for minute, sample in enumerate(samples, start=1):
        received = _receive(db, store, settings, sample.message, minutes=minute)
        assert received.outcome == Outcome.UPDATE, sample.name
    updates = _updates(db, request_id)
    assert updates == [(world.people["asha"], s.words) for s in samples]
    for (_author, body), sample in zip(updates, samples, strict=True):
        for piece in sample.not_words:
            assert piece not in body, (sample.name, piece)


def test_no_auto_reply_or_bounce_in_the_corpus_changes_a_request_or_is_answered(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    before = _request_row(db, request_id)
    machine = [
        s
        for s in corpus.whole_corpus(ASHA, request_id, "gone@example.org")
        if s.expected != Expected.PERSON
    ]
    assert len(machine) >= 18
    for minute, sample in enumerate(machine, start=1):
        received = _receive(db, store, settings, sample.message, minutes=minute)
        assert received.outcome in {
            Outcome.AUTO_REPLY_IGNORED,
            Outcome.BOUNCE_RECORDED,
            Outcome.BOUNCE_DELAYED,
        }, sample.name
    assert _request_row(db, request_id) == before
    assert _updates(db, request_id) == []
    with db.unit_of_work(readonly=True) as session:
        answered = session.scalar(
            select(func.count())
            .select_from(InboundMail)
            .where(InboundMail.answer_state.is_not(None))
        )
        assert answered == 0


def test_a_reply_to_an_open_question_answers_it_and_restarts_the_clock(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    with db.unit_of_work() as session:
        requests.ask_clarification(
            session, world.actor(session, "dan"), request_id, "Which address is right?", T0
        )
    assert _request_row(db, request_id)[0] == "needs_clarification"
    sample = corpus.outlook_reply(ASHA, request_id, "The one on the claim form: 12 High Street.")
    received = _receive(db, store, settings, sample.message, minutes=30)
    assert received.outcome == Outcome.ANSWER_CLARIFICATION
    with db.unit_of_work(readonly=True) as session:
        request = session.get(Request, request_id)
        assert request is not None
        # Nobody had accepted it: it is new again, and its clock runs (no pause open).
        assert request.state == "new"
        assert request.clock_paused_at is None
        assert requests.open_pause_of(session, request_id) is None


def test_a_copy_through_a_list_and_a_second_fetch_make_one_update(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    sample = corpus.gmail_reply(ASHA, request_id, "Copied to the team list as well.")
    first = _receive(db, store, settings, sample.message, minutes=1)
    via_list = _receive(db, store, settings, corpus.list_copy(sample.message), minutes=2)
    again = _receive(db, store, settings, sample.message, minutes=3)
    assert first.outcome == Outcome.UPDATE
    # The list's copy is list mail (Precedence: list): never acted on, never answered.
    assert via_list.outcome == Outcome.AUTO_REPLY_IGNORED
    assert again.mail is None
    assert _updates(db, request_id) == [(world.people["asha"], "Copied to the team list as well.")]


def test_the_list_copy_arriving_first_does_not_swallow_the_real_reply(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    sample = corpus.apple_mail_reply(ASHA, request_id, "Arrived through the list first.")
    _receive(db, store, settings, corpus.list_copy(sample.message), minutes=1)
    direct = _receive(db, store, settings, sample.message, minutes=2)
    assert direct.outcome == Outcome.UPDATE
    assert _updates(db, request_id) == [(world.people["asha"], "Arrived through the list first.")]


def test_a_reused_message_id_with_new_words_is_still_heard(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    first = corpus.gmail_reply(ASHA, request_id, "First answer.")
    second = corpus.gmail_reply(ASHA, request_id, "A different answer, same Message-ID.")
    del second.message["Message-ID"]
    second.message["Message-ID"] = first.message["Message-ID"]
    assert _receive(db, store, settings, first.message, minutes=1).outcome == Outcome.UPDATE
    assert _receive(db, store, settings, second.message, minutes=2).outcome == Outcome.UPDATE
    assert [body for _a, body in _updates(db, request_id)] == [
        "First answer.",
        "A different answer, same Message-ID.",
    ]


def test_a_non_participant_gets_a_refusal_and_nothing_is_attached(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    before = _request_row(db, request_id)
    sample = corpus.reply_with_attachment(
        "Otto Outsider <otto@example.com>", request_id, "I have a view on this.", files.pdf()
    )
    received = _receive(db, store, settings, sample.message)
    assert received.outcome == Outcome.REFUSED_NOT_PARTICIPANT
    assert received.mail is not None
    assert received.mail.answer_state == "pending"
    assert received.mail.answer_to == "otto@example.com"
    assert _request_row(db, request_id) == before
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert not any((Path(settings.attachment_folder)).rglob("*.*"))


def test_an_unknown_sender_is_refused_once_and_a_request_number_they_guess_tells_nothing(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    stranger = "Sam Stranger <sam@elsewhere.example>"
    first = _receive(db, store, settings, corpus.gmail_reply(stranger, request_id, "Hi").message)
    second = _receive(db, store, settings, corpus.gmail_reply(stranger, 999, "Hi again").message)
    assert first.outcome == second.outcome == Outcome.REFUSED_UNKNOWN_SENDER
    assert first.mail is not None
    assert second.mail is not None
    # One polite answer per sender per hour: the second mail is recorded but not answered.
    assert (first.mail.answer_state, second.mail.answer_state) == ("pending", None)


def test_a_new_mail_to_a_service_address_opens_a_request_with_its_files(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    with db.unit_of_work() as session:
        session.add(
            ServiceMailAddress(
                service_id=world.services["correct_policy"],
                slug="policy-fix",
                address="policyfix@example.com",
            )
        )
    by_tag = corpus.new_request_mail(
        ASHA, "desk+s-policy-fix@example.com", "Wrong address on HM-1234", "Please fix it."
    )
    by_tag.message.add_attachment(
        files.pdf(), maintype="application", subtype="pdf", filename="schedule.pdf"
    )
    by_address = corpus.new_request_mail(
        ASHA, "Policy fixes <policyfix@example.com>", "HM-77 renewal", "Renewal date is wrong."
    )
    one = _receive(db, store, settings, by_tag.message, minutes=1)
    two = _receive(db, store, settings, by_address.message, minutes=2)
    assert one.outcome == two.outcome == Outcome.OPEN_REQUEST
    with db.unit_of_work(readonly=True) as session:
        opened = list(session.scalars(select(Request).order_by(Request.id)))
        assert [(r.title, r.need, r.service_id, r.requester_id) for r in opened] == [
            (
                "Wrong address on HM-1234",
                "Please fix it.",
                world.services["correct_policy"],
                world.people["asha"],
            ),
            (
                "HM-77 renewal",
                "Renewal date is wrong.",
                world.services["correct_policy"],
                world.people["asha"],
            ),
        ]
        kept = session.scalars(select(Attachment)).one()
        assert (kept.request_id, kept.file_name) == (opened[0].id, "schedule.pdf")


def test_a_new_mail_from_a_stranger_to_a_service_opens_nothing(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    with db.unit_of_work() as session:
        session.add(ServiceMailAddress(service_id=world.services["correct_policy"], slug="fix"))
    sample = corpus.new_request_mail(
        "spam@elsewhere.example", "desk+s-fix@example.com", "Cheap pills", "Buy now."
    )
    assert _receive(db, store, settings, sample.message).outcome == Outcome.REFUSED_UNKNOWN_SENDER
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 0


def test_attachments_go_through_the_store_and_its_limits(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    sample = corpus.reply_with_attachment(ASHA, request_id, "Schedule attached.", files.pdf())
    received = _receive(db, store, settings, sample.message)
    assert received.outcome == Outcome.UPDATE
    assert received.mail is not None
    assert received.mail.attachments == 1
    assert "invoice.pdf.exe" in received.mail.reason
    with db.unit_of_work(readonly=True) as session:
        kept = session.scalars(select(Attachment)).one()
        assert (kept.request_id, kept.file_name, kept.content_type) == (
            request_id,
            "Corrected schedule.pdf",
            "application/pdf",
        )
        assert store.get(kept.storage_key) == files.pdf()


def test_a_reply_to_a_closed_request_is_refused_by_the_lifecycle_and_changes_nothing(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    with db.unit_of_work() as session:
        requests.withdraw_request(
            session, world.actor(session, "asha"), request_id, "Not needed", T0
        )
    before = _request_row(db, request_id)
    sample = corpus.gmail_reply(ASHA, request_id, "One more thing.")
    received = _receive(db, store, settings, sample.message)
    assert received.outcome == Outcome.REFUSED_BY_REQUEST
    assert received.mail is not None
    assert received.mail.answer_state == "pending"
    assert _request_row(db, request_id) == before


def test_a_bounce_stops_mail_to_the_address_and_tells_the_owner_until_fixed(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    received = _receive(
        db, store, settings, corpus.dsn_bounce(request_id, "Asha@Example.com").message
    )
    assert received.outcome == Outcome.BOUNCE_RECORDED
    with db.unit_of_work(readonly=True) as session:
        mark = session.get(BouncingAddress, "asha@example.com")
        assert mark is not None
        assert mark.request_id == request_id
        assert inbound.bouncing_addresses(session, ("Asha <ASHA@example.com>",)) == {
            "asha@example.com"
        }
        told = session.scalars(
            select(Notification).where(Notification.kind == "mail_bounced")
        ).one()
        assert (told.person_id, told.request_id) == (world.people["dan"], request_id)
    with db.unit_of_work() as session:
        inbound.fix_bouncing_address(session, "asha@example.com", world.people["ada"], T0)
    with db.unit_of_work(readonly=True) as session:
        assert inbound.bouncing_addresses(session, ("asha@example.com",)) == set()


def test_a_sender_past_the_rate_limit_is_kept_but_not_acted_on(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    for n in range(inbound.RATE_LIMIT):
        sample = corpus.gmail_reply(ASHA, request_id, f"Message number {n}.")
        assert (
            _receive(db, store, settings, sample.message, minutes=n * 0.1).outcome == Outcome.UPDATE
        )
    flood = corpus.gmail_reply(ASHA, request_id, "One too many.")
    received = _receive(db, store, settings, flood.message, minutes=inbound.RATE_LIMIT * 0.1)
    assert received.outcome == Outcome.RATE_LIMITED
    assert received.mail is not None
    assert received.mail.answer_state is None
    assert len(_updates(db, request_id)) == inbound.RATE_LIMIT
    # Once the window has passed, the sender is heard again.
    later = corpus.gmail_reply(ASHA, request_id, "After a pause.")
    assert _receive(db, store, settings, later.message, minutes=60).outcome == Outcome.UPDATE


def test_refusals_are_sent_once_marked_as_automatic_and_never_to_a_bouncing_address(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    _receive(
        db, store, settings, corpus.gmail_reply("sam@elsewhere.example", request_id, "Hi").message
    )
    _receive(
        db,
        store,
        settings,
        corpus.gmail_reply("kim@elsewhere.example", request_id, "Hi").message,
        minutes=2,
    )
    _receive(
        db,
        store,
        settings,
        corpus.dsn_bounce(request_id, "kim@elsewhere.example").message,
        minutes=3,
    )
    sent: list[EmailMessage] = []
    assert inbound.send_answers(db, settings, sent.append, lambda: T0) == 1
    assert inbound.send_answers(db, settings, sent.append, lambda: T0) == 0
    [answer] = sent
    assert answer["To"] == "sam@elsewhere.example"
    assert answer["Auto-Submitted"] == "auto-replied"
    assert answer["In-Reply-To"]
    body = answer.get_body(preferencelist=("plain",))
    assert body is not None
    assert "could not find a colleague" in body.get_content()
