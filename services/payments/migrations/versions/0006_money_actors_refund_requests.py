"""who moved money: a patient payment's or refund's person, the person who posted an unmatched payment to
a claim; refunds above the threshold waiting for a second person (refund_request)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _person(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=255), nullable=nullable)


def upgrade() -> None:
    op.add_column("patient_payment", _person("recorded_by"))
    op.add_column("patient_payment", _person("recorded_by_name"))
    op.add_column("work_item", _person("resolved_by"))
    op.add_column("work_item", _person("resolved_by_name"))
    op.create_table(
        "refund_request",
        sa.Column("refund_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        _person("requested_by", nullable=False),
        _person("requested_by_name", nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        _person("decided_by"),
        _person("decided_by_name"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("refund_id"),
    )
    for column in ("payment_id", "patient_id", "status"):
        op.create_index(op.f(f"ix_refund_request_{column}"), "refund_request", [column], unique=False)


def downgrade() -> None:
    op.drop_table("refund_request")
    op.drop_column("work_item", "resolved_by_name")
    op.drop_column("work_item", "resolved_by")
    op.drop_column("patient_payment", "recorded_by_name")
    op.drop_column("patient_payment", "recorded_by")
