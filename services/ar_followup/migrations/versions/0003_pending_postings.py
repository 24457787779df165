"""a payment that arrives before its claim waits on the claim's row

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 05:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('ar_claim', sa.Column('pending_postings', postgresql.JSONB(astext_type=sa.Text()),
                                        server_default='[]', nullable=False))


def downgrade() -> None:
    op.drop_column('ar_claim', 'pending_postings')
