"""Imports every table so Alembic and the tests see the whole schema."""

from followthrough.attachments.models import Attachment
from followthrough.auth.models import ApiToken, FailedAttempt, IdempotentResponse, WebSession
from followthrough.cases.models import Case, RequestCase
from followthrough.db import Base
from followthrough.feedback.models import ColleagueFeedback, Rating
from followthrough.history.models import Event
from followthrough.insight.models import Recognition
from followthrough.notes.models import InternalNote
from followthrough.notify.models import Notification, OutboxMessage
from followthrough.org.models import Department, Holiday, Membership, Person, Service, Team
from followthrough.practice.models import GameDecision, GameResult, GameSession, GameTeam
from followthrough.promises.models import Promise
from followthrough.requests.models import (
    Offer,
    PathStep,
    Pause,
    Request,
    RequestParticipant,
    RequestUpdate,
)
from followthrough.search.models import RequestSearch, SavedView
from followthrough.sweeper.models import JobRun
from followthrough.timescale.models import EtaModelRow, EtaPrediction, TimescaleCurve

__all__ = [
    "ApiToken",
    "Attachment",
    "Base",
    "Case",
    "ColleagueFeedback",
    "Department",
    "EtaModelRow",
    "EtaPrediction",
    "Event",
    "FailedAttempt",
    "GameDecision",
    "GameResult",
    "GameSession",
    "GameTeam",
    "Holiday",
    "IdempotentResponse",
    "InternalNote",
    "JobRun",
    "Membership",
    "Notification",
    "Offer",
    "OutboxMessage",
    "PathStep",
    "Pause",
    "Person",
    "Promise",
    "Rating",
    "Recognition",
    "Request",
    "RequestCase",
    "RequestParticipant",
    "RequestSearch",
    "RequestUpdate",
    "SavedView",
    "Service",
    "Team",
    "TimescaleCurve",
    "WebSession",
]
