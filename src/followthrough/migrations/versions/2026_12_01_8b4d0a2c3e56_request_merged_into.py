"""request.merged_into_id: a duplicate merged into another request points to it

A request merged as a duplicate ends in the state `merged`; the column names the request it
was merged into, so both pages can show the link and a merge into it can be refused when it
would close a circle.

Revision ID: 8b4d0a2c3e56
Revises: 7a3c9e1f2b45
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b4d0a2c3e56"
down_revision: str | None = "7a3c9e1f2b45"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("request") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_request_merged_into_id_request", "request", ["merged_into_id"], ["id"]
        )
        # The request page lists the duplicates merged into it.
        batch.create_index("ix_request_merged_into_id", ["merged_into_id"])


def downgrade() -> None:
    with op.batch_alter_table("request") as batch:
        batch.drop_index("ix_request_merged_into_id")
        batch.drop_constraint("fk_request_merged_into_id_request", type_="foreignkey")
        batch.drop_column("merged_into_id")
