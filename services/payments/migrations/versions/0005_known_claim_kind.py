"""known claims keep their kind, the claim they follow and the encounters they bill (payment.posted
carries them, so analysts count each encounter's money once)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-22 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "known_claim",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), server_default="original", nullable=False),
    )
    op.add_column("known_claim", sa.Column("original_claim_id", sa.Uuid(), nullable=True))
    op.add_column(
        "known_claim",
        sa.Column("encounter_ids", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("known_claim", "encounter_ids")
    op.drop_column("known_claim", "original_claim_id")
    op.drop_column("known_claim", "kind")
