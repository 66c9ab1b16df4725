"""lunch and learn: sessions anyone proposes, and sign-ups (attendance and feedback)

Revision ID: b4d6f8a0c2e4
Revises: c7e9a1b3d5f8
Create Date: 2026-12-01 06:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "b4d6f8a0c2e4"
down_revision: str | None = "c7e9a1b3d5f8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, referred: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{referred}.id", name=f"fk_{table}_{column}_{referred}")


def upgrade() -> None:
    op.create_table(
        "lunch_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("team_id", sa.Integer(), _fk("lunch_session", "team_id", "team"), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column(
            "proposed_by",
            sa.Integer(),
            _fk("lunch_session", "proposed_by", "person"),
            nullable=False,
        ),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.Column("notes_link", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_lunch_session"),
    )
    op.create_index("ix_lunch_session_team_id", "lunch_session", ["team_id"])
    op.create_index("ix_lunch_session_starts_at", "lunch_session", ["starts_at"])
    op.create_table(
        "lunch_signup",
        sa.Column(
            "session_id",
            sa.Integer(),
            _fk("lunch_signup", "session_id", "lunch_session"),
            nullable=False,
        ),
        sa.Column(
            "person_id", sa.Integer(), _fk("lunch_signup", "person_id", "person"), nullable=False
        ),
        sa.Column("signed_up_at", UTCDateTime(), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("feedback_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("session_id", "person_id", name="pk_lunch_signup"),
    )
    op.create_index("ix_lunch_signup_person_id", "lunch_signup", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_lunch_signup_person_id", table_name="lunch_signup")
    op.drop_table("lunch_signup")
    op.drop_index("ix_lunch_session_starts_at", table_name="lunch_session")
    op.drop_index("ix_lunch_session_team_id", table_name="lunch_session")
    op.drop_table("lunch_session")
