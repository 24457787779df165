"""payment identity (a claim payment is stored once whatever envelope or check carries it), era_reissue

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-21 09:00:00

Existing claim payments keep their posting id; each gets the identity the domain now computes
(services/payments/domain/posting.py identity_key), from what was stored with it, so a re-sent or
re-issued copy of a file posted before this migration is recognised too.
"""

import uuid
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDENTITY_NAMESPACE = uuid.UUID("5f0c2d7e-8b1a-4e6f-9c3d-2a7b8e9f0c14")  # as in domain/posting.py


def _key(payment: dict, header: dict, reversals_before: int) -> str:
    """A frozen copy of domain/posting.py identity_key, over the stored JSON."""
    paid = header["payment"]
    payer = paid.get("payer_identifier") or ("1" + paid["payer_tax_id"] if paid.get("payer_tax_id") else "")
    lines = ",".join(f"{s.get('service_date') or ''}/{s.get('service_date_to') or ''}" for s in payment["services"])
    return "|".join(
        (
            payer,
            payment["patient_control_number"],
            payment["payer_claim_control_number"],
            payment["status"],
            f"{Decimal(str(payment['charge'])):.2f}",
            f"{Decimal(str(payment['paid'])):.2f}",
            f"{Decimal(str(payment.get('patient_responsibility') or 0)):.2f}",
            payment.get("statement_from") or "",
            payment.get("statement_to") or "",
            lines,
            str(reversals_before),
        )
    )


def _backfill(connection: sa.Connection) -> None:
    rows = connection.execute(
        sa.text(
            "SELECT posting_id, era_id, claim_payment, remittance_header FROM claim_payment ORDER BY era_id, posting_id"
        )
    ).all()
    # A correction after a reversal of its claim in the same file and check is another payment.
    reversals = Counter(
        (era_id, header["payment"]["trace_number"], payment["patient_control_number"])
        for _, era_id, payment, header in rows
        if payment["status"] == "22"
    )
    assigned: set[uuid.UUID] = set()
    updates = []
    for posting_id, era_id, payment, header in rows:
        before = (
            0
            if payment["status"] == "22"
            else reversals[(era_id, header["payment"]["trace_number"], payment["patient_control_number"])]
        )
        key, ordinal = _key(payment, header, before), 0
        while (identity := uuid.uuid5(IDENTITY_NAMESPACE, f"{key}|{ordinal}")) in assigned:
            ordinal += 1  # identical payments already stored apart stay apart
        assigned.add(identity)
        updates.append({"identity": identity, "posting_id": posting_id})
    if updates:
        connection.execute(
            sa.text("UPDATE claim_payment SET payment_identity = :identity WHERE posting_id = :posting_id"), updates
        )


def upgrade() -> None:
    op.add_column("claim_payment", sa.Column("payment_identity", sa.Uuid(), nullable=True))
    _backfill(op.get_bind())
    op.alter_column("claim_payment", "payment_identity", nullable=False)
    op.create_unique_constraint("claim_payment_payment_identity_key", "claim_payment", ["payment_identity"])
    op.create_table(
        "era_reissue",
        sa.Column("reissue_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("era_id", sa.Integer(), nullable=False),
        sa.Column("trace_number", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("prior_era_id", sa.Integer(), nullable=False),
        sa.Column("prior_trace_number", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("claim_payments", sa.Integer(), nullable=False),
        sa.Column("paid", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("reissue_id"),
    )
    op.create_index(op.f("ix_era_reissue_era_id"), "era_reissue", ["era_id"], unique=False)
    op.create_index(op.f("ix_era_reissue_prior_era_id"), "era_reissue", ["prior_era_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_era_reissue_prior_era_id"), table_name="era_reissue")
    op.drop_index(op.f("ix_era_reissue_era_id"), table_name="era_reissue")
    op.drop_table("era_reissue")
    op.drop_constraint("claim_payment_payment_identity_key", "claim_payment", type_="unique")
    op.drop_column("claim_payment", "payment_identity")
