"""mail out: each outbox row's Message-ID, hold, claim and summary; notification choices

The outbox row keeps the Message-ID it is sent under (fixed before the first try), when it may
go (quiet hours, a retry's wait), until when a sender has claimed it, the daily summary it goes
in and the last error. Each person's notification choices per kind, quiet hours and summary time.

Revision ID: a9d4c7e1b250
Revises: a7c4e9d2b815
Create Date: 2026-12-01 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "a9d4c7e1b250"
down_revision: str | None = "a7c4e9d2b815"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("outbox_message", sa.Column("message_id", sa.String(255), nullable=True))
    op.add_column("outbox_message", sa.Column("not_before", UTCDateTime(), nullable=True))
    op.add_column("outbox_message", sa.Column("claimed_until", UTCDateTime(), nullable=True))
    op.add_column("outbox_message", sa.Column("digest_of", _ID, nullable=True))
    op.add_column("outbox_message", sa.Column("last_error", sa.Text(), nullable=True))
    op.create_table(
        "notification_choice",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_notification_choice_person_id_person")
        ),
        sa.PrimaryKeyConstraint("person_id", "kind", name=op.f("pk_notification_choice")),
    )
    op.create_table(
        "notification_schedule",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("quiet_start_minute", sa.Integer(), nullable=True),
        sa.Column("quiet_end_minute", sa.Integer(), nullable=True),
        sa.Column("digest_minute", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_notification_schedule_person_id_person")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_notification_schedule")),
    )


def downgrade() -> None:
    op.drop_table("notification_schedule")
    op.drop_table("notification_choice")
    with op.batch_alter_table("outbox_message") as batch_op:
        for column in ("last_error", "digest_of", "claimed_until", "not_before", "message_id"):
            batch_op.drop_column(column)
