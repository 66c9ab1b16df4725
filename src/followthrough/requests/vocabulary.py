"""The words of the request lifecycle as types: states, offers, waits, priorities, notifications.

Each value equals the string the database and the API have always held, so a member can be
stored or compared with a plain string. The event kinds and their typed payloads live in
`history.payloads` (the history sits below the requests); they are re-exported here so a writer
finds the whole vocabulary in one place.
"""

from __future__ import annotations

from enum import StrEnum

from followthrough.history.payloads import (
    PAYLOADS,
    Accepted,
    CaseLinked,
    ClarificationAnswered,
    ClarificationAsked,
    Closed,
    Declined,
    DuplicateMerged,
    Escalated,
    EventKind,
    FeedbackGiven,
    MergedInto,
    Offered,
    Opened,
    Paused,
    Payload,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
    PromiseReleased,
    Rated,
    Recategorised,
    Reopened,
    RequestWithdrawn,
    Resolved,
    Resumed,
    ReturnedToRequester,
    SubRequestOpened,
    UpdateEscalated,
    UpdatePosted,
    UpdateReminded,
    Withdrawn,
)

__all__ = [
    "PAYLOADS",
    "Accepted",
    "CaseLinked",
    "ClarificationAnswered",
    "ClarificationAsked",
    "Closed",
    "Declined",
    "DuplicateMerged",
    "Escalated",
    "EventKind",
    "FeedbackGiven",
    "MergedInto",
    "NotificationKind",
    "OfferKind",
    "OfferState",
    "Offered",
    "Opened",
    "Paused",
    "Payload",
    "Priority",
    "PromiseBroken",
    "PromiseKept",
    "PromiseMade",
    "PromiseReleased",
    "PromiseState",
    "Rated",
    "Recategorised",
    "Reopened",
    "RequestState",
    "RequestWithdrawn",
    "Resolved",
    "Resumed",
    "ReturnedToRequester",
    "SubRequestOpened",
    "UpdateEscalated",
    "UpdatePosted",
    "UpdateReminded",
    "WaitReason",
    "Withdrawn",
]


class RequestState(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    NEEDS_CLARIFICATION = "needs_clarification"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"
    # Ended without being resolved: the requester withdrew it, or it was merged into another
    # request as a duplicate. Neither counts as resolved work anywhere.
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


class OfferState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class OfferKind(StrEnum):
    """`intake` is the implicit offer to the receiving team when a request is opened."""

    INTAKE = "intake"
    HANDOFF = "handoff"


class WaitReason(StrEnum):
    """What a paused request waits on. Clarification is the requester answering a question;
    the others are chosen when the owner pauses it."""

    CLARIFICATION = "clarification"
    REQUESTER = "requester"
    SUB_REQUEST = "sub_request"
    OUTSIDE = "outside"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class PromiseState(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    # Its request ended unresolved (withdrawn, merged): neither kept nor broken.
    RELEASED = "released"


class NotificationKind(StrEnum):
    """The kinds of inbox notification the lifecycle sends."""

    OFFER = "offer"
    OFFER_DECLINED = "offer_declined"
    OFFER_ACCEPTED = "offer_accepted"
    ESCALATION = "escalation"
    PROMISE_DUE = "promise_due"
    PROMISE_BROKEN = "promise_broken"
    UPDATE_DUE = "update_due"
    UPDATE_POSTED = "update_posted"
    CLARIFICATION = "clarification"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    FEEDBACK = "feedback"
    # The request was handed to you because its owner left.
    REASSIGNED = "reassigned"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"
    RETURNED = "returned"
