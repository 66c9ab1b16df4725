"""person.timezone and person.locale: each person's own time zone and locale

Times were shown and typed in UTC for everyone. A person's zone (an IANA name such as
Asia/Kolkata) and locale (a CLDR name such as en_GB) say how times are shown to them and how a
time they type is read. Both stay empty until the browser's guess is stored at sign-in or the
person chooses on their profile; empty means UTC and the desk's default locale.

Revision ID: 7a3c9e1f2b45
Revises: 6e2f7a8b9c03
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a3c9e1f2b45"
down_revision: str | None = "6e2f7a8b9c03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE both ways, never a batch: on SQLite a batch rebuilds the person table, and
# a rebuilt table loses the org-revision triggers (7d2e4b91c0a3) that tell every worker's
# organisation snapshot the organisation changed. SQLite drops a column in place since 3.35.


def upgrade() -> None:
    op.add_column("person", sa.Column("timezone", sa.String(length=64), nullable=True))
    op.add_column("person", sa.Column("locale", sa.String(length=35), nullable=True))


def downgrade() -> None:
    op.drop_column("person", "locale")
    op.drop_column("person", "timezone")
