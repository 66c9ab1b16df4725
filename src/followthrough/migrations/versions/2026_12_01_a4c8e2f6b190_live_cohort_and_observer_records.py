"""live_cohort_and_observer_records: a live role-play session held for a training cohort, and
an observer's score as a learning record

`learning_live_session` links a live session to the cohort it was held for (one at most);
`xapi_statement.mark_id` names the observer's score a statement records.

Revision ID: a4c8e2f6b190
Revises: e3c7a1f5b902
Create Date: 2026-12-01 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "a4c8e2f6b190"
down_revision: str | None = "e3c7a1f5b902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learning_live_session",
        sa.Column(
            "live_session_id",
            sa.Integer(),
            sa.ForeignKey(
                "roleplay_live_session.id",
                name="fk_learning_live_session_live_session_id_roleplay_live_session",
            ),
            nullable=False,
        ),
        sa.Column(
            "cohort_id",
            sa.Integer(),
            sa.ForeignKey(
                "learning_cohort.id", name="fk_learning_live_session_cohort_id_learning_cohort"
            ),
            nullable=False,
        ),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column(
            "linked_by",
            sa.Integer(),
            sa.ForeignKey("person.id", name="fk_learning_live_session_linked_by_person"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("live_session_id", name="pk_learning_live_session"),
    )
    op.create_index("ix_learning_live_session_cohort_id", "learning_live_session", ["cohort_id"])
    with op.batch_alter_table("xapi_statement") as batch:
        batch.add_column(sa.Column("mark_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_xapi_statement_mark_id_roleplay_live_mark",
            "roleplay_live_mark",
            ["mark_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("xapi_statement") as batch:
        batch.drop_constraint("fk_xapi_statement_mark_id_roleplay_live_mark", type_="foreignkey")
        batch.drop_column("mark_id")
    op.drop_index("ix_learning_live_session_cohort_id", table_name="learning_live_session")
    op.drop_table("learning_live_session")
