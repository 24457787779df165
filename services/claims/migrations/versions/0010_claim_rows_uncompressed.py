"""claim: rows kept uncompressed up to a page's size (the claim's content, ~2.3 kB as jsonb, went to pglz
whenever a row was written: the default target is ~2 kB)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE claim SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    op.execute("ALTER TABLE claim RESET (toast_tuple_target)")
