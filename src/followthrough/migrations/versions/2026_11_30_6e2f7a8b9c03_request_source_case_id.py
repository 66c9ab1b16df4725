"""request.source_case_id: the case id an imported request had in the system it came from

Imported requests used to keep the other system's case id only in their first event's payload;
a column lets a reader find the request by it, and lets a title fall back on the service and
the case id instead of repeating it.

Revision ID: 6e2f7a8b9c03
Revises: 5d1e6f7a8b92
Create Date: 2026-11-30 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6e2f7a8b9c03"
down_revision: str | None = "5d1e6f7a8b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("request") as batch:
        batch.add_column(sa.Column("source_case_id", sa.String(length=200), nullable=True))
        batch.create_index("ix_request_source_case_id", ["source_case_id"])


def downgrade() -> None:
    with op.batch_alter_table("request") as batch:
        batch.drop_index("ix_request_source_case_id")
        batch.drop_column("source_case_id")
