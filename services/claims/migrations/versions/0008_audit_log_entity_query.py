"""audit_log.entity_query: the filters of a search as the reader asked them (FHIR AuditEvent.entity.query)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 02:00:00
"""

from collections.abc import Sequence

from alembic import op

from shared.audit import ADD_ENTITY_QUERY

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(ADD_ENTITY_QUERY)


def downgrade() -> None:
    op.drop_column("audit_log", "entity_query")
