"""roleplay: attempts at role-play scenarios and their scored turns

A person plays a scenario alone; each attempt keeps the scenario text and version, and the rubric
and model that scored it. Turns name their speaker, and attempts may later belong to a live
session (live_session_id), so facilitated sessions with observers can hang on the same rows.

Revision ID: c2d8e4f6a1b3
Revises: a9d4c7e1b250
Create Date: 2026-12-01 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "c2d8e4f6a1b3"
down_revision: str | None = "a9d4c7e1b250"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roleplay_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_roleplay_attempt_person_id_person"),
            nullable=False,
        ),
        sa.Column("scenario_name", sa.String(length=60), nullable=False),
        sa.Column("scenario_version", sa.Integer(), nullable=False),
        sa.Column("scenario_text", sa.Text(), nullable=False),
        sa.Column("rubric_version", sa.String(length=32), nullable=False),
        sa.Column("model_name", sa.String(length=60), nullable=False),
        sa.Column("node", sa.String(length=60), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("turns_taken", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("live_session_id", sa.Integer(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_roleplay_attempt"),
    )
    op.create_index("ix_roleplay_attempt_person_id", "roleplay_attempt", ["person_id"])
    op.create_index("ix_roleplay_attempt_live_session_id", "roleplay_attempt", ["live_session_id"])
    op.create_table(
        "roleplay_turn",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "attempt_id",
            sa.Integer(),
            sa.ForeignKey(
                "roleplay_attempt.id", name="fk_roleplay_turn_attempt_id_roleplay_attempt"
            ),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("node", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("choice_index", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("node_after", sa.String(length=60), nullable=False),
        sa.Column("state_after", sa.JSON(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roleplay_turn"),
        sa.UniqueConstraint("attempt_id", "number", name="uq_roleplay_turn_attempt_id"),
    )
    op.create_index("ix_roleplay_turn_attempt_id", "roleplay_turn", ["attempt_id"])


def downgrade() -> None:
    op.drop_index("ix_roleplay_turn_attempt_id", table_name="roleplay_turn")
    op.drop_table("roleplay_turn")
    op.drop_index("ix_roleplay_attempt_live_session_id", table_name="roleplay_attempt")
    op.drop_index("ix_roleplay_attempt_person_id", table_name="roleplay_attempt")
    op.drop_table("roleplay_attempt")
