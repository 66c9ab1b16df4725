"""Which mail is a person's, a machine's answer or a bounce; the rate limit; the send check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followthrough.mail.inbound_text import html_to_text, read_mail
from followthrough.mail.safety import MailKind, classify, may_send_to, over_rate_limit
from tests.attachments import files
from tests.mail import corpus
from tests.mail.corpus import Expected

ASHA = "Asha Assessor <asha@example.com>"
SAMPLES = [
    *corpus.whole_corpus(ASHA, 5, "gone@example.org"),
    corpus.reply_with_attachment(ASHA, 5, "Schedule attached.", files.pdf()),
    corpus.new_request_mail(ASHA, "desk+s-fix@example.com", "Fix", "Please fix HM-1."),
]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_corpus_message_is_read_as_what_it_is(sample: corpus.Sample) -> None:
    kind = classify(sample.message).kind
    assert (
        kind
        == {
            Expected.PERSON: MailKind.PERSON,
            Expected.AUTO_REPLY: MailKind.AUTO_REPLY,
            Expected.BOUNCE: MailKind.BOUNCE,
        }[sample.expected]
    )


@pytest.mark.parametrize(
    "sample", [s for s in SAMPLES if s.expected == Expected.BOUNCE], ids=lambda s: s.name
)
def test_a_bounce_names_the_address_that_failed_for_good_and_a_delay_names_none(
    sample: corpus.Sample,
) -> None:
    classified = classify(sample.message)
    expected = {sample.failed_address} if sample.failed_address else set()
    assert classified.failed_for_good == expected


@pytest.mark.parametrize(
    "sample", [s for s in SAMPLES if s.expected == Expected.PERSON], ids=lambda s: s.name
)
def test_a_persons_mail_keeps_their_words_and_drops_quotes_and_signatures(
    sample: corpus.Sample,
) -> None:
    read = read_mail(corpus.wire(sample.message))
    assert read.words == sample.words
    for piece in sample.not_words:
        assert piece not in read.words
    assert tuple(f.file_name for f in read.files)[: len(sample.attachments)] == sample.attachments


def test_the_same_reply_by_two_paths_says_the_same_and_new_words_say_something_else() -> None:
    reply = corpus.gmail_reply(ASHA, 5, "Same words.")
    other = corpus.gmail_reply(ASHA, 5, "Other words.")
    direct, again = read_mail(corpus.wire(reply.message)), read_mail(reply.message.as_bytes())
    assert direct.content_hash == again.content_hash
    assert read_mail(corpus.wire(other.message)).content_hash != direct.content_hash


def test_a_header_saying_no_is_a_person() -> None:
    message = corpus.gmail_reply(ASHA, 5, "Typed by me.").message
    message["Auto-Submitted"] = "no"
    assert classify(message).kind == MailKind.PERSON


def test_html_becomes_text_with_its_breaks_and_without_scripts() -> None:
    text = html_to_text(
        "<html><head><title>T</title><style>p{}</style></head><body><p>One&nbsp;line</p>"
        "<div>Two<br>Three</div><script>alert(1)</script><blockquote>quoted</blockquote></body>"
    )
    assert text.splitlines() == ["One line", "", "Two", "Three", "", "> quoted"]


T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@given(st.lists(st.integers(min_value=0, max_value=3600), max_size=40), st.integers(1, 20))
def test_the_rate_limit_counts_only_the_window_before_now(offsets: list[int], limit: int) -> None:
    window = timedelta(minutes=10)
    arrivals = [T - timedelta(seconds=s) for s in offsets]
    in_window = sum(1 for s in offsets if s < 600)
    assert over_rate_limit(arrivals, T, limit=limit, window=window) == (in_window >= limit)


def test_mail_stops_to_a_bouncing_address_in_any_spelling() -> None:
    bouncing = {"asha@example.com"}
    assert not may_send_to("Asha Assessor <ASHA@Example.com>", bouncing)
    assert may_send_to("lee@example.com", bouncing)


def test_a_message_from_the_mail_system_without_failures_is_still_no_persons() -> None:
    message = EmailMessage()
    message["From"] = "MAILER-DAEMON@mx.example.com"
    message["Subject"] = "Warning: could not send message for past 4 hours"
    message.set_content("Still trying.")
    assert classify(message).kind == MailKind.BOUNCE
