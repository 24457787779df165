"""audit_log; who requested, decided, owns and resolved, by subject and display name

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-20 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from shared import audit

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    audit.install(op.get_bind())  # audit_log, append-only by triggers (shared/audit.py)
    name, subject = sqlmodel.sql.sqltypes.AutoString(length=255), sqlmodel.sql.sqltypes.AutoString(length=64)
    op.add_column('ar_work_item', sa.Column('owner_name', name, nullable=True))
    op.add_column('ar_work_item', sa.Column('resolved_by', subject, nullable=True))
    op.add_column('ar_work_item', sa.Column('resolved_by_name', name, nullable=True))
    op.add_column('ar_adjustment', sa.Column('requested_by_name', name, nullable=True))
    op.add_column('ar_adjustment', sa.Column('decided_by_name', name, nullable=True))


def downgrade() -> None:
    raise RuntimeError("audit_log is the record of who touched which patient's data: it is not dropped by a downgrade")
