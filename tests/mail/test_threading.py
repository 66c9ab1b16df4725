"""The threading rules, directly: our ids round-trip, other systems' ids name nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followthrough.mail.threading import (
    message_id_for,
    message_ids,
    reply_address,
    request_id_from_headers,
    service_address,
    service_slug_from_addresses,
    thread_root_id,
)

DOMAIN = "desk.example.com"
INBOUND = "desk@example.com"
ids = st.integers(min_value=1, max_value=10**18 - 1)
slugs = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")


def test_the_shapes_are_as_agreed() -> None:
    assert thread_root_id(7, DOMAIN) == "<request-7@desk.example.com>"
    assert message_id_for(12, 7, DOMAIN) == "<n12.r7@desk.example.com>"
    assert message_id_for(12, None, DOMAIN) == "<n12@desk.example.com>"
    assert reply_address(INBOUND, 7) == "desk+r7@example.com"
    assert service_address(INBOUND, "claims") == "desk+s-claims@example.com"


def test_a_tag_already_on_the_inbound_address_is_replaced() -> None:
    assert reply_address("desk+old@example.com", 3) == "desk+r3@example.com"


@given(outbox=ids, request=ids)
def test_a_reply_to_any_of_our_messages_finds_its_request(outbox: int, request: int) -> None:
    ours = message_id_for(outbox, request, DOMAIN)
    assert request_id_from_headers([], ours, None, DOMAIN, INBOUND) == request
    # Clients that drop In-Reply-To still keep References (the root first, then the parent).
    references = f"{thread_root_id(request, DOMAIN)} {ours}"
    assert request_id_from_headers([], None, references, DOMAIN, INBOUND) == request


@given(request=ids)
def test_the_reply_address_alone_finds_the_request(request: int) -> None:
    to = [f"Desk <{reply_address(INBOUND, request)}>", "someone@else.org"]
    assert request_id_from_headers(to, None, None, DOMAIN, INBOUND) == request


@given(slug=slugs)
def test_a_service_address_round_trips(slug: str) -> None:
    to = ["Someone <a@b.org>", service_address(INBOUND, slug)]
    assert service_slug_from_addresses(to, INBOUND) == slug
    assert request_id_from_headers(to, None, None, DOMAIN, INBOUND) is None


@given(request=ids)
def test_another_domains_ids_name_nothing(request: int) -> None:
    foreign = f"<request-{request}@elsewhere.example.org> <n1.r{request}@mail.example.net>"
    assert request_id_from_headers([], foreign, foreign, DOMAIN, INBOUND) is None


def test_our_headers_win_over_the_address_tag() -> None:
    to = [reply_address(INBOUND, 5)]
    in_reply_to = message_id_for(40, 9, DOMAIN)
    assert request_id_from_headers(to, in_reply_to, None, DOMAIN, INBOUND) == 9


def test_the_domain_is_compared_without_case() -> None:
    assert request_id_from_headers([], "<request-4@DESK.Example.COM>", None, DOMAIN, INBOUND) == 4


@pytest.mark.parametrize(
    "header",
    [
        "<n5@desk.example.com>",  # a message not about a request
        "<request-@desk.example.com>",
        "<request-1x@desk.example.com>",
        "<request-1234567890123456789@desk.example.com>",  # beyond any id we make
        "request-4@desk.example.com",  # not in angle brackets
        "<CAF=abc@mail.gmail.com>",
    ],
)
def test_what_is_not_ours_names_no_request(header: str) -> None:
    assert request_id_from_headers([], header, header, DOMAIN, INBOUND) is None


def test_a_tag_on_another_mailbox_names_nothing() -> None:
    to = ["sales+r7@example.com", "desk+r7@other.example.com", "desk+x7@example.com"]
    assert request_id_from_headers(to, None, None, DOMAIN, INBOUND) is None
    assert service_slug_from_addresses(to, INBOUND) is None


def test_message_ids_reads_a_folded_references_header() -> None:
    header = "<a@x>\r\n <b@y>\t<c@z>"
    assert message_ids(header) == ["<a@x>", "<b@y>", "<c@z>"]


def test_a_bad_slug_is_refused() -> None:
    with pytest.raises(ValueError, match="slug"):
        service_address(INBOUND, "Claims & Co")
