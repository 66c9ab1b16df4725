"""Imports every table so Alembic and the tests see the whole schema."""

from followthrough.attachments.models import Attachment
from followthrough.auth.models import ApiToken, FailedAttempt, IdempotentResponse, WebSession
from followthrough.cases.models import Case, RequestCase
from followthrough.chat.models import ChatPost, ChatRoute
from followthrough.db import Base
from followthrough.feedback.models import ColleagueFeedback, Rating
from followthrough.history.models import Event
from followthrough.insight.models import Recognition
from followthrough.learning.models import (
    Attendance,
    CohortMember,
    CompetencyEvidence,
    LearningCohort,
    LearningModule,
    LearningSession,
    LiveSessionCohort,
    PlanItem,
)
from followthrough.links.models import UsedActionLink
from followthrough.mail.inbound_models import BouncingAddress, InboundMail, ServiceMailAddress
from followthrough.mail.models import NotificationChoice, NotificationSchedule
from followthrough.notes.models import InternalNote
from followthrough.notify.models import Notification, OutboxMessage
from followthrough.org.models import Department, Holiday, Membership, Person, Service, Team
from followthrough.practice.models import GameDecision, GameResult, GameSession, GameTeam
from followthrough.practice.roleplay.live_models import LiveMark, LiveMember, LiveSession
from followthrough.practice.roleplay.models import RolePlayAttempt, RolePlayTurn
from followthrough.practice.roleplay.xapi_models import XapiStatement
from followthrough.programmes.lunch_models import LunchSession, LunchSignup
from followthrough.programmes.messages_models import LeaderMessage
from followthrough.programmes.models import BuddyAssignment, BuddyEnrolment, BuddyRound
from followthrough.programmes.shadowing_models import (
    ShadowingBooking,
    ShadowingReflection,
    ShadowingSlot,
)
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
from followthrough.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    WebhookSubscriptionKind,
)

__all__ = [
    "ApiToken",
    "Attachment",
    "Attendance",
    "Base",
    "BouncingAddress",
    "BuddyAssignment",
    "BuddyEnrolment",
    "BuddyRound",
    "Case",
    "ChatPost",
    "ChatRoute",
    "CohortMember",
    "ColleagueFeedback",
    "CompetencyEvidence",
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
    "InboundMail",
    "InternalNote",
    "JobRun",
    "LeaderMessage",
    "LearningCohort",
    "LearningModule",
    "LearningSession",
    "LiveMark",
    "LiveMember",
    "LiveSession",
    "LiveSessionCohort",
    "LunchSession",
    "LunchSignup",
    "Membership",
    "Notification",
    "NotificationChoice",
    "NotificationSchedule",
    "Offer",
    "OutboxMessage",
    "PathStep",
    "Pause",
    "Person",
    "PlanItem",
    "Promise",
    "Rating",
    "Recognition",
    "Request",
    "RequestCase",
    "RequestParticipant",
    "RequestSearch",
    "RequestUpdate",
    "RolePlayAttempt",
    "RolePlayTurn",
    "SavedView",
    "Service",
    "ServiceMailAddress",
    "ShadowingBooking",
    "ShadowingReflection",
    "ShadowingSlot",
    "Team",
    "TimescaleCurve",
    "UsedActionLink",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "WebhookSubscriptionKind",
    "XapiStatement",
]
