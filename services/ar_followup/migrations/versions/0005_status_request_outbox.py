"""a 276 is recorded in the cycle's transaction and written out after it commits

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('ar_status_request', sa.Column('document', sa.Text(), nullable=True))
    op.add_column('ar_status_request', sa.Column('written_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE ar_status_request SET written_at = sent_at")  # the files of earlier requests are out


def downgrade() -> None:
    op.drop_column('ar_status_request', 'written_at')
    op.drop_column('ar_status_request', 'document')
