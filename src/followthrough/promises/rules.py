"""Promise rules: a promise is kept only if marked done before its due time."""

from __future__ import annotations

from datetime import datetime, timedelta

from followthrough.requests.vocabulary import PromiseState

OPEN = PromiseState.OPEN
KEPT = PromiseState.KEPT
BROKEN = PromiseState.BROKEN

# Owners get a nudge this long before a promise falls due.
REMINDER_LEAD = timedelta(minutes=30)


def outcome_when_done(due_at: datetime, done_at: datetime) -> PromiseState:
    """Done at or before the due time is kept; done late still counts as broken."""
    return KEPT if done_at <= due_at else BROKEN


def is_broken_by(due_at: datetime, now: datetime) -> bool:
    """An open promise breaks automatically at its due time."""
    return now >= due_at


def reminder_due_at(due_at: datetime) -> datetime:
    return due_at - REMINDER_LEAD
