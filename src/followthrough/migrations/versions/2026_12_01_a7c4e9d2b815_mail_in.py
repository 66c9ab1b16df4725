"""mail_in: mail received and what became of it, bouncing addresses, service mail addresses

Every mail received is recorded once (its Message-ID and what it says), so a copy changes
nothing and a reused Message-ID with new words is still heard. An address that bounced for good
gets no mail until someone fixes it. A service can be reached by "desk+s-{slug}@" or an address
of its own.

Revision ID: a7c4e9d2b815
Revises: f1a2c3d4e5b6
Create Date: 2026-12-01 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "a7c4e9d2b815"
down_revision: str | None = "f1a2c3d4e5b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("came_by", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "request_id",
            sa.Integer(),
            sa.ForeignKey("request.id", name="fk_inbound_mail_request_id_request"),
            nullable=True,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_inbound_mail_person_id_person"),
            nullable=True,
        ),
        sa.Column("attachments", sa.Integer(), nullable=False),
        sa.Column("answer_state", sa.String(length=12), nullable=True),
        sa.Column("answer_to", sa.String(length=254), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_mail"),
        sa.UniqueConstraint("message_id", "content_hash", name="uq_inbound_mail_message_content"),
    )
    op.create_index("ix_inbound_mail_sender_received", "inbound_mail", ["sender", "received_at"])
    op.create_index("ix_inbound_mail_answer_state", "inbound_mail", ["answer_state"])
    op.create_table(
        "bouncing_address",
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("first_bounced_at", UTCDateTime(), nullable=False),
        sa.Column("last_bounced_at", UTCDateTime(), nullable=False),
        sa.Column("bounces", sa.Integer(), nullable=False),
        sa.Column(
            "request_id",
            sa.Integer(),
            sa.ForeignKey("request.id", name="fk_bouncing_address_request_id_request"),
            nullable=True,
        ),
        sa.Column("fixed_at", UTCDateTime(), nullable=True),
        sa.Column(
            "fixed_by_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_bouncing_address_fixed_by_id_person"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("address", name="pk_bouncing_address"),
    )
    op.create_table(
        "service_mail_address",
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("service.id", name="fk_service_mail_address_service_id_service"),
            nullable=False,
        ),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("service_id", name="pk_service_mail_address"),
        sa.UniqueConstraint("slug", name="uq_service_mail_address_slug"),
        sa.UniqueConstraint("address", name="uq_service_mail_address_address"),
    )


def downgrade() -> None:
    op.drop_table("service_mail_address")
    op.drop_table("bouncing_address")
    op.drop_index("ix_inbound_mail_answer_state", table_name="inbound_mail")
    op.drop_index("ix_inbound_mail_sender_received", table_name="inbound_mail")
    op.drop_table("inbound_mail")
