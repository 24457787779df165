"""era_lease: which replica reads an 835 of the shared drop folder, until when (each file read by one
replica; an expired lease is free for another)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "era_lease",
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("file_name"),
    )


def downgrade() -> None:
    op.drop_table("era_lease")
