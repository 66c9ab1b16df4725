"""Mail in: every mail received and what the desk did with it, addresses that bounce, and the
addresses that open a request for a service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class InboundMail(Base):
    """One mail received (by the receiver or from the mailbox) and the outcome.

    A mail is the same mail when its Message-ID AND what it says (`content_hash`) are the same:
    a second copy (a list copied on a reply-all, a mailbox fetched twice) is recorded nowhere
    and changes nothing, while a sender who reuses a Message-ID for new words is still heard.
    A refusal to send back (`answer_state` "pending") is queued here in the same transaction.
    """

    __tablename__ = "inbound_mail"
    __table_args__ = (
        UniqueConstraint("message_id", "content_hash", name="uq_inbound_mail_message_content"),
        # The rate limit counts a sender's recent mail.
        Index("ix_inbound_mail_sender_received", "sender", "received_at"),
        Index("ix_inbound_mail_answer_state", "answer_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998))
    content_hash: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # How it came: "smtp" (the receiver), "lmtp", "imap".
    came_by: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    # Why, in the words the refusal (if any) uses.
    reason: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"), default=None)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    attachments: Mapped[int] = mapped_column(Integer, default=0)
    # The polite answer to a person's mail the desk could not take: "pending" until sent.
    answer_state: Mapped[str | None] = mapped_column(String(12), default=None)
    answer_to: Mapped[str | None] = mapped_column(String(254), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class BouncingAddress(Base):
    """An address mail to which failed for good. Nothing is sent to it while `fixed_at` is
    empty; someone fixes it (a corrected address, a mailbox back) from the admin page."""

    __tablename__ = "bouncing_address"

    address: Mapped[str] = mapped_column(String(254), primary_key=True)
    first_bounced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_bounced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bounces: Mapped[int] = mapped_column(Integer, default=1)
    # The request the bounced mail was about, when the report names it.
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"), default=None)
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    fixed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)


class ServiceMailAddress(Base):
    """How mail reaches a service: its tag on the desk's address ("desk+s-{slug}@...") and,
    if the organisation set one up, a whole address of its own (claims@example.com)."""

    __tablename__ = "service_mail_address"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str | None] = mapped_column(String(254), unique=True, default=None)
