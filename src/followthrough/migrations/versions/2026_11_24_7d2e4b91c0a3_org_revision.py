"""org revision: a counter moved by triggers on every organisation table

Revision ID: 7d2e4b91c0a3
Revises: 5c1f0e7a9b2d
Create Date: 2026-11-24 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d2e4b91c0a3"
down_revision: str | None = "5c1f0e7a9b2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables a process keeps a copy of (followthrough.org.snapshot); a change to any of them
# moves the revision, so every process's copy is known to be stale from that commit on.
ORG_TABLES = ("department", "team", "person", "membership", "holiday", "service")

BUMP = (
    "INSERT INTO org_revision (id, revision) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET revision = org_revision.revision + 1"
)


def upgrade() -> None:
    op.create_table(
        "org_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_revision")),
    )
    op.execute("INSERT INTO org_revision (id, revision) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION org_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in ORG_TABLES:
            # Once per statement, and on TRUNCATE too: a bulk change moves it once.
            op.execute(
                f"CREATE TRIGGER org_revision_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
                f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION org_revision_bump()"
            )
        return
    for table in ORG_TABLES:
        for action in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER org_revision_{table}_{action.lower()} AFTER {action} ON {table}"
                f" BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ORG_TABLES:
            op.execute(f"DROP TRIGGER org_revision_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS org_revision_bump()")
    else:
        for table in ORG_TABLES:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER org_revision_{table}_{action}")
    op.drop_table("org_revision")
