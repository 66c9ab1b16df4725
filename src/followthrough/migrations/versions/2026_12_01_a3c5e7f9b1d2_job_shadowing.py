"""job shadowing: slots hosts offer, bookings of them (one live booking per slot), reflections;
and a notification's calendar part (an invitation or cancellation its mail carries)

Revision ID: a3c5e7f9b1d2
Revises: d9a6b3c1e702
Create Date: 2026-12-01 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "a3c5e7f9b1d2"
down_revision: str | None = "d9a6b3c1e702"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, referred: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{referred}.id", name=f"fk_{table}_{column}_{referred}")


def upgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("calendar", sa.Text(), nullable=True))
    op.create_table(
        "shadowing_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "team_id", sa.Integer(), _fk("shadowing_slot", "team_id", "team"), nullable=False
        ),
        sa.Column(
            "host_id", sa.Integer(), _fk("shadowing_slot", "host_id", "person"), nullable=False
        ),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("offered_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_shadowing_slot"),
    )
    op.create_index("ix_shadowing_slot_team_id", "shadowing_slot", ["team_id"])
    op.create_index("ix_shadowing_slot_host_id", "shadowing_slot", ["host_id"])
    op.create_index("ix_shadowing_slot_starts_at", "shadowing_slot", ["starts_at"])
    op.create_table(
        "shadowing_booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "slot_id",
            sa.Integer(),
            _fk("shadowing_booking", "slot_id", "shadowing_slot"),
            nullable=False,
        ),
        sa.Column(
            "guest_id", sa.Integer(), _fk("shadowing_booking", "guest_id", "person"), nullable=False
        ),
        sa.Column(
            "guest_team_id",
            sa.Integer(),
            _fk("shadowing_booking", "guest_team_id", "team"),
            nullable=False,
        ),
        sa.Column("booked_at", UTCDateTime(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column(
            "cancelled_by",
            sa.Integer(),
            _fk("shadowing_booking", "cancelled_by", "person"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_shadowing_booking"),
    )
    op.create_index("ix_shadowing_booking_guest_id", "shadowing_booking", ["guest_id"])
    op.create_index(
        "uq_shadowing_booking_live_slot",
        "shadowing_booking",
        ["slot_id"],
        unique=True,
        sqlite_where=sa.text("cancelled_at IS NULL"),
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )
    op.create_table(
        "shadowing_reflection",
        sa.Column(
            "booking_id",
            sa.Integer(),
            _fk("shadowing_reflection", "booking_id", "shadowing_booking"),
            nullable=False,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            _fk("shadowing_reflection", "person_id", "person"),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", "person_id", name="pk_shadowing_reflection"),
    )


def downgrade() -> None:
    op.drop_table("shadowing_reflection")
    op.drop_index("uq_shadowing_booking_live_slot", table_name="shadowing_booking")
    op.drop_index("ix_shadowing_booking_guest_id", table_name="shadowing_booking")
    op.drop_table("shadowing_booking")
    op.drop_index("ix_shadowing_slot_starts_at", table_name="shadowing_slot")
    op.drop_index("ix_shadowing_slot_host_id", table_name="shadowing_slot")
    op.drop_index("ix_shadowing_slot_team_id", table_name="shadowing_slot")
    op.drop_table("shadowing_slot")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("calendar")
