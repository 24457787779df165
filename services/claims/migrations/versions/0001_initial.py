"""initial

Revision ID: 0001
Revises: 
Create Date: 2026-11-30 04:27:27.021526
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
    _create_claim()
    _create_patient_and_encounter()
    _create_submission_batch()
    create_messaging_tables()
    op.execute("CREATE SEQUENCE interchange_control_number MINVALUE 1 MAXVALUE 999999999 CYCLE")


def _create_claim() -> None:
    op.create_table('claim',
    sa.Column('claim_id', sa.Uuid(), nullable=False),
    sa.Column('patient_control_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('encounter_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('payer_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('payer_name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('date_of_service', sa.Date(), nullable=False),
    sa.Column('total_charge', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('findings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('correlation_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('claim_id'),
    sa.UniqueConstraint('encounter_id'),
    sa.UniqueConstraint('patient_control_number')
    )
    op.create_index(op.f('ix_claim_batch_id'), 'claim', ['batch_id'], unique=False)
    op.create_index(op.f('ix_claim_patient_id'), 'claim', ['patient_id'], unique=False)
    op.create_index(op.f('ix_claim_status'), 'claim', ['status'], unique=False)


def _create_patient_and_encounter() -> None:
    op.create_table('claim_patient',
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('patient_id')
    )
    op.create_table('coded_encounter',
    sa.Column('encounter_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('correlation_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('encounter_id')
    )
    op.create_index(op.f('ix_coded_encounter_patient_id'), 'coded_encounter', ['patient_id'], unique=False)
    op.create_index(op.f('ix_coded_encounter_status'), 'coded_encounter', ['status'], unique=False)


def _create_submission_batch() -> None:
    op.create_table('submission_batch',
    sa.Column('batch_id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('interchange_control_number', sa.Integer(), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('claim_count', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('batch_id'),
    sa.UniqueConstraint('interchange_control_number')
    )
    op.create_index(op.f('ix_submission_batch_status'), 'submission_batch', ['status'], unique=False)


def downgrade() -> None:
    drop_messaging_tables()
    op.execute("DROP SEQUENCE IF EXISTS interchange_control_number")
    op.drop_index(op.f('ix_submission_batch_status'), table_name='submission_batch')
    op.drop_table('submission_batch')
    op.drop_index(op.f('ix_coded_encounter_status'), table_name='coded_encounter')
    op.drop_index(op.f('ix_coded_encounter_patient_id'), table_name='coded_encounter')
    op.drop_table('coded_encounter')
    op.drop_table('claim_patient')
    op.drop_index(op.f('ix_claim_status'), table_name='claim')
    op.drop_index(op.f('ix_claim_patient_id'), table_name='claim')
    op.drop_index(op.f('ix_claim_batch_id'), table_name='claim')
    op.drop_table('claim')
