"""roleplay_live_one_per_role: one participant and one character per live group, enforced

Two people pressing Join at the same moment for the same group and role both passed the check
in the service; this partial unique index lets only one of them in (observers are many).

Revision ID: e3c7a1f5b902
Revises: c5e7a9b1d3f6
Create Date: 2026-12-01 06:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3c7a1f5b902"
down_revision: str | None = "c5e7a9b1d3f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_roleplay_live_member_group_role",
        "roleplay_live_member",
        ["live_session_id", "group_number", "role"],
        unique=True,
        sqlite_where=sa.text("role != 'observer'"),
        postgresql_where=sa.text("role != 'observer'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_roleplay_live_member_group_role",
        table_name="roleplay_live_member",
        sqlite_where=sa.text("role != 'observer'"),
        postgresql_where=sa.text("role != 'observer'"),
    )
