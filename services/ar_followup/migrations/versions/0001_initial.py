"""initial

Revision ID: 0001
Revises: 
Create Date: 2026-11-30 04:27:27.326131
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from shared.migrations import create_messaging_tables, drop_messaging_tables
revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ar_claim',
    sa.Column('claim_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=True),
    sa.Column('payer_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('payer_name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('date_of_service', sa.Date(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('adjudicated', sa.Boolean(), nullable=False),
    sa.Column('denied', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.PrimaryKeyConstraint('claim_id')
    )
    op.create_index(op.f('ix_ar_claim_patient_id'), 'ar_claim', ['patient_id'], unique=False)
    op.create_index(op.f('ix_ar_claim_status'), 'ar_claim', ['status'], unique=False)
    op.create_table('ledger_entry',
    sa.Column('entry_id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('claim_id', sa.Uuid(), nullable=False),
    sa.Column('source_event_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('entry_id'),
    sa.UniqueConstraint('source_event_id', 'kind')
    )
    op.create_index(op.f('ix_ledger_entry_claim_id'), 'ledger_entry', ['claim_id'], unique=False)
    create_messaging_tables()

def downgrade() -> None:
    drop_messaging_tables()
    op.drop_index(op.f('ix_ledger_entry_claim_id'), table_name='ledger_entry')
    op.drop_table('ledger_entry')
    op.drop_index(op.f('ix_ar_claim_status'), table_name='ar_claim')
    op.drop_index(op.f('ix_ar_claim_patient_id'), table_name='ar_claim')
    op.drop_table('ar_claim')
