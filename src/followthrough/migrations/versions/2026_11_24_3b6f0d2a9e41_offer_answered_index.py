"""offer answered index: a team's offers by state and answer time, for the lead board

Revision ID: 3b6f0d2a9e41
Revises: 7d2e4b91c0a3
Create Date: 2026-11-24 04:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3b6f0d2a9e41"
down_revision: str | None = "7d2e4b91c0a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Extends (to_team_id, state): every query that used it can use this one.
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_offer_to_team_state_answered", ["to_team_id", "state", "answered_at"], unique=False
        )
        batch_op.drop_index("ix_offer_to_team_state")


def downgrade() -> None:
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.create_index("ix_offer_to_team_state", ["to_team_id", "state"], unique=False)
        batch_op.drop_index("ix_offer_to_team_state_answered")
