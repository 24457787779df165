"""the coder queue's order as an index: a page of a long queue costs what a page of a short one does

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-21 09:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_coding_outcome_queue ON coding_outcome (decided_at, encounter_id) "
        "WHERE status = 'queued'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_coding_outcome_queue")
