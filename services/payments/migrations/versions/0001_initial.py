"""initial

Revision ID: 0001
Revises: 
Create Date: 2026-11-30 04:27:27.155977
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from shared.migrations import create_messaging_tables, drop_messaging_tables
from sqlalchemy.dialects import postgresql
revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('claim_payment',
    sa.Column('posting_id', sa.Uuid(), nullable=False),
    sa.Column('era_id', sa.Integer(), nullable=False),
    sa.Column('patient_control_number', sqlmodel.sql.sqltypes.AutoString(length=38), nullable=False),
    sa.Column('claim_id', sa.Uuid(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('paid', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('claim_payment', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('remittance_header', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('posting_id')
    )
    op.create_index(op.f('ix_claim_payment_claim_id'), 'claim_payment', ['claim_id'], unique=False)
    op.create_index(op.f('ix_claim_payment_era_id'), 'claim_payment', ['era_id'], unique=False)
    op.create_index(op.f('ix_claim_payment_patient_control_number'), 'claim_payment', ['patient_control_number'], unique=False)
    op.create_index(op.f('ix_claim_payment_status'), 'claim_payment', ['status'], unique=False)
    op.create_table('era_file',
    sa.Column('era_id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('claim_payments', sa.Integer(), nullable=False),
    sa.Column('total_paid', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('era_id'),
    sa.UniqueConstraint('sha256')
    )
    op.create_table('known_claim',
    sa.Column('claim_id', sa.Uuid(), nullable=False),
    sa.Column('patient_control_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('payer_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('payer_name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('date_of_service', sa.Date(), nullable=False),
    sa.Column('total_charge', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('line_numbers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('correlation_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('claim_id'),
    sa.UniqueConstraint('patient_control_number')
    )
    create_messaging_tables()

def downgrade() -> None:
    drop_messaging_tables()
    op.drop_table('known_claim')
    op.drop_table('era_file')
    op.drop_index(op.f('ix_claim_payment_status'), table_name='claim_payment')
    op.drop_index(op.f('ix_claim_payment_patient_control_number'), table_name='claim_payment')
    op.drop_index(op.f('ix_claim_payment_era_id'), table_name='claim_payment')
    op.drop_index(op.f('ix_claim_payment_claim_id'), table_name='claim_payment')
    op.drop_table('claim_payment')
