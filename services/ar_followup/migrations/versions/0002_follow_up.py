"""follow-up: work queue, write-offs, patient accounts, statements, status requests

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 05:07:34.572431
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _create_follow_up_tables()
    _create_work_queue()
    _add_claim_follow_up_columns()


def _create_follow_up_tables() -> None:
    op.create_table('ar_adjustment',
    sa.Column('adjustment_id', sa.Uuid(), nullable=False),
    sa.Column('claim_id', sa.Uuid(), nullable=False),
    sa.Column('party', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('reason_code', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('adjustment_id')
    )
    op.create_index(op.f('ix_ar_adjustment_claim_id'), 'ar_adjustment', ['claim_id'], unique=False)
    op.create_table('ar_patient_account',
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('person', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('coverages', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('first_statement_on', sa.Date(), nullable=True),
    sa.Column('last_statement_on', sa.Date(), nullable=True),
    sa.Column('last_stage', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('plan_installment', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.PrimaryKeyConstraint('patient_id')
    )
    op.create_table('ar_statement',
    sa.Column('statement_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('balance', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('amount_due', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('document', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.PrimaryKeyConstraint('statement_id')
    )
    op.create_index(op.f('ix_ar_statement_patient_id'), 'ar_statement', ['patient_id'], unique=False)
    op.create_table('ar_status_request',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('claim_id', sa.Uuid(), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.PrimaryKeyConstraint('request_id')
    )
    op.create_index(op.f('ix_ar_status_request_claim_id'), 'ar_status_request', ['claim_id'], unique=False)


def _create_work_queue() -> None:
    op.create_table('ar_work_item',
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('claim_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('resolution', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('item_id')
    )
    op.create_index(op.f('ix_ar_work_item_claim_id'), 'ar_work_item', ['claim_id'], unique=False)
    op.create_index(op.f('ix_ar_work_item_status'), 'ar_work_item', ['status'], unique=False)
    op.create_index('ux_ar_work_item_open', 'ar_work_item', ['claim_id', 'kind'], unique=True, postgresql_where=sa.text("status = 'open'"))


def _add_claim_follow_up_columns() -> None:
    op.add_column('ar_claim', sa.Column('encounter_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column('ar_claim', sa.Column('root_claim_id', sa.Uuid(), nullable=True))
    op.add_column('ar_claim', sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False, server_default='primary'))
    op.add_column('ar_claim', sa.Column('secondary_pending', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('ar_claim', sa.Column('secondary_payer_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
    op.add_column('ar_claim', sa.Column('payer_claim_control_number', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True))
    op.add_column('ar_claim', sa.Column('submissions', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('ar_claim', sa.Column('rejected', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('ar_claim', sa.Column('first_pass_paid', sa.Boolean(), nullable=True))
    op.add_column('ar_claim', sa.Column('denial_codes', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False))
    op.add_column('ar_claim', sa.Column('first_paid_on', sa.Date(), nullable=True))
    op.add_column('ar_claim', sa.Column('filing_deadline', sa.Date(), nullable=True))
    op.add_column('ar_claim', sa.Column('payer_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
    # claims already in the ledger were submitted once (defaults above keep existing rows valid)
    op.execute("UPDATE ar_claim SET submissions = 1 WHERE submitted_at IS NOT NULL")
    op.create_index(op.f('ix_ar_claim_encounter_id'), 'ar_claim', ['encounter_id'], unique=False)
    op.create_index(op.f('ix_ar_claim_root_claim_id'), 'ar_claim', ['root_claim_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ar_claim_root_claim_id'), table_name='ar_claim')
    op.drop_index(op.f('ix_ar_claim_encounter_id'), table_name='ar_claim')
    op.drop_column('ar_claim', 'payer_status')
    op.drop_column('ar_claim', 'filing_deadline')
    op.drop_column('ar_claim', 'first_paid_on')
    op.drop_column('ar_claim', 'denial_codes')
    op.drop_column('ar_claim', 'first_pass_paid')
    op.drop_column('ar_claim', 'rejected')
    op.drop_column('ar_claim', 'submissions')
    op.drop_column('ar_claim', 'payer_claim_control_number')
    op.drop_column('ar_claim', 'secondary_payer_id')
    op.drop_column('ar_claim', 'secondary_pending')
    op.drop_column('ar_claim', 'role')
    op.drop_column('ar_claim', 'root_claim_id')
    op.drop_column('ar_claim', 'encounter_id')
    op.drop_index('ux_ar_work_item_open', table_name='ar_work_item', postgresql_where=sa.text("status = 'open'"))
    op.drop_index(op.f('ix_ar_work_item_status'), table_name='ar_work_item')
    op.drop_index(op.f('ix_ar_work_item_claim_id'), table_name='ar_work_item')
    op.drop_table('ar_work_item')
    op.drop_index(op.f('ix_ar_status_request_claim_id'), table_name='ar_status_request')
    op.drop_table('ar_status_request')
    op.drop_index(op.f('ix_ar_statement_patient_id'), table_name='ar_statement')
    op.drop_table('ar_statement')
    op.drop_table('ar_patient_account')
    op.drop_index(op.f('ix_ar_adjustment_claim_id'), table_name='ar_adjustment')
    op.drop_table('ar_adjustment')
