"""The kinds of event the product writes, and one typed payload per kind.

Writers (the request lifecycle, the demo, imports) build a payload and `history.service`
writes it as JSON; readers (the timeline, Insight, exports) read the same keys. A payload's
JSON holds its fields by name, without the ones that are None and without flags that are
False, so the stored rows are exactly what the product wrote before the payloads were typed.

Fields that name a row of the history itself (an offer, an update, a promise, a case, a
request) carry `row` metadata: the demo numbers its rows only when it writes them, and
`renumbered` moves every such field to the final ids. A field holding `NEW_ROW` names the row
the same change creates, whose id is known only once it is inserted (`with_new_row`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

# Stands for the id of the row created by the same change until it is known; ids start at 1.
NEW_ROW = 0

_ROW: dict[str, Any] = {"row": True}
_FLAG: dict[str, Any] = {"flag": True}


class EventKind(StrEnum):
    """Every kind of event; the values are the names stored in `event.kind`."""

    OPENED = "opened"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    ESCALATED = "escalated"
    PAUSED = "paused"
    RESUMED = "resumed"
    CLARIFICATION_ASKED = "clarification_asked"
    CLARIFICATION_ANSWERED = "clarification_answered"
    UPDATE_POSTED = "update_posted"
    UPDATE_REMINDED = "update_reminded"
    UPDATE_ESCALATED = "update_escalated"
    PROMISE_MADE = "promise_made"
    PROMISE_KEPT = "promise_kept"
    PROMISE_BROKEN = "promise_broken"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    RATED = "rated"
    FEEDBACK_GIVEN = "feedback_given"
    CASE_LINKED = "case_linked"
    SUB_REQUEST_OPENED = "sub_request_opened"
    # An admin's changes to the organisation (no request), and a request handed to a new owner.
    SERVICE_CHANGED = "service_changed"
    # The organisation imported from files on the command line: what was created and updated.
    ORGANISATION_IMPORTED = "organisation_imported"
    TEAM_CALENDAR_CHANGED = "team_calendar_changed"
    TEAM_ROLES_CHANGED = "team_roles_changed"
    HOLIDAY_ADDED = "holiday_added"
    HOLIDAY_REMOVED = "holiday_removed"
    MEMBER_ADDED = "member_added"
    MEMBER_REMOVED = "member_removed"
    PERSON_DEACTIVATED = "person_deactivated"
    PERSON_REACTIVATED = "person_reactivated"
    PASSWORD_RESET_ISSUED = "password_reset_issued"
    PASSWORD_CHANGED = "password_changed"
    OWNER_REASSIGNED = "owner_reassigned"
    REQUEST_WITHDRAWN = "request_withdrawn"
    MERGED_INTO = "merged_into"
    DUPLICATE_MERGED = "duplicate_merged"
    PROMISE_RELEASED = "promise_released"
    RETURNED_TO_REQUESTER = "returned_to_requester"
    ATTACHMENT_ADDED = "attachment_added"
    NOTE_ADDED = "note_added"
    # An admin added to the organisation (edits have their kinds above).
    DEPARTMENT_ADDED = "department_added"
    TEAM_ADDED = "team_added"
    PERSON_ADDED = "person_added"
    SERVICE_ADDED = "service_added"
    # An admin's mail settings: how mail reaches a service, an address that bounced fixed.
    SERVICE_MAIL_ADDRESS_SET = "service_mail_address_set"
    MAIL_ADDRESS_FIXED = "mail_address_fixed"
    # An admin sent mail that had failed for good once more.
    MAIL_SENT_AGAIN = "mail_sent_again"
    # A chat channel that kept failing switched off by the desk, and switched on by an admin.
    CHAT_CHANNEL_SWITCHED_OFF = "chat_channel_switched_off"
    CHAT_CHANNEL_SWITCHED_ON = "chat_channel_switched_on"
    # A request moved to another catalog service (re-categorised). Not `service_changed`: that
    # kind is an admin's change to a service's own targets.
    RECATEGORISED = "recategorised"


def sub_request_resolved(child_id: int) -> str:
    """Why a request waiting on a sub-request picked up again by itself."""
    return f"sub-request {child_id} resolved"


# Each payload class's stored fields as (name, is a flag), worked out once: an import writes
# a million events, and reading the dataclass fields' metadata for each costs more than the JSON.
_JSON_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _json_fields(cls: type) -> tuple[tuple[str, bool], ...]:
    plan = _JSON_FIELDS.get(cls)
    if plan is None:
        plan = _JSON_FIELDS[cls] = tuple(
            (f.name, bool(f.metadata.get("flag")))
            for f in fields(cls)
            if f.metadata.get("stored", True) is not False
        )
    return plan


@dataclass(frozen=True)
class Payload:
    """Base of the typed payloads; `KIND` names the event kind it belongs to."""

    KIND: ClassVar[EventKind]

    @classmethod
    def key(cls, name: str) -> str:
        """`name` as a key of this kind's stored JSON, for readers that query the JSON in SQL.

        Raises (at import time, where readers build their queries' keys) when the payload has
        no such field, so renaming a field breaks its readers at once, not silently in a report.
        """
        if name not in _stored_fields(cls):
            raise AttributeError(f"{cls.KIND.value} events have no payload field {name!r}")
        return name

    def to_json(self) -> dict[str, Any]:
        """The stored JSON: None left out, flags only when set, instants as ISO 8601."""
        stored: dict[str, Any] = {}
        plan = _JSON_FIELDS.get(type(self)) or _json_fields(type(self))
        for name, flag in plan:
            value = getattr(self, name)
            if value is None or (flag and value is False):
                continue
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            stored[name] = value
        return stored

    def renumbered(self, new_id: dict[int, int]) -> Payload:
        """The payload with every field naming a history row moved to that row's final id."""
        moved: dict[str, Any] = {}
        for f in fields(self):
            if not f.metadata.get("row"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                moved[f.name] = tuple(new_id[v] for v in value)
            elif value is not None:
                moved[f.name] = new_id[value]
        return replace(self, **moved) if moved else self

    def with_new_row(self, row_id: int) -> Payload:
        """The payload with `NEW_ROW` replaced by the id of the row the change created."""
        moved = {
            f.name: row_id
            for f in fields(self)
            if f.metadata.get("row") and getattr(self, f.name) == NEW_ROW
        }
        return replace(self, **moved) if moved else self


@dataclass(frozen=True)
class Opened(Payload):
    KIND = EventKind.OPENED
    service_id: int | None = None
    case_ids: tuple[int, ...] | None = field(default=None, metadata=_ROW)
    parent_id: int | None = field(default=None, metadata=_ROW)


@dataclass(frozen=True)
class Offered(Payload):
    KIND = EventKind.OFFERED
    offer_id: int = field(default=NEW_ROW, metadata=_ROW)
    intake: bool = field(default=False, metadata=_FLAG)
    note: str | None = None


@dataclass(frozen=True)
class Withdrawn(Payload):
    """An offer withdrawn: by its sender, by a newer offer (superseded) or by resolving."""

    KIND = EventKind.WITHDRAWN
    offer_id: int = field(default=NEW_ROW, metadata=_ROW)
    superseded: bool = field(default=False, metadata=_FLAG)
    resolved: bool = field(default=False, metadata=_FLAG)


@dataclass(frozen=True)
class Accepted(Payload):
    KIND = EventKind.ACCEPTED
    offer_id: int = field(default=NEW_ROW, metadata=_ROW)
    previous_owner_id: int | None = None
    bounce: bool = field(default=False, metadata=_FLAG)
    waited_seconds: float = 0.0


@dataclass(frozen=True)
class Declined(Payload):
    KIND = EventKind.DECLINED
    offer_id: int = field(default=NEW_ROW, metadata=_ROW)
    reason: str = ""
    intake: bool = field(default=False, metadata=_FLAG)


@dataclass(frozen=True)
class Escalated(Payload):
    """An offer not accepted within the acceptance target, gone to the receiving lead."""

    KIND = EventKind.ESCALATED
    offer_id: int = field(default=NEW_ROW, metadata=_ROW)
    what: str = "offer_not_accepted"
    # The one it would go to already owns the request, and there is nobody above them: the
    # escalation is recorded (the event has no person) and nobody is notified.
    nobody_above: bool = field(default=False, metadata=_FLAG)


@dataclass(frozen=True)
class Paused(Payload):
    KIND = EventKind.PAUSED
    reason: str = ""
    note: str = ""
    child_id: int | None = field(default=None, metadata=_ROW)


@dataclass(frozen=True)
class Resumed(Payload):
    """A wait ended; `child_id` (not stored: `why` names it) when a sub-request's resolution
    ended it."""

    KIND = EventKind.RESUMED
    reason: str | None = None
    why: str | None = None
    paused_business_seconds: float = 0.0
    child_id: int | None = field(default=None, metadata={"row": True, "stored": False})

    def renumbered(self, new_id: dict[int, int]) -> Payload:
        moved = super().renumbered(new_id)
        assert isinstance(moved, Resumed)
        if moved.child_id is None:
            return moved
        return replace(moved, why=sub_request_resolved(moved.child_id))


@dataclass(frozen=True)
class ClarificationAsked(Payload):
    KIND = EventKind.CLARIFICATION_ASKED
    question: str = ""


@dataclass(frozen=True)
class ClarificationAnswered(Payload):
    KIND = EventKind.CLARIFICATION_ANSWERED
    answer: str = ""
    paused_business_seconds: float = 0.0


@dataclass(frozen=True)
class UpdatePosted(Payload):
    KIND = EventKind.UPDATE_POSTED
    update_id: int = field(default=NEW_ROW, metadata=_ROW)
    from_requester: bool = field(default=False, metadata=_FLAG)


@dataclass(frozen=True)
class UpdateReminded(Payload):
    KIND = EventKind.UPDATE_REMINDED


@dataclass(frozen=True)
class UpdateEscalated(Payload):
    KIND = EventKind.UPDATE_ESCALATED
    owner_id: int | None = None
    # As for an offer's escalation: the owner is the one it would go to, and nobody is above.
    nobody_above: bool = field(default=False, metadata=_FLAG)


@dataclass(frozen=True)
class PromiseMade(Payload):
    KIND = EventKind.PROMISE_MADE
    promise_id: int = field(default=NEW_ROW, metadata=_ROW)
    what: str = ""
    due_at: datetime | None = None


@dataclass(frozen=True)
class PromiseKept(Payload):
    KIND = EventKind.PROMISE_KEPT
    promise_id: int = field(default=NEW_ROW, metadata=_ROW)
    note: str | None = None


@dataclass(frozen=True)
class PromiseBroken(Payload):
    """Broken by the sweeper at its due time, or marked done late (`late_note`)."""

    KIND = EventKind.PROMISE_BROKEN
    promise_id: int = field(default=NEW_ROW, metadata=_ROW)
    due_at: datetime | None = None
    late_note: str | None = None


@dataclass(frozen=True)
class Resolved(Payload):
    KIND = EventKind.RESOLVED
    resolution: str = ""
    # None: the request had no resolve-by time (imported history whose target is unknown), so
    # the resolution is not measured against one.
    within_target: bool | None = None


@dataclass(frozen=True)
class Reopened(Payload):
    KIND = EventKind.REOPENED
    reason: str = ""


@dataclass(frozen=True)
class Closed(Payload):
    KIND = EventKind.CLOSED
    auto: bool = field(default=False, metadata=_FLAG)


@dataclass(frozen=True)
class Rated(Payload):
    KIND = EventKind.RATED
    comment: str | None = None
    understand: int = 0
    own: int = 0
    serve: int = 0
    communicate: int = 0


@dataclass(frozen=True)
class FeedbackGiven(Payload):
    KIND = EventKind.FEEDBACK_GIVEN
    feedback_id: int = field(default=NEW_ROW, metadata=_ROW)
    kind: str = ""


@dataclass(frozen=True)
class CaseLinked(Payload):
    KIND = EventKind.CASE_LINKED
    case_id: int = field(default=NEW_ROW, metadata=_ROW)
    reference: str = ""


@dataclass(frozen=True)
class SubRequestOpened(Payload):
    KIND = EventKind.SUB_REQUEST_OPENED
    child_id: int = field(default=NEW_ROW, metadata=_ROW)


@dataclass(frozen=True)
class RequestWithdrawn(Payload):
    """The requester (or an admin) withdrew the request: it ends without being resolved."""

    KIND = EventKind.REQUEST_WITHDRAWN
    reason: str = ""


@dataclass(frozen=True)
class MergedInto(Payload):
    """On the duplicate: it was merged into `into_id` and ends there."""

    KIND = EventKind.MERGED_INTO
    into_id: int = field(default=NEW_ROW, metadata=_ROW)
    note: str | None = None


@dataclass(frozen=True)
class DuplicateMerged(Payload):
    """On the request a duplicate went into: its requester now takes part (`requester_id`),
    and the duplicate's customer cases it did not have are linked to it (`case_ids`)."""

    KIND = EventKind.DUPLICATE_MERGED
    duplicate_id: int = field(default=NEW_ROW, metadata=_ROW)
    requester_id: int | None = None
    case_ids: tuple[int, ...] | None = field(default=None, metadata=_ROW)


@dataclass(frozen=True)
class PromiseReleased(Payload):
    """An open promise let go because its request ended unresolved (withdrawn or merged):
    neither kept nor broken."""

    KIND = EventKind.PROMISE_RELEASED
    promise_id: int = field(default=NEW_ROW, metadata=_ROW)
    why: str = ""


@dataclass(frozen=True)
class ReturnedToRequester(Payload):
    """A declined intake with nowhere else to go: the requester is accountable again and
    chooses where it goes next (or withdraws it)."""

    KIND = EventKind.RETURNED_TO_REQUESTER
    offer_id: int = field(default=NEW_ROW, metadata=_ROW)
    reason: str = ""


@dataclass(frozen=True)
class AttachmentAdded(Payload):
    """A file attached to the request; the file itself is kept outside the database."""

    KIND = EventKind.ATTACHMENT_ADDED
    attachment_id: int = 0
    file_name: str = ""
    size_bytes: int = 0


@dataclass(frozen=True)
class NoteAdded(Payload):
    """An internal note, for the teams working the request only: the event names the note and
    never holds its words, so the history shown or exported to others says nothing of it."""

    KIND = EventKind.NOTE_ADDED
    note_id: int = 0


@dataclass(frozen=True)
class Recategorised(Payload):
    """The request moved from one catalog service to another (None: no service), and why; its
    targets follow the new service from now on."""

    KIND = EventKind.RECATEGORISED
    from_service_id: int | None = None
    to_service_id: int | None = None
    reason: str = ""


# -- an admin's changes: no request; the event's team is the team changed, its person the person


@dataclass(frozen=True)
class DepartmentAdded(Payload):
    """A department added; named here, as an event has no department of its own."""

    KIND = EventKind.DEPARTMENT_ADDED
    department_id: int = 0
    name: str = ""


@dataclass(frozen=True)
class TeamAdded(Payload):
    """A team added (the event's team): its department and how it works, in words."""

    KIND = EventKind.TEAM_ADDED
    name: str = ""
    department_id: int = 0
    summary: str = ""


@dataclass(frozen=True)
class PersonAdded(Payload):
    """A person added (the event's person). Never their password or its hash."""

    KIND = EventKind.PERSON_ADDED
    handle: str = ""
    name: str = ""
    is_admin: bool = field(default=False, metadata=_FLAG)
    may_sign_in: bool = field(default=False, metadata=_FLAG)


@dataclass(frozen=True)
class ServiceAdded(Payload):
    """A service added to the catalog (the event's team is the team that serves it), with its
    targets in words."""

    KIND = EventKind.SERVICE_ADDED
    service_id: int = 0
    name: str = ""
    confidential: bool = field(default=False, metadata=_FLAG)
    summary: str = ""


@dataclass(frozen=True)
class ServiceMailAddressSet(Payload):
    """How mail reaches a service (the event's team serves it): its tag on the desk's address
    and its own whole address, if any; what they were before, in words."""

    KIND = EventKind.SERVICE_MAIL_ADDRESS_SET
    service_id: int = 0
    slug: str = ""
    address: str | None = None
    before: str = ""


@dataclass(frozen=True)
class MailAddressFixed(Payload):
    """Mail to an address that bounced works again, an admin says (the event's person is whose
    address it is, when it is someone's on the desk)."""

    KIND = EventKind.MAIL_ADDRESS_FIXED
    address: str = ""


@dataclass(frozen=True)
class MailSentAgain(Payload):
    """Mail that had failed after its last try put back to be sent: how many messages."""

    KIND = EventKind.MAIL_SENT_AGAIN
    messages: int = 0


@dataclass(frozen=True)
class ChatChannelSwitchedOff(Payload):
    """The desk switched a chat channel off: every post to it failed for the whole retry
    window. The event's team or person is whose channel it is."""

    KIND = EventKind.CHAT_CHANNEL_SWITCHED_OFF
    channel_id: int = 0
    platform: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ChatChannelSwitchedOn(Payload):
    """An admin switched a chat channel on again (the desk had switched it off, and why)."""

    KIND = EventKind.CHAT_CHANNEL_SWITCHED_ON
    channel_id: int = 0
    platform: str = ""
    was: str = ""


@dataclass(frozen=True)
class OrganisationImported(Payload):
    """Departments, teams, people and services created or updated from files (`followthrough
    import org`), counted in words; run on the server, so no person is its actor."""

    KIND = EventKind.ORGANISATION_IMPORTED
    files: str = ""
    created: str = ""
    updated: str = ""


@dataclass(frozen=True)
class ServiceChanged(Payload):
    """A service's targets changed; the new values of those that changed, and what it was."""

    KIND = EventKind.SERVICE_CHANGED
    service_id: int = 0
    accept_target_hours: float | None = None
    update_every_hours: float | None = None
    resolve_target_hours: float | None = None
    auto_close_days: int | None = None
    summary: str = ""


@dataclass(frozen=True)
class TeamCalendarChanged(Payload):
    """A team's working hours changed: the calendar now, and what it was (`summary`)."""

    KIND = EventKind.TEAM_CALENDAR_CHANGED
    timezone: str = ""
    day_start: str = ""
    day_end: str = ""
    working_days: str = ""
    summary: str = ""


@dataclass(frozen=True)
class TeamRolesChanged(Payload):
    """A team's lead or duty owner changed (None: nobody holds the role now)."""

    KIND = EventKind.TEAM_ROLES_CHANGED
    lead_id: int | None = None
    duty_owner_id: int | None = None
    summary: str = ""


@dataclass(frozen=True)
class HolidayAdded(Payload):
    KIND = EventKind.HOLIDAY_ADDED
    day: str = ""
    name: str = ""


@dataclass(frozen=True)
class HolidayRemoved(Payload):
    KIND = EventKind.HOLIDAY_REMOVED
    day: str = ""
    name: str = ""


@dataclass(frozen=True)
class MemberAdded(Payload):
    KIND = EventKind.MEMBER_ADDED


@dataclass(frozen=True)
class MemberRemoved(Payload):
    KIND = EventKind.MEMBER_REMOVED


@dataclass(frozen=True)
class PersonDeactivated(Payload):
    """A person who may no longer sign in; the requests handed on from them and the offers to
    them withdrawn (each request has its own event too)."""

    KIND = EventKind.PERSON_DEACTIVATED
    handed_on: tuple[int, ...] | None = None
    offers_withdrawn: tuple[int, ...] | None = None


@dataclass(frozen=True)
class PersonReactivated(Payload):
    KIND = EventKind.PERSON_REACTIVATED


@dataclass(frozen=True)
class PasswordResetIssued(Payload):
    """An admin made a one-time link for the person to choose a new password."""

    KIND = EventKind.PASSWORD_RESET_ISSUED
    expires_at: datetime | None = None


@dataclass(frozen=True)
class PasswordChanged(Payload):
    """The person chose a new password (through a reset link)."""

    KIND = EventKind.PASSWORD_CHANGED


@dataclass(frozen=True)
class OwnerReassigned(Payload):
    """The request handed to a new owner without an offer (its owner left): the event's person
    is the new owner."""

    KIND = EventKind.OWNER_REASSIGNED
    previous_owner_id: int | None = None
    reason: str = ""


PAYLOADS: dict[EventKind, type[Payload]] = {
    cls.KIND: cls
    for cls in (
        Opened,
        Offered,
        Withdrawn,
        Accepted,
        Declined,
        Escalated,
        Paused,
        Resumed,
        ClarificationAsked,
        ClarificationAnswered,
        UpdatePosted,
        UpdateReminded,
        UpdateEscalated,
        PromiseMade,
        PromiseKept,
        PromiseBroken,
        Resolved,
        Reopened,
        Closed,
        Rated,
        FeedbackGiven,
        CaseLinked,
        SubRequestOpened,
        DepartmentAdded,
        TeamAdded,
        PersonAdded,
        ServiceAdded,
        ServiceMailAddressSet,
        MailAddressFixed,
        OrganisationImported,
        MailSentAgain,
        ChatChannelSwitchedOff,
        ChatChannelSwitchedOn,
        ServiceChanged,
        TeamCalendarChanged,
        TeamRolesChanged,
        HolidayAdded,
        HolidayRemoved,
        MemberAdded,
        MemberRemoved,
        PersonDeactivated,
        PersonReactivated,
        PasswordResetIssued,
        PasswordChanged,
        OwnerReassigned,
        RequestWithdrawn,
        MergedInto,
        DuplicateMerged,
        PromiseReleased,
        ReturnedToRequester,
        AttachmentAdded,
        NoteAdded,
        Recategorised,
    )
}
assert set(PAYLOADS) == set(EventKind), "one payload per event kind"


# Keys the importer adds to every event it writes besides the kind's own fields: the file the
# event came from, and whether the log only implied the event (an offer before a group change).
IMPORTED_FROM = "imported_from"
SYNTHETIC = "synthetic"


class UnknownEventKind(ValueError):
    """A stored kind no payload describes."""


def _stored_fields(cls: type[Payload]) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls) if f.metadata.get("stored", True) is not False)


