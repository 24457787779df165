"""audit_log: who read or changed which patient's data

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-20 10:00:00
"""
from collections.abc import Sequence

from alembic import op

from shared import audit

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    audit.install(op.get_bind())  # audit_log, append-only by triggers (shared/audit.py)


def downgrade() -> None:
    raise RuntimeError("audit_log is the record of who touched which patient's data: it is not dropped by a downgrade")
