"""service targets within a year of business hours

Older databases may hold a target the edge now refuses (the API, the admin page and `import org`
once accepted 1e308 hours, after which opening a request on that service failed): clamp each to
what a calendar can count out, and on PostgreSQL let the table refuse such a value from now on.
SQLite would have to rebuild the table, which every request refers to, to add the constraint;
there the edge (followthrough.fields.Hours) is the only guard.

Revision ID: 5d1e6f7a8b92
Revises: 4c0d5e6f7a81
Create Date: 2026-11-30 20:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5d1e6f7a8b92"
down_revision: str | None = "4c0d5e6f7a81"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# followthrough.fields.MAX_TARGET_HOURS and MAX_AUTO_CLOSE_DAYS, as they were when written.
MAX_HOURS = 8760.0
MAX_DAYS = 365
TARGETS = {"accept_target_hours": 4.0, "update_every_hours": 8.0, "resolve_target_hours": 24.0}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for column, default in TARGETS.items():
        # PostgreSQL orders NaN above every number, so "> MAX_HOURS" clamps it too; SQLite
        # cannot store NaN in a NOT NULL column at all.
        op.execute(f"UPDATE service SET {column} = {MAX_HOURS} WHERE {column} > {MAX_HOURS}")
        op.execute(f"UPDATE service SET {column} = {default} WHERE {column} <= 0")
    op.execute(
        f"UPDATE service SET auto_close_days = {MAX_DAYS} WHERE auto_close_days > {MAX_DAYS}"
    )
    op.execute("UPDATE service SET auto_close_days = 1 WHERE auto_close_days < 1")
    if postgres:
        for column in TARGETS:
            op.create_check_constraint(
                op.f(f"ck_service_{column}_bounds"),
                "service",
                f"{column} > 0 AND {column} <= {MAX_HOURS}",
            )
        op.create_check_constraint(
            op.f("ck_service_auto_close_days_bounds"),
            "service",
            f"auto_close_days BETWEEN 1 AND {MAX_DAYS}",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in [*TARGETS, "auto_close_days"]:
            op.drop_constraint(op.f(f"ck_service_{column}_bounds"), "service", type_="check")
