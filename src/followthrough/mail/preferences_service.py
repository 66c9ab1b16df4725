"""Reading and saving each person's notification choices (rules in mail.preferences)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from followthrough.db import row_to_change
from followthrough.mail.models import NotificationChoice, NotificationSchedule
from followthrough.mail.preferences import (
    DEFAULT_DIGEST_AT,
    KIND_LABELS,
    Delivery,
    Preference,
    QuietHours,
)


def _time(minute: int) -> time:
    return time(minute // 60, minute % 60)


def _minute(value: time) -> int:
    return value.hour * 60 + value.minute


def preferences_of(session: Session, person_ids: Iterable[int]) -> dict[int, Preference]:
    """Each person's choices (defaults for a person who made none), in two queries."""
    ids = sorted(set(person_ids))
    kinds: dict[int, dict[str, Delivery]] = {person: {} for person in ids}
    schedules: dict[int, NotificationSchedule] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for choice in session.scalars(
            select(NotificationChoice).where(NotificationChoice.person_id.in_(chunk))
        ):
            try:
                kinds[choice.person_id][choice.kind] = Delivery(choice.delivery)
            except ValueError:
                continue  # a value no longer offered counts as no choice: sent at once
        for row in session.scalars(
            select(NotificationSchedule).where(NotificationSchedule.person_id.in_(chunk))
        ):
            schedules[row.person_id] = row
    found = {}
    for person in ids:
        schedule = schedules.get(person)
        quiet = None
        digest_at = DEFAULT_DIGEST_AT
        if schedule is not None:
            digest_at = _time(schedule.digest_minute)
            if schedule.quiet_start_minute is not None and schedule.quiet_end_minute is not None:
                quiet = QuietHours(
                    _time(schedule.quiet_start_minute), _time(schedule.quiet_end_minute)
                )
        found[person] = Preference(by_kind=kinds[person], quiet=quiet, digest_at=digest_at)
    return found


def preference_of(session: Session, person_id: int) -> Preference:
    return preferences_of(session, [person_id])[person_id]


def _schedule_to_change(session: Session, person_id: int) -> NotificationSchedule:
    return row_to_change(
        session,
        NotificationSchedule,
        {"person_id": person_id},
        lambda: NotificationSchedule(person_id=person_id),
    )


def save_preference(session: Session, person_id: int, preference: Preference) -> None:
    """Replace the person's choices with these (flushes; the caller's unit of work commits)."""
    unknown = set(preference.by_kind) - set(KIND_LABELS)
    if unknown:
        raise ValueError(f"unknown notification kind(s): {', '.join(sorted(unknown))}")
    # The schedule row first: it stands for the person's choices, so two saves at once take
    # turns (the delete and insert of the second see the first's rows) instead of colliding.
    schedule = _schedule_to_change(session, person_id)
    session.execute(delete(NotificationChoice).where(NotificationChoice.person_id == person_id))
    session.add_all(
        NotificationChoice(person_id=person_id, kind=kind, delivery=delivery.value)
        for kind, delivery in sorted(preference.by_kind.items())
        if delivery is not Delivery.AT_ONCE
    )
    quiet = preference.quiet
    schedule.quiet_start_minute = None if quiet is None else _minute(quiet.start)
    schedule.quiet_end_minute = None if quiet is None else _minute(quiet.end)
    schedule.digest_minute = _minute(preference.digest_at)
    session.flush()


def turn_off(session: Session, person_id: int, kind: str) -> list[str]:
    """Stop one kind of mail for the person (an unsubscribe link), or with kind "digest" every
    kind they get in their daily summary; their other choices stay. The kinds turned off."""
    _schedule_to_change(session, person_id)  # no other save changes the choices meanwhile
    current = preference_of(session, person_id)
    by_kind = dict(current.by_kind)
    if kind == "digest":
        kinds = [k for k, chosen in by_kind.items() if chosen is Delivery.DAILY_DIGEST]
    else:
        kinds = [kind]
    for each in kinds:
        by_kind[each] = Delivery.OFF
    save_preference(
        session,
        person_id,
        Preference(by_kind=by_kind, quiet=current.quiet, digest_at=current.digest_at),
    )
    return kinds
