"""audit_log; the coder's display name beside their subject

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-20 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from shared import audit

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    audit.install(op.get_bind())  # audit_log, append-only by triggers (shared/audit.py)
    name = sqlmodel.sql.sqltypes.AutoString(length=255)
    op.add_column('coding_outcome', sa.Column('coded_by_name', name, nullable=True))
    op.add_column('coding_audit', sa.Column('actor_name', name, nullable=True))


def downgrade() -> None:
    raise RuntimeError("audit_log is the record of who touched which patient's data: it is not dropped by a downgrade")
