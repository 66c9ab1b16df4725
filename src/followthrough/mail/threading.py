"""How mail messages and requests are tied together: the one place that knows it.

Every message about a request refers to the request's thread root ("<request-7@domain>") in
In-Reply-To and References, so a request is one thread in every mail client; a reply names our
own Message-IDs back, which is how an incoming mail finds its request. Replies go to the inbound
address plus a tag ("desk+r7@example.com"), which finds the request even when a client drops the
threading headers; "desk+s-claims@example.com" opens a request for a service.

Pure: no database, no clock, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import getaddresses

# Our Message-IDs: "<n{outbox}.r{request}@domain>", "<n{outbox}@domain>", "<request-{id}@domain>".
# Ids are bounded (18 digits fit a BIGINT) so a forged header cannot name an absurd number.
_MESSAGE_ID = re.compile(r"<([^<>@\s]+)@([^<>@\s]+)>")
_OUR_LEFT_SIDE = re.compile(r"^(?:n[0-9]{1,18}\.r([0-9]{1,18})|request-([0-9]{1,18}))$")
_REQUEST_TAG = re.compile(r"^r([0-9]{1,18})$")
_SERVICE_TAG = re.compile(r"^s-([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)$")


def thread_root_id(request_id: int, domain: str) -> str:
    """The Message-ID every message about the request refers to (it is never sent itself)."""
    return f"<request-{request_id}@{domain}>"


def message_id_for(outbox_id: int, request_id: int | None, domain: str) -> str:
    """The Message-ID of one outgoing message, fixed by its outbox row before it is first sent,
    so a retry sends the same identity and the receiver can tell a resend from a new message."""
    if request_id is None:
        return f"<n{outbox_id}@{domain}>"
    return f"<n{outbox_id}.r{request_id}@{domain}>"


def _split(address: str) -> tuple[str, str]:
    """(local part without any +tag, domain) of a bare address."""
    local, _, domain = address.strip().rpartition("@")
    if not local or not domain:
        raise ValueError(f"{address!r} is not a mail address")
    return local.split("+", 1)[0], domain


def _tagged(inbound_address: str, tag: str) -> str:
    local, domain = _split(inbound_address)
    return f"{local}+{tag}@{domain}"


def reply_address(inbound_address: str, request_id: int) -> str:
    """Where replies about the request go: the inbound address tagged with the request."""
    return _tagged(inbound_address, f"r{request_id}")


def service_address(inbound_address: str, service_slug: str) -> str:
    """The address a new mail goes to to open a request for that service."""
    if not _SERVICE_TAG.match(f"s-{service_slug}"):
        raise ValueError(f"{service_slug!r} is not a service slug (a-z, 0-9 and -)")
    return _tagged(inbound_address, f"s-{service_slug}")


def message_ids(header: str | None) -> list[str]:
    """The Message-IDs in an In-Reply-To or References header, in order, as written."""
    return [match[0] for match in _MESSAGE_ID.finditer(header or "")]


def _request_in_message_id(message_id: str, domain: str) -> int | None:
    match = _MESSAGE_ID.fullmatch(message_id)
    if match is None or match[2].lower() != domain.lower():
        return None
    ours = _OUR_LEFT_SIDE.match(match[1])
    if ours is None:
        return None
    return int(ours[1] or ours[2])


def _tags(to_addresses: Iterable[str], inbound_address: str) -> list[str]:
    """The +tags of the addresses that are the inbound address (any display names allowed)."""
    local, domain = _split(inbound_address)
    found = []
    for _name, address in getaddresses(list(to_addresses)):
        their_local, _, their_domain = address.rpartition("@")
        base, plus, tag = their_local.partition("+")
        if plus and base.lower() == local.lower() and their_domain.lower() == domain.lower():
            found.append(tag.lower())
    return found


def request_id_from_headers(
    to_addresses: Iterable[str],
    in_reply_to: str | None,
    references: str | None,
    domain: str,
    inbound_address: str,
) -> int | None:
    """The request an incoming mail belongs to, or None.

    Our own Message-IDs first (In-Reply-To, then References from the newest back), with our
    domain only: another system's "request-7@elsewhere" names nothing here. Then a +r{n} tag on
    the inbound address among the recipients.
    """
    for message_id in [*message_ids(in_reply_to), *reversed(message_ids(references))]:
        found = _request_in_message_id(message_id, domain)
        if found is not None:
            return found
    for tag in _tags(to_addresses, inbound_address):
        match = _REQUEST_TAG.match(tag)
        if match:
            return int(match[1])
    return None


def service_slug_from_addresses(to_addresses: Iterable[str], inbound_address: str) -> str | None:
    """The service a new mail was sent to by its +s-{slug} address, or None."""
    for tag in _tags(to_addresses, inbound_address):
        match = _SERVICE_TAG.match(tag)
        if match:
            return match[1]
    return None
