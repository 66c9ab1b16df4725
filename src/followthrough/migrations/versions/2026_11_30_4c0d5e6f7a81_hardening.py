"""hardening: failed sign-in / join attempts for throttling, and periodic job runs

Revision ID: 4c0d5e6f7a81
Revises: 3b6f0d2a9e41
Create Date: 2026-11-30 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "4c0d5e6f7a81"
down_revision: str | None = "3b6f0d2a9e41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "failed_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_attempt")),
    )
    with op.batch_alter_table("failed_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_failed_attempt_kind_account_at", ["kind", "account", "at"], unique=False
        )
        batch_op.create_index(
            "ix_failed_attempt_kind_address_at", ["kind", "address", "at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_failed_attempt_at"), ["at"], unique=False)
    op.create_table(
        "job_run",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_run_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_run")),
    )


def downgrade() -> None:
    op.drop_table("job_run")
    with op.batch_alter_table("failed_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_failed_attempt_at"))
        batch_op.drop_index("ix_failed_attempt_kind_address_at")
        batch_op.drop_index("ix_failed_attempt_kind_account_at")
    op.drop_table("failed_attempt")
