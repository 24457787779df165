"""claim_payment: the payment and its remittance's header as json, kept uncompressed, and only the indexes
a query uses; outbox rows (payment.posted, ~2 kB) kept uncompressed too: they are read back once and deleted

The database never looks inside these documents but for the header's trace number, which json's
operators read as well: jsonb's parsing (key sorting, tree building) and pglz compressing the ~2.3 kB
rows were most of the cost of posting a claim payment (INSERT 3-6x slower than json kept in line, read
4-6x), for ~15% less WAL and table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# No query filters claim payments by file, or by status alone: waiting payments are looked up by number
# among the unmatched ones, which are few, and a partial index holds only those.
UNUSED = {
    "ix_claim_payment_era_id": ["era_id"],
    "ix_claim_payment_status": ["status"],
    "ix_claim_payment_patient_control_number": ["patient_control_number"],
}


def upgrade() -> None:
    # Rows up to a page's size stay in line uncompressed (the default target, ~2 kB, sends them to pglz).
    for table in ("claim_payment", "outbox"):
        op.execute(f"ALTER TABLE {table} SET (toast_tuple_target = 8160)")
    op.execute(
        "ALTER TABLE claim_payment ALTER COLUMN claim_payment TYPE json USING claim_payment::json,"
        " ALTER COLUMN remittance_header TYPE json USING remittance_header::json"
    )
    for name in UNUSED:
        op.drop_index(name, table_name="claim_payment")
    op.create_index(
        "ix_claim_payment_unmatched",
        "claim_payment",
        ["patient_control_number"],
        postgresql_where="status = 'unmatched'",
    )


def downgrade() -> None:
    op.drop_index("ix_claim_payment_unmatched", table_name="claim_payment")
    for name, columns in UNUSED.items():
        op.create_index(name, "claim_payment", columns)
    op.execute(
        "ALTER TABLE claim_payment ALTER COLUMN claim_payment TYPE jsonb USING claim_payment::jsonb,"
        " ALTER COLUMN remittance_header TYPE jsonb USING remittance_header::jsonb"
    )
    for table in ("claim_payment", "outbox"):
        op.execute(f"ALTER TABLE {table} RESET (toast_tuple_target)")
