"""game_round_in_play: a game round is played in the background, and the console knows it

The facilitator's "Run round" answers at once and the round is simulated off the request (a
year of ten replications takes a minute or more); the session remembers which round is being
played and since when, so every server process shows it and refuses a second start, and why
the last run was not stored (a team changed its decisions meanwhile) for the console to say.

Revision ID: 9d4e1b7c2a60
Revises: 4bb440e13863
Create Date: 2026-12-02 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from followthrough.db import UTCDateTime

revision: str = "9d4e1b7c2a60"
down_revision: str | None = "4bb440e13863"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("game_session") as batch:
        batch.add_column(sa.Column("playing_round", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("playing_since", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("round_problem", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("game_session") as batch:
        batch.drop_column("round_problem")
        batch.drop_column("playing_since")
        batch.drop_column("playing_round")
