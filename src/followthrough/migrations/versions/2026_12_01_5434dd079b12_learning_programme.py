"""training programme: modules, cohorts, sessions, attendance, completion, competency
evidence (who rated it and when) and learning plans

Revision ID: 5434dd079b12
Revises: a3c5e7f9b1d2
Create Date: 2026-12-01 05:47:54.141486
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import followthrough.db

revision: str = "5434dd079b12"
down_revision: str | None = "a3c5e7f9b1d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learning_module",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("added_at", followthrough.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_module")),
        sa.UniqueConstraint("name", name=op.f("uq_learning_module_name")),
    )
    op.create_table(
        "learning_cohort",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("opened_at", followthrough.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["learning_module.id"],
            name=op.f("fk_learning_cohort_module_id_learning_module"),
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"], ["person.id"], name=op.f("fk_learning_cohort_opened_by_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_cohort")),
    )
    with op.batch_alter_table("learning_cohort", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_learning_cohort_module_id"), ["module_id"], unique=False
        )

    op.create_table(
        "learning_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("block", sa.String(length=12), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("rated_by", sa.Integer(), nullable=True),
        sa.Column("rated_at", followthrough.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_learning_evidence_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["rated_by"], ["person.id"], name=op.f("fk_learning_evidence_rated_by_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_evidence")),
    )
    with op.batch_alter_table("learning_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_learning_evidence_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "learning_cohort_member",
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("enrolled_at", followthrough.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", followthrough.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["learning_cohort.id"],
            name=op.f("fk_learning_cohort_member_cohort_id_learning_cohort"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_learning_cohort_member_person_id_person")
        ),
        sa.PrimaryKeyConstraint("cohort_id", "person_id", name=op.f("pk_learning_cohort_member")),
    )
    with op.batch_alter_table("learning_cohort_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_learning_cohort_member_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "learning_plan_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("due_at", followthrough.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", followthrough.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"], ["person.id"], name=op.f("fk_learning_plan_item_added_by_person")
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["learning_module.id"],
            name=op.f("fk_learning_plan_item_module_id_learning_module"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_learning_plan_item_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_learning_plan_item_team_id_team")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_plan_item")),
    )
    with op.batch_alter_table("learning_plan_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_learning_plan_item_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_learning_plan_item_team_id"), ["team_id"], unique=False
        )

    op.create_table(
        "learning_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", followthrough.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", followthrough.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["learning_cohort.id"],
            name=op.f("fk_learning_session_cohort_id_learning_cohort"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_session")),
    )
    with op.batch_alter_table("learning_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_learning_session_cohort_id"), ["cohort_id"], unique=False
        )

    op.create_table(
        "learning_attendance",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", followthrough.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_learning_attendance_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["person.id"], name=op.f("fk_learning_attendance_recorded_by_person")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["learning_session.id"],
            name=op.f("fk_learning_attendance_session_id_learning_session"),
        ),
        sa.PrimaryKeyConstraint("session_id", "person_id", name=op.f("pk_learning_attendance")),
    )


def downgrade() -> None:
    op.drop_table("learning_attendance")
    with op.batch_alter_table("learning_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_session_cohort_id"))

    op.drop_table("learning_session")
    with op.batch_alter_table("learning_plan_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_plan_item_team_id"))
        batch_op.drop_index(batch_op.f("ix_learning_plan_item_person_id"))

    op.drop_table("learning_plan_item")
    with op.batch_alter_table("learning_cohort_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_cohort_member_person_id"))

    op.drop_table("learning_cohort_member")
    with op.batch_alter_table("learning_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_evidence_person_id"))

    op.drop_table("learning_evidence")
    with op.batch_alter_table("learning_cohort", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_cohort_module_id"))

    op.drop_table("learning_cohort")
    op.drop_table("learning_module")
