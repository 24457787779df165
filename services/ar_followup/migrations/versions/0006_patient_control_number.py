"""ar_claim keeps the patient control number (CLM01) claim.submitted carries

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-15 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'ar_claim',
        sa.Column('patient_control_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    )
    # claims submitted before this column: claims' CLM01 is the claim id's first 20 hex digits, upper case
    op.execute(
        "UPDATE ar_claim SET patient_control_number = upper(left(replace(claim_id::text, '-', ''), 20)) "
        "WHERE submitted_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column('ar_claim', 'patient_control_number')
