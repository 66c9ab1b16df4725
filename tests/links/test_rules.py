"""Signing and reading action links, directly: tamper, expiry, rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followthrough.links.rules import (
    LinkAction,
    LinkClaims,
    LinkExpired,
    LinkTampered,
    read,
    sign,
    signing_key,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = signing_key("the current secret")
OLD = signing_key("the previous secret")


def _claims(**kw: object) -> LinkClaims:
    values: dict[str, object] = {
        "person_id": 7,
        "action": LinkAction.ACCEPT_OFFER,
        "target_id": 42,
        "expires_at": NOW + timedelta(hours=72),
        "nonce": "0123456789abcdef01234567",
    }
    values.update(kw)
    return LinkClaims(**values)  # type: ignore[arg-type]


@given(
    person=st.integers(1, 2**31),
    target=st.integers(1, 2**31),
    action=st.sampled_from(list(LinkAction)),
    hours=st.integers(1, 24 * 60),
    nonce=st.text("0123456789abcdef", min_size=24, max_size=24),
)
def test_a_signed_link_reads_back_as_made(
    person: int, target: int, action: LinkAction, hours: int, nonce: str
) -> None:
    claims = _claims(
        person_id=person,
        target_id=target,
        action=action,
        expires_at=NOW + timedelta(hours=hours),
        nonce=nonce,
    )
    assert read(sign(claims, KEY), [KEY], NOW) == claims


def test_the_signature_is_hmac_sha256_of_the_claims_under_the_derived_key() -> None:
    token = sign(_claims(), KEY)
    body, signature = token.split(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    expires = int((NOW + timedelta(hours=72)).timestamp())
    assert raw == f"7.accept_offer.42.{expires}.0123456789abcdef01234567".encode()
    derived = hmac.new(b"the current secret", b"followthrough action link v1", hashlib.sha256)
    expected = hmac.new(derived.digest(), raw, hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected


def _forge(token: str, new_raw: bytes) -> str:
    return base64.urlsafe_b64encode(new_raw).rstrip(b"=").decode() + "." + token.split(".")[1]


def test_a_link_changed_to_another_person_or_action_or_row_is_refused() -> None:
    token = sign(_claims(), KEY)
    expires = int((NOW + timedelta(hours=72)).timestamp())
    for raw in (
        f"8.accept_offer.42.{expires}.0123456789abcdef01234567",
        f"7.decline_offer.42.{expires}.0123456789abcdef01234567",
        f"7.accept_offer.43.{expires}.0123456789abcdef01234567",
        f"7.accept_offer.42.{expires + 86400}.0123456789abcdef01234567",
    ):
        with pytest.raises(LinkTampered):
            read(_forge(token, raw.encode()), [KEY], NOW)


@pytest.mark.parametrize("broken", ["", "abc", "a.b.c", "!!!.???", "x" * 500])
def test_a_malformed_token_is_refused_not_an_error(broken: str) -> None:
    with pytest.raises(LinkTampered):
        read(broken, [KEY], NOW)


def test_a_link_stops_working_when_its_time_is_up() -> None:
    token = sign(_claims(), KEY)
    assert read(token, [KEY], NOW + timedelta(hours=71, minutes=59)).target_id == 42
    with pytest.raises(LinkExpired):
        read(token, [KEY], NOW + timedelta(hours=72))


def test_links_signed_with_the_previous_secret_work_during_a_rotation_and_others_never() -> None:
    old_link = sign(_claims(), OLD)
    assert read(old_link, [KEY, OLD], NOW).person_id == 7
    with pytest.raises(LinkTampered):
        read(old_link, [KEY], NOW)
    with pytest.raises(LinkTampered):
        read(sign(_claims(), signing_key("someone else's")), [KEY, OLD], NOW)
