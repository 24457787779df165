"""inbox.body_digest: the digest of the body each event id was handled with (an id seen again with another is a conflict)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

from alembic import op

from shared.inbox import ADD_BODY_DIGEST

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(ADD_BODY_DIGEST)


def downgrade() -> None:
    op.drop_column("inbox", "body_digest")
