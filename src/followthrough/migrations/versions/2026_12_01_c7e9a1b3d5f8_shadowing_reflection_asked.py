"""job shadowing: when host and guest were asked, after the visit, what surprised them

Revision ID: c7e9a1b3d5f8
Revises: b8d4f6a2c913
Create Date: 2026-12-01 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "c7e9a1b3d5f8"
down_revision: str | None = "b8d4f6a2c913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shadowing_booking") as batch:
        batch.add_column(sa.Column("reflection_asked_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shadowing_booking") as batch:
        batch.drop_column("reflection_asked_at")
