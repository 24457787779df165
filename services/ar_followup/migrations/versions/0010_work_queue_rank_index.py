"""ar_work_item: the work queue's order within an urgency band as an index (status, money highest first,
nearest deadline, id): a page of a 100,000-item queue is read from it, not sorted from every open item;
and (status, owner): a person's items without reading the team's

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_ar_work_item_rank ON ar_work_item "
        "(status, (- amount), (COALESCE(due_date, 'infinity'::date)), item_id)"
    )
    op.create_index("ix_ar_work_item_owner", "ar_work_item", ["status", "owner"])


def downgrade() -> None:
    op.drop_index("ix_ar_work_item_owner", table_name="ar_work_item")
    op.drop_index("ix_ar_work_item_rank", table_name="ar_work_item")
