"""chat_channel_switched_off: a chat channel that keeps failing is switched off, with why

A channel remembers when a post last got through and, once switched off by the desk, why, so
the admin page can show it and an admin can switch it on again (as webhooks already do).

Revision ID: 4bb440e13863
Revises: a4c8e2f6b190
Create Date: 2026-12-01 08:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "4bb440e13863"
down_revision: str | None = "a4c8e2f6b190"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_route") as batch:
        batch.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_success_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_route") as batch:
        batch.drop_column("last_success_at")
        batch.drop_column("disabled_reason")
