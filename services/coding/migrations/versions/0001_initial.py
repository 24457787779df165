"""initial

Revision ID: 0001
Revises: 
Create Date: 2026-11-30 04:27:26.813979
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
    op.create_table('coding_outcome',
    sa.Column('encounter_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('findings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('coded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('correlation_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('encounter_id')
    )
    op.create_index(op.f('ix_coding_outcome_patient_id'), 'coding_outcome', ['patient_id'], unique=False)
    create_messaging_tables()

def downgrade() -> None:
    drop_messaging_tables()
    op.drop_index(op.f('ix_coding_outcome_patient_id'), table_name='coding_outcome')
    op.drop_table('coding_outcome')
