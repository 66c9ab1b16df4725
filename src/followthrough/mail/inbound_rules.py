"""What an incoming mail does: one pure decision from the facts about it.

No database, clock or network: the service gathers the facts, calls `decide`, and carries the
decision out in one transaction. Who may change a request, and how a state may change, stay the
request lifecycle's: a reply becomes a call to the same request service a page makes, and the
lifecycle's own refusal (a closed request, a person not on the request) becomes the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from followthrough.mail.safety import MailKind
from followthrough.requests.rules import ALLOWED_IN


class Outcome(StrEnum):
    """What the desk did with a mail (kept on its row, shown to admins)."""

    UPDATE = "update"
    ANSWER_CLARIFICATION = "answer_clarification"
    OPEN_REQUEST = "open_request"
    BOUNCE_RECORDED = "bounce_recorded"
    BOUNCE_DELAYED = "bounce_delayed"
    AUTO_REPLY_IGNORED = "auto_reply_ignored"
    RATE_LIMITED = "rate_limited"
    REFUSED_UNKNOWN_SENDER = "refused_unknown_sender"
    REFUSED_NOT_PARTICIPANT = "refused_not_participant"
    REFUSED_NO_REQUEST = "refused_no_request"
    REFUSED_EMPTY = "refused_empty"
    # The request service refused the change (its own rule, e.g. the request is closed).
    REFUSED_BY_REQUEST = "refused_by_request"
    # The mail could not be read at all: kept with why, nothing done, never answered.
    SET_ASIDE = "set_aside"


CHANGES_A_REQUEST = frozenset({Outcome.UPDATE, Outcome.ANSWER_CLARIFICATION, Outcome.OPEN_REQUEST})


@dataclass(frozen=True)
class RequestSeen:
    """The request a mail names, as far as the decision needs it."""

    request_id: int
    state: str
    # On the request: raised it, owns it, was offered it, took part (request_participant),
    # or works in the team that owns it now.
    sender_takes_part: bool


@dataclass(frozen=True)
class MailFacts:
    """Everything the decision reads about one mail."""

    kind: MailKind
    # The sender is an active person of the organisation.
    sender_person_id: int | None
    # The mail names a request of ours (threading headers or +r{n}); None if it names none.
    named_request_id: int | None
    # That request, if it exists.
    request: RequestSeen | None
    # The service the mail was sent to (+s-{slug} or its own address), if any.
    service_id: int | None
    has_words: bool
    has_files: bool
    failed_for_good: bool
    over_rate_limit: bool


@dataclass(frozen=True)
class Decision:
    """What to do, and whether to answer the sender (a person's mail the desk could not take;
    never a machine's, never one past the rate limit)."""

    outcome: Outcome
    answer_sender: bool = False


def decide(facts: MailFacts) -> Decision:
    """The one rule for an incoming mail.

    Machine mail first: a bounce is recorded (a failure for good stops mail to the address), an
    auto-reply is dropped; neither changes a request nor is answered. A sender past the rate
    limit is dropped unanswered (answering is what would feed a loop). Then a person's mail: a
    reply from someone on the request becomes an update (or the answer to its open question);
    a new mail to a service opens a request; anything else gets a polite refusal and changes
    nothing.
    """
    if facts.kind == MailKind.BOUNCE:
        if facts.failed_for_good:
            return Decision(Outcome.BOUNCE_RECORDED)
        return Decision(Outcome.BOUNCE_DELAYED)
    if facts.kind == MailKind.AUTO_REPLY:
        return Decision(Outcome.AUTO_REPLY_IGNORED)
    if facts.over_rate_limit:
        return Decision(Outcome.RATE_LIMITED)
    if facts.sender_person_id is None:
        return Decision(Outcome.REFUSED_UNKNOWN_SENDER, answer_sender=True)
    if facts.named_request_id is not None:
        if facts.request is None or not facts.request.sender_takes_part:
            # A request that does not exist and one the sender is not on are refused alike:
            # the answer must not tell a stranger which request numbers exist.
            return Decision(Outcome.REFUSED_NOT_PARTICIPANT, answer_sender=True)
        if not facts.has_words and not facts.has_files:
            return Decision(Outcome.REFUSED_EMPTY, answer_sender=True)
        if facts.request.state in ALLOWED_IN["answer_clarification"] and facts.has_words:
            return Decision(Outcome.ANSWER_CLARIFICATION)
        return Decision(Outcome.UPDATE)
    if facts.service_id is not None:
        if not facts.has_words:
            return Decision(Outcome.REFUSED_EMPTY, answer_sender=True)
        return Decision(Outcome.OPEN_REQUEST)
    return Decision(Outcome.REFUSED_NO_REQUEST, answer_sender=True)


# What the refusal says, in plain words, per outcome.
REFUSALS: dict[Outcome, str] = {
    Outcome.REFUSED_UNKNOWN_SENDER: (
        "We could not find a colleague with this mail address, so nothing was added. "
        "If you work here, write from the address the desk knows you by, or sign in and "
        "raise the request there."
    ),
    Outcome.REFUSED_NOT_PARTICIPANT: (
        "Only the people working on a request can add to it by mail, so nothing was added. "
        "Ask the request's owner to add you, or raise a request of your own."
    ),
    Outcome.REFUSED_NO_REQUEST: (
        "We could not tell which request this mail is about, so nothing was added. "
        "Reply to a mail the desk sent you about the request, or send a new request to a "
        "service's address."
    ),
    Outcome.REFUSED_EMPTY: (
        "Your mail had no words of its own (only quoted text), so nothing was added."
    ),
}
