"""claim: indexes that hold only the rows their queries look for, and the content kept out of line

A claim row is written four times (made, batched, submitted, acknowledged) and none of the updates
can be HOT (status is indexed), so every version was entered in all ten indexes: ~40 index entries
and four copies of the ~2.3 kB content per claim. Now:
- status, grouping_key and acknowledgement are indexed only where they are asked about: the ready
  claims (the next batch, the open claim of a grouping key) and the submitted claims still awaiting
  a 277CA; original_claim_id only where there is one. A claim enters each of these once.
- content is stored out of line, uncompressed (STORAGE EXTERNAL, toast_tuple_target 1024): written
  once when the claim is made; the updates copy a pointer, not the content (0010 kept it inline to
  avoid a pglz attempt at every write: EXTERNAL never compresses).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTIAL = {
    "ix_claim_ready": "(created_at) WHERE status = 'ready'",
    "ix_claim_open_by_key": "(grouping_key) WHERE status = 'ready'",
    "ix_claim_awaiting_ack": "(submitted_at) WHERE status = 'submitted' AND acknowledgement IS NULL",
    "ix_claim_original_claim_id": "(original_claim_id) WHERE original_claim_id IS NOT NULL",
}
FULL = {
    "ix_claim_status": "(status)",
    "ix_claim_grouping_key": "(grouping_key)",
    "ix_claim_acknowledgement": "(acknowledgement)",
    "ix_claim_original_claim_id": "(original_claim_id)",
}


def upgrade() -> None:
    for name in FULL:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for name, definition in PARTIAL.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON claim {definition}")
    op.execute("ALTER TABLE claim ALTER COLUMN content SET STORAGE EXTERNAL")
    op.execute("ALTER TABLE claim SET (toast_tuple_target = 1024)")


def downgrade() -> None:
    op.execute("ALTER TABLE claim SET (toast_tuple_target = 8160)")
    op.execute("ALTER TABLE claim ALTER COLUMN content SET STORAGE EXTENDED")
    for name in PARTIAL:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for name, definition in FULL.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON claim {definition}")
