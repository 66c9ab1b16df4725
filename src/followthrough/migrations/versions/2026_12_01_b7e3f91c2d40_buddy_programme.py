"""buddy programme: enrolments (opt in or out, trios welcome), rounds and who was grouped with whom

A person takes part only with an enrolment row saying they opted in. Each round keeps its seed
and counts; each assignment row is a person's group in a round (none: left out, told so and
paired first next round) and their answer to "did you meet?".

Revision ID: b7e3f91c2d40
Revises: c2d8e4f6a1b3
Create Date: 2026-12-01 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "b7e3f91c2d40"
down_revision: str | None = "c2d8e4f6a1b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "buddy_enrolment",
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_buddy_enrolment_person_id_person"),
            nullable=False,
        ),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("prefers_trio", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_buddy_enrolment"),
    )
    op.create_table(
        "buddy_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paired_at", UTCDateTime(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("left_out", sa.Integer(), nullable=False),
        sa.Column("asked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_buddy_round"),
    )
    op.create_index("ix_buddy_round_paired_at", "buddy_round", ["paired_at"])
    op.create_table(
        "buddy_assignment",
        sa.Column(
            "round_id",
            sa.Integer(),
            sa.ForeignKey("buddy_round.id", name="fk_buddy_assignment_round_id_buddy_round"),
            nullable=False,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_buddy_assignment_person_id_person"),
            nullable=False,
        ),
        sa.Column("group_number", sa.Integer(), nullable=True),
        sa.Column("met", sa.Boolean(), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("round_id", "person_id", name="pk_buddy_assignment"),
    )
    op.create_index("ix_buddy_assignment_person_id", "buddy_assignment", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_buddy_assignment_person_id", table_name="buddy_assignment")
    op.drop_table("buddy_assignment")
    op.drop_index("ix_buddy_round_paired_at", table_name="buddy_round")
    op.drop_table("buddy_round")
    op.drop_table("buddy_enrolment")
