"""ar_awaiting_coverage: a primary's payment posted before the patient's coverages arrived waits here
for patient.registered, which bills the secondary payer if the patient has one

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ar_awaiting_coverage",
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("correlation_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("claim_id"),
    )
    op.create_index("ix_ar_awaiting_coverage_patient_id", "ar_awaiting_coverage", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_ar_awaiting_coverage_patient_id", table_name="ar_awaiting_coverage")
    op.drop_table("ar_awaiting_coverage")
