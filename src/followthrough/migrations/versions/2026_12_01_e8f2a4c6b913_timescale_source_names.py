"""request.eta_basis: each timescale source under the one name every page uses

Stored estimates ended with "(from history)" or "(calibrated model)", and the raise page and
the request page named the same kind of source differently. The names now come from
`timescale.rules.SOURCE_NAMES` ("this service's record", "forecast for this request"); a "too
little history to be sure" sentence says its source already and carries no mark. Only the
words change: which estimate a request has stays as it was.

Revision ID: e8f2a4c6b913
Revises: d4b7e2a61c38
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8f2a4c6b913"
down_revision: str | None = "d4b7e2a61c38"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (old ending, new ending), in this order: the too-little sentences first, so their mark is
# dropped rather than renamed. The names are written out, not imported: a migration keeps the
# words of its day.
RENAMES = (
    ("; too little history to be sure (from history)", "; too little history to be sure"),
    ("; too little history to be sure (calibrated model)", "; too little history to be sure"),
    (" (from history)", " (this service's record)"),
    (" (calibrated model)", " (forecast for this request)"),
)


def _rename(old: str, new: str) -> None:
    # Only the ending is replaced (LIKE '%' || old); REPLACE would also touch the middle. None of
    # the endings holds a LIKE wildcard.
    op.execute(
        sa.text(
            "UPDATE request SET eta_basis = SUBSTR(eta_basis, 1, LENGTH(eta_basis) - :cut) || :new"
            " WHERE eta_basis LIKE '%' || :old"
        ).bindparams(cut=len(old), new=new, old=old)
    )


def upgrade() -> None:
    for old, new in RENAMES:
        _rename(old, new)


def downgrade() -> None:
    # The too-little sentences cannot say which source they came from any more; they stay.
    _rename(" (this service's record)", " (from history)")
    _rename(" (forecast for this request)", " (calibrated model)")
