"""claim_ready: a NOTIFY from the transaction that makes claims ready, so the submission loop wakes at once

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-10 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Claims become ready only when inserted (a claim made again is a new row). One NOTIFY per statement,
# on the channel services/claims/submission.py listens to: "now" when a new ready claim may go out at
# once (no grouping key), "later" when every one waits out its grouping window first.
NOTIFY_READY = """
CREATE OR REPLACE FUNCTION claim_ready_notify() RETURNS trigger AS $$
DECLARE
    waits boolean;
BEGIN
    SELECT bool_and(grouping_key IS NOT NULL) INTO waits FROM new_claims WHERE status = 'ready';
    IF waits IS NOT NULL THEN
        PERFORM pg_notify('claim_ready', CASE WHEN waits THEN 'later' ELSE 'now' END);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.execute(NOTIFY_READY)
    op.execute(
        "CREATE TRIGGER claim_ready_notify AFTER INSERT ON claim REFERENCING NEW TABLE AS new_claims "
        "FOR EACH STATEMENT EXECUTE FUNCTION claim_ready_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS claim_ready_notify ON claim")
    op.execute("DROP FUNCTION IF EXISTS claim_ready_notify()")
