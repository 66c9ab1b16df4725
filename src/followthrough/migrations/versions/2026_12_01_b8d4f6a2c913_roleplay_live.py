"""roleplay_live: facilitated role-play sessions, their members and what they marked live

Revision ID: b8d4f6a2c913
Revises: 5434dd079b12
Create Date: 2026-12-01 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "b8d4f6a2c913"
down_revision: str | None = "5434dd079b12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roleplay_live_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("scenario_name", sa.String(length=60), nullable=False),
        sa.Column(
            "facilitator_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_roleplay_live_session_facilitator_id_person"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_roleplay_live_session"),
        sa.UniqueConstraint("code", name="uq_roleplay_live_session_code"),
    )
    op.create_index(
        "ix_roleplay_live_session_facilitator_id", "roleplay_live_session", ["facilitator_id"]
    )
    op.create_table(
        "roleplay_live_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "live_session_id",
            sa.Integer(),
            sa.ForeignKey(
                "roleplay_live_session.id",
                name="fk_roleplay_live_member_live_session_id_roleplay_live_session",
            ),
            nullable=False,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_roleplay_live_member_person_id_person"),
            nullable=False,
        ),
        sa.Column("group_number", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roleplay_live_member"),
        sa.UniqueConstraint(
            "live_session_id",
            "person_id",
            name="uq_roleplay_live_member_live_session_id",
        ),
    )
    op.create_index(
        "ix_roleplay_live_member_live_session_id", "roleplay_live_member", ["live_session_id"]
    )
    op.create_index("ix_roleplay_live_member_person_id", "roleplay_live_member", ["person_id"])
    op.create_table(
        "roleplay_live_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "live_session_id",
            sa.Integer(),
            sa.ForeignKey(
                "roleplay_live_session.id",
                name="fk_roleplay_live_mark_live_session_id_roleplay_live_session",
            ),
            nullable=False,
        ),
        sa.Column("group_number", sa.Integer(), nullable=False),
        sa.Column(
            "author_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_roleplay_live_mark_author_id_person"),
            nullable=False,
        ),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("turn_number", sa.Integer(), nullable=False),
        sa.Column("heard", sa.JSON(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roleplay_live_mark"),
    )
    op.create_index(
        "ix_roleplay_live_mark_live_session_id", "roleplay_live_mark", ["live_session_id"]
    )


def downgrade() -> None:
    op.drop_table("roleplay_live_mark")
    op.drop_table("roleplay_live_member")
    op.drop_table("roleplay_live_session")
