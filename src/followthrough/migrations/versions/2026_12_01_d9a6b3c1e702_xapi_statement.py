"""xapi_statement: the learning-record outbox, one row per role-play statement to send

Written in the same transaction as the attempt or turn it records; the sweeper sends pending rows
to the learning record store with retries.

Revision ID: d9a6b3c1e702
Revises: b7e3f91c2d40
Create Date: 2026-12-01 05:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "d9a6b3c1e702"
down_revision: str | None = "b7e3f91c2d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "xapi_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(length=80), nullable=False),
        sa.Column("verb", sa.String(length=12), nullable=False),
        sa.Column(
            "attempt_id",
            sa.Integer(),
            sa.ForeignKey(
                "roleplay_attempt.id", name="fk_xapi_statement_attempt_id_roleplay_attempt"
            ),
            nullable=False,
        ),
        sa.Column(
            "turn_id",
            sa.Integer(),
            sa.ForeignKey("roleplay_turn.id", name="fk_xapi_statement_turn_id_roleplay_turn"),
            nullable=True,
        ),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_try_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_xapi_statement"),
        sa.UniqueConstraint("record_key", name="uq_xapi_statement_record_key"),
    )
    op.create_index("ix_xapi_statement_attempt_id", "xapi_statement", ["attempt_id"])
    op.create_index("ix_xapi_statement_created_at", "xapi_statement", ["created_at"])
    op.create_index(
        "ix_xapi_statement_state_next_try_at", "xapi_statement", ["state", "next_try_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_xapi_statement_state_next_try_at", table_name="xapi_statement")
    op.drop_index("ix_xapi_statement_created_at", table_name="xapi_statement")
    op.drop_index("ix_xapi_statement_attempt_id", table_name="xapi_statement")
    op.drop_table("xapi_statement")
