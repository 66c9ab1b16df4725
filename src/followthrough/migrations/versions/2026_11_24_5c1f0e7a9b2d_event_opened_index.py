"""event opened index: each request's opening time, for the scorecard's time to resolve

Revision ID: 5c1f0e7a9b2d
Revises: 94bd93f6d829
Create Date: 2026-11-24 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1f0e7a9b2d"
down_revision: str | None = "94bd93f6d829"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Partial: one entry per request, so the write path pays only on `opened` events.
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_opened_request_id",
            ["request_id", "at"],
            unique=False,
            sqlite_where=sa.text("kind = 'opened'"),
            postgresql_where=sa.text("kind = 'opened'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_event_opened_request_id",
            sqlite_where=sa.text("kind = 'opened'"),
            postgresql_where=sa.text("kind = 'opened'"),
        )
