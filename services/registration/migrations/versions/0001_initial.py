"""initial

Revision ID: 0001
Revises: 
Create Date: 2026-11-30 04:27:26.615985
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from shared.migrations import OUTBOX_NOTIFY_SQL
from sqlalchemy.dialects import postgresql
revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('consumer', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('value', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('patient',
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('mrn', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('patient_id'),
    sa.UniqueConstraint('mrn')
    )
    for statement in OUTBOX_NOTIFY_SQL:
        op.execute(statement)

def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS outbox_notify() CASCADE")
    op.drop_table('patient')
    op.drop_table('outbox')
    op.drop_table('inbox')