def _accepted_types(cls: type[Payload]) -> dict[str, tuple[type, ...]]:
    """Each stored field's accepted Python types (None included when it is optional)."""
    hints = typing.get_type_hints(cls)
    accepted: dict[str, tuple[type, ...]] = {}
    for name in _stored_fields(cls):
        hint = hints[name]
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        accepted[name] = tuple(typing.get_origin(o) or o for o in options)
    return accepted


_FIELD_TYPES = {cls: _accepted_types(cls) for cls in PAYLOADS.values()}


def _read(value: Any, accepted: tuple[type, ...]) -> tuple[bool, Any]:
    """(True, the value as the field holds it) when a stored JSON value fits the field's
    types; (False, None) otherwise."""
    if value is None:
        return type(None) in accepted, None
    if bool in accepted:
        return (True, value) if isinstance(value, bool) else (False, None)
    if float in accepted and isinstance(value, int | float) and not isinstance(value, bool):
        return True, float(value)
    if int in accepted and isinstance(value, int) and not isinstance(value, bool):
        return True, value
    if str in accepted and isinstance(value, str):
        return True, value
    if datetime in accepted and isinstance(value, str):
        try:
            return True, datetime.fromisoformat(value)
        except ValueError:
            return False, None
    if (
        tuple in accepted
        and isinstance(value, list)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return True, tuple(value)
    return False, None


def from_json(kind: str, stored: Mapping[str, Any] | None) -> Payload:
    """The typed payload of a stored event: its kind's fields read from the JSON.

    Keys the kind does not have (an import's `imported_from`, the source system's columns) are
    left aside, and so is a value of the wrong type, which a log's column of the same name
    may hold: the field keeps its default then. Raises UnknownEventKind for a kind the product
    does not write.
    """
    try:
        cls = PAYLOADS[EventKind(kind)]
    except ValueError:
        raise UnknownEventKind(f"no payload for events of kind {kind!r}") from None
    if not stored:
        return cls()
    values: dict[str, Any] = {}
    for name, accepted in _FIELD_TYPES[cls].items():
        if name in stored:
            fits, value = _read(stored[name], accepted)
            if fits:
                values[name] = value
    return cls(**values)
