"""password_reset: one-time links for a person to choose a new password

An admin can make a link (shown to them once) that lets a person choose a new password within
24 hours, once. Only a hash of the link's secret is stored, and the admin never learns the
password: safer than a temporary password, which the admin would know and pass on.

Revision ID: d4b7e2a61c38
Revises: c5e1f3a9d027
Create Date: 2026-12-01 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "d4b7e2a61c38"
down_revision: str | None = "c5e1f3a9d027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_password_reset_person_id_person"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_by_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_password_reset_created_by_id_person"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_password_reset"),
        sa.UniqueConstraint("token_hash", name="uq_password_reset_token_hash"),
    )
    op.create_index("ix_password_reset_person_id", "password_reset", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_password_reset_person_id", table_name="password_reset")
    op.drop_table("password_reset")
