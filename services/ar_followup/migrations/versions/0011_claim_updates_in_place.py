"""ar_claim: no index on status (no query looks claims up by it), and room left on each page, so that
updating a claim (its status changes with most events) rewrites it on its own page without a new
entry in each of its indexes (a HOT update)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_ar_claim_status", table_name="ar_claim")
    op.execute("ALTER TABLE ar_claim SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE ar_claim RESET (fillfactor)")
    op.create_index("ix_ar_claim_status", "ar_claim", ["status"])
