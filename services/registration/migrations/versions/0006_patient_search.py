"""patient search: by name prefix, birth date and MRN at any facility

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-21 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_patient_search_name": """patient (lower(content #>> '{patient,last_name}') COLLATE "C",
                                          lower(content #>> '{patient,first_name}') COLLATE "C", patient_id)""",
    "ix_patient_search_birth_date": "patient ((content #>> '{patient,birth_date}'))",
    "ix_patient_identifier_mrn": "patient_identifier (split_part(value, '|', 2)) WHERE kind = 'mrn'",
}


def upgrade() -> None:
    for name, definition in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
