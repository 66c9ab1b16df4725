"""HTTP API for the caller's own notification choices (the profile page's, as JSON)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from followthrough.mail.preferences import KIND_LABELS, Delivery, Preference
from followthrough.mail.preferences_form import preference_from
from followthrough.mail.preferences_service import preference_of, save_preference
from followthrough.web.deps import CurrentPerson, DbSession, UnitOfWorkRoute
from followthrough.web.schemas import Input

router = APIRouter(
    route_class=UnitOfWorkRoute, prefix="/me/notification-choices", tags=["notification choices"]
)

CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


class QuietHoursIn(Input):
    start: str = Field(pattern=CLOCK_TIME, description="On your own clock, e.g. 22:00")
    end: str = Field(pattern=CLOCK_TIME, description="e.g. 07:00; may be after midnight")


class ChoicesIn(Input):
    kinds: dict[str, Delivery] = Field(
        default_factory=dict,
        max_length=len(KIND_LABELS),
        description="Per notification kind: at_once, daily_digest or off; a kind left out "
        "is sent at once",
    )
    quiet_hours: QuietHoursIn | None = Field(
        default=None, description="Nothing is sent at once between these times; none if null"
    )
    digest_at: str = Field(default="08:00", pattern=CLOCK_TIME, description="Daily summary time")


class QuietHoursOut(BaseModel):
    start: str
    end: str


class ChoicesOut(BaseModel):
    kinds: dict[str, Delivery] = Field(description="Every notification kind and how it is sent")
    kind_labels: dict[str, str] = Field(description="What each kind is about, in words")
    quiet_hours: QuietHoursOut | None
    digest_at: str


def _out(preference: Preference) -> ChoicesOut:
    quiet = preference.quiet
    return ChoicesOut(
        kinds={kind: preference.for_kind(kind) for kind in KIND_LABELS},
        kind_labels=dict(KIND_LABELS),
        quiet_hours=None
        if quiet is None
        else QuietHoursOut(start=quiet.start.strftime("%H:%M"), end=quiet.end.strftime("%H:%M")),
        digest_at=preference.digest_at.strftime("%H:%M"),
    )


@router.get("", response_model=ChoicesOut)
def choices(session: DbSession, person: CurrentPerson) -> ChoicesOut:
    """How the caller is sent each kind of notification, their quiet hours and summary time."""
    return _out(preference_of(session, person.id))


@router.put("", response_model=ChoicesOut)
def replace_choices(body: ChoicesIn, session: DbSession, person: CurrentPerson) -> ChoicesOut:
    """Replace the caller's choices; mail, chat and webhooks follow them from the next send."""
    quiet = body.quiet_hours
    chosen = preference_from(
        {kind: delivery.value for kind, delivery in body.kinds.items()},
        None if quiet is None else quiet.start,
        None if quiet is None else quiet.end,
        body.digest_at,
    )
    save_preference(session, person.id, chosen)
    return _out(chosen)
