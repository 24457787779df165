"""claim.window_opened_at: when a claim's grouping window opened

The window a new claim waits in for the patient's other encounters of the day counted from when
claims made it, so the time the encounter spent reaching claims (coding's outbox, the broker, claims'
consumer: 0.05 s at the median, 0.15-0.2 s at the 99th percentile of a 50/s trickle) was added to
every claim's latency. It now opens when the encounter was coded, at most a quarter second before
the claim was made (db.WINDOW_HEAD_START). Null for claims made before: their window opened when they
were made (created_at).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("claim", sa.Column("window_opened_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("claim", "window_opened_at")
