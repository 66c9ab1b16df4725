"""The decision for an incoming mail, checked over every combination of facts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from followthrough.mail.inbound_rules import (
    CHANGES_A_REQUEST,
    MailFacts,
    Outcome,
    RequestSeen,
    decide,
)
from followthrough.mail.safety import MailKind
from followthrough.requests.vocabulary import RequestState

requests_seen = st.builds(
    RequestSeen,
    request_id=st.integers(1, 50),
    state=st.sampled_from(list(RequestState)),
    sender_takes_part=st.booleans(),
)
facts = st.builds(
    MailFacts,
    kind=st.sampled_from(list(MailKind)),
    sender_person_id=st.none() | st.integers(1, 50),
    named_request_id=st.none() | st.integers(1, 50),
    request=st.none() | requests_seen,
    service_id=st.none() | st.integers(1, 5),
    has_words=st.booleans(),
    has_files=st.booleans(),
    failed_for_good=st.booleans(),
    over_rate_limit=st.booleans(),
)


@given(facts)
def test_machine_mail_never_changes_a_request_and_is_never_answered(mail: MailFacts) -> None:
    decision = decide(mail)
    if mail.kind != MailKind.PERSON:
        assert decision.outcome not in CHANGES_A_REQUEST
        assert not decision.answer_sender


@given(facts)
def test_only_a_known_person_within_the_limit_changes_anything(mail: MailFacts) -> None:
    decision = decide(mail)
    if decision.outcome in CHANGES_A_REQUEST:
        assert mail.kind == MailKind.PERSON
        assert mail.sender_person_id is not None
        assert not mail.over_rate_limit


@given(facts)
def test_a_reply_changes_only_a_request_its_sender_takes_part_in(mail: MailFacts) -> None:
    decision = decide(mail)
    if decision.outcome in (Outcome.UPDATE, Outcome.ANSWER_CLARIFICATION):
        assert mail.request is not None
        assert mail.request.sender_takes_part
        assert mail.has_words or mail.has_files


@given(facts)
def test_a_sender_past_the_limit_is_never_answered(mail: MailFacts) -> None:
    if mail.over_rate_limit:
        assert not decide(mail).answer_sender


def _person(**changes: object) -> MailFacts:
    base = {
        "kind": MailKind.PERSON,
        "sender_person_id": 1,
        "named_request_id": 7,
        "request": RequestSeen(7, RequestState.IN_PROGRESS, True),
        "service_id": None,
        "has_words": True,
        "has_files": False,
        "failed_for_good": False,
        "over_rate_limit": False,
    }
    base.update(changes)
    return MailFacts(**base)  # type: ignore[arg-type]


def test_the_cases_one_by_one() -> None:
    assert decide(_person()).outcome == Outcome.UPDATE
    asked = RequestSeen(7, RequestState.NEEDS_CLARIFICATION, True)
    assert decide(_person(request=asked)).outcome == Outcome.ANSWER_CLARIFICATION
    outsider = RequestSeen(7, RequestState.IN_PROGRESS, False)
    assert decide(_person(request=outsider)).outcome == Outcome.REFUSED_NOT_PARTICIPANT
    # A request number that does not exist is answered like one the sender is not on.
    assert decide(_person(request=None)).outcome == Outcome.REFUSED_NOT_PARTICIPANT
    assert decide(_person(sender_person_id=None)).outcome == Outcome.REFUSED_UNKNOWN_SENDER
    assert decide(_person(has_words=False)).outcome == Outcome.REFUSED_EMPTY
    assert decide(_person(has_words=False, has_files=True)).outcome == Outcome.UPDATE
    new = _person(named_request_id=None, request=None, service_id=3)
    assert decide(new).outcome == Outcome.OPEN_REQUEST
    lost = _person(named_request_id=None, request=None)
    assert decide(lost).outcome == Outcome.REFUSED_NO_REQUEST
    assert decide(_person(kind=MailKind.BOUNCE, failed_for_good=True)).outcome == (
        Outcome.BOUNCE_RECORDED
    )
    assert decide(_person(kind=MailKind.BOUNCE)).outcome == Outcome.BOUNCE_DELAYED
    assert decide(_person(kind=MailKind.AUTO_REPLY)).outcome == Outcome.AUTO_REPLY_IGNORED
    assert decide(_person(over_rate_limit=True)).outcome == Outcome.RATE_LIMITED
