"""attachments, internal notes, and the notification history's index

Attachments keep their metadata here and their bytes in the configured store; internal notes
are for the teams working a request; a person's notifications are listed newest first.

Revision ID: c5e1f3a9d027
Revises: a7c3e9d2f415
Create Date: 2026-12-01 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "c5e1f3a9d027"
down_revision: str | None = "a7c3e9d2f415"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "request_id",
            sa.Integer(),
            sa.ForeignKey("request.id", name="fk_attachment_request_id_request"),
            nullable=False,
        ),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column(
            "added_by_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_attachment_added_by_id_person"),
            nullable=False,
        ),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attachment"),
        sa.UniqueConstraint("storage_key", name="uq_attachment_storage_key"),
    )
    op.create_index("ix_attachment_request_id_id", "attachment", ["request_id", "id"])
    op.create_table(
        "internal_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "request_id",
            sa.Integer(),
            sa.ForeignKey("request.id", name="fk_internal_note_request_id_request"),
            nullable=False,
        ),
        sa.Column(
            "author_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_internal_note_author_id_person"),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_internal_note"),
    )
    op.create_index("ix_internal_note_request_id_id", "internal_note", ["request_id", "id"])
    op.create_index(
        "ix_notification_person_created", "notification", ["person_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_notification_person_created", table_name="notification")
    op.drop_index("ix_internal_note_request_id_id", table_name="internal_note")
    op.drop_table("internal_note")
    op.drop_index("ix_attachment_request_id_id", table_name="attachment")
    op.drop_table("attachment")
