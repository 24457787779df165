"""claim_event (each 999/277CA that answered a claim, each fix of a held claim) and the work queue's order as an index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-21 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'claim_event',
        sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column('claim_id', sa.Uuid(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=True),
        sa.Column('accepted', sa.Boolean(), nullable=True),
        sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('actor_name', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_claim_event_claim_id', 'claim_event', ['claim_id'])
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_claim_work_queue ON claim (created_at, claim_id) "
        "WHERE status = 'held' OR acknowledgement = 'rejected'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_claim_work_queue")
    op.drop_index('ix_claim_event_claim_id', table_name='claim_event')
    op.drop_table('claim_event')
