"""coding_outcome and coding_audit: their documents as json; no index on the outcome's patient (no
query asks by it)

The database never looks inside the findings, the encounter as documented, the proposal or the codes
of an audit entry (but for a test's ->>, which json has too): jsonb's parsing (key sorting, tree
building) was about half the cost of storing an outcome and its audit entry.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENTS = {"coding_outcome": ("findings", "documented", "proposal"), "coding_audit": ("diagnoses", "service_lines")}


def _retype(to: str) -> None:
    for table, columns in DOCUMENTS.items():
        op.execute(f"ALTER TABLE {table} " + ", ".join(f"ALTER COLUMN {c} TYPE {to} USING {c}::{to}" for c in columns))


def upgrade() -> None:
    _retype("json")
    op.drop_index("ix_coding_outcome_patient_id", table_name="coding_outcome")


def downgrade() -> None:
    op.create_index("ix_coding_outcome_patient_id", "coding_outcome", ["patient_id"])
    _retype("jsonb")
