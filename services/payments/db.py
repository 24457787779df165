"""Payments' tables and every query it makes: the claims it knows (from claim.submitted), every
835 file it received, every claim payment (posted or waiting for its claim), the work items, and
patient payments with what they were applied to."""

import zlib
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Numeric,
    Row,
    Text,
    bindparam,
    delete,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from services.payments.domain import posting
from services.payments.domain.patient_payments import OpenBalance
from shared.db import Statement, json_dumps, lock_for_transaction


class KnownClaim(SQLModel, table=True):
    __tablename__ = "known_claim"

    claim_id: UUID = Field(primary_key=True)
    patient_control_number: str = Field(max_length=20, unique=True)
    payer_id: str = Field(max_length=80)
    payer_name: str = Field(max_length=60)
    date_of_service: date
    total_charge: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    line_numbers: list = Field(sa_column=Column(JSONB, nullable=False))
    correlation_id: str = Field(max_length=64)
    # For patient payments (internal id; never on payment.posted) and for matching lines whose
    # REF*6R the payer dropped: [[line number, procedure code, [modifiers]], ...].
    patient_id: UUID | None = Field(default=None, index=True)
    lines: list = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    )
    # As claim.submitted says (0005): what payment.posted tells analysts to count each encounter once.
    kind: str = Field(default="original", max_length=16, sa_column_kwargs={"server_default": "original"})
    original_claim_id: UUID | None = None
    encounter_ids: list = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    )


class EraFile(SQLModel, table=True):
    __tablename__ = "era_file"

    era_id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    sha256: str = Field(max_length=64, unique=True)
    file_name: str = Field(max_length=200)
    status: str = Field(max_length=16)  # posted | reissued (nothing new: every payment came before) | quarantined
    reason: str | None = Field(default=None, max_length=1000)
    claim_payments: int = 0
    total_paid: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(14, 2), nullable=False))
    received_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


class ClaimPaymentRecord(SQLModel, table=True):
    __tablename__ = "claim_payment"
    # waiting payments by number (0010): only the unmatched ones, which are few
    __table_args__ = (
        Index("ix_claim_payment_unmatched", "patient_control_number", postgresql_where=text("status = 'unmatched'")),
    )

    posting_id: UUID = Field(primary_key=True)
    # The payment whatever envelope or check carries it (domain/posting.py): stored once. New payments
    # are posted under it; those stored before migration 0004 keep their posting id.
    payment_identity: UUID = Field(unique=True)
    era_id: int
    patient_control_number: str = Field(max_length=38)
    claim_id: UUID | None = Field(default=None, index=True)
    status: str = Field(max_length=16)  # posted | unmatched
    paid: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    # Kept so an unmatched payment can be posted when its claim becomes known. json, not jsonb (0010): the
    # database never looks inside but for the header's trace number.
    claim_payment: dict = Field(sa_column=Column(JSON, nullable=False))  # x12 ClaimPayment
    remittance_header: dict = Field(sa_column=Column(JSON, nullable=False))  # x12 Remittance without claims
    posted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # What this payment makes the patient owe (PR adjustments; negative for a reversal).
    patient_responsibility: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(12, 2), nullable=False, server_default=text("0"))
    )


class EraReissue(SQLModel, table=True):
    """Claim payments of a file that an earlier file carried already (a re-issued check, or the same
    check sent again): recorded instead of posted again."""

    __tablename__ = "era_reissue"

    reissue_id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    era_id: int = Field(index=True)  # the file that carried them again
    trace_number: str = Field(max_length=80)  # its check or EFT (TRN02)
    prior_era_id: int = Field(index=True)  # the file they were posted from
    prior_trace_number: str = Field(max_length=80)
    kind: str = Field(max_length=16)  # reissued_check | resent
    claim_payments: int
    paid: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    recorded_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


class WorkItem(SQLModel, table=True):
    """What a person must look at: a payment whose claim is not known, a line that matched none of ours."""

    __tablename__ = "work_item"

    item_id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    kind: str = Field(max_length=20)  # unmatched_claim | unmatched_line
    posting_id: UUID = Field(index=True)
    patient_control_number: str = Field(max_length=38)
    claim_id: UUID | None = None
    detail: str = Field(max_length=200)  # codes and positions, never patient data
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # the person who posted the payment to a claim (the token's subject and name), if a person did (0006)
    resolved_by: str | None = Field(default=None, max_length=255)
    resolved_by_name: str | None = Field(default=None, max_length=255)


class PatientPayment(SQLModel, table=True):
    """Money from a patient (amount > 0) or back to them (a refund, amount < 0)."""

    __tablename__ = "patient_payment"

    payment_id: UUID = Field(primary_key=True)
    patient_id: UUID = Field(index=True)
    kind: str = Field(max_length=10)  # payment | refund
    refund_of: UUID | None = Field(default=None, index=True)
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    method: str = Field(max_length=20)
    reference: str | None = Field(default=None, max_length=60)
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # who took the payment or released the refund (the token's subject and name); null before 0006
    recorded_by: str | None = Field(default=None, max_length=255)
    recorded_by_name: str | None = Field(default=None, max_length=255)


class RefundRequest(SQLModel, table=True):
    """A refund above the threshold, waiting for a second person; approved, it is recorded as any refund
    (the refund's payment_id is this refund_id)."""

    __tablename__ = "refund_request"

    refund_id: UUID = Field(primary_key=True)
    payment_id: UUID = Field(index=True)  # the patient payment it gives money back from
    patient_id: UUID = Field(index=True)
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))  # positive: what goes back
    method: str | None = Field(default=None, max_length=20)
    reference: str | None = Field(default=None, max_length=60)
    status: str = Field(max_length=10, index=True)  # pending | approved | refused
    requested_by: str = Field(max_length=255)  # the token's subject
    requested_by_name: str = Field(max_length=255)
    requested_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    decided_by: str | None = Field(default=None, max_length=255)  # a second person's subject
    decided_by_name: str | None = Field(default=None, max_length=255)
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class PaymentApplication(SQLModel, table=True):
    """How much of a patient payment went to one claim's patient balance (negative: taken back by a refund)."""

    __tablename__ = "payment_application"

    application_id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    payment_id: UUID = Field(index=True)  # the payment or the refund that made this entry
    source_payment_id: UUID = Field(index=True)  # the patient payment whose money this is
    claim_id: UUID = Field(index=True)
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))


class EraLease(SQLModel, table=True):
    """Which replica is reading an 835 of the shared drop folder, until when: each file is read by one
    replica, and one that dies holding a file leaves it to the others once the lease expires (0007)."""

    __tablename__ = "era_lease"

    file_name: str = Field(sa_column=Column(Text, primary_key=True))  # as it lies in inbound/835
    holder: str = Field(max_length=255)  # the replica (host:pid:random)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


TABLES = (
    "known_claim",
    "era_file",
    "claim_payment",
    "era_reissue",
    "work_item",
    "patient_payment",
    "payment_application",
    "refund_request",
    "era_lease",
)
MATCHING_LOCK = zlib.crc32(b"payments:matching")


async def lock_matching(session: AsyncSession) -> None:
    """Posting a file and learning a claim both match payments to claims. Run concurrently, each
    could miss the other's uncommitted rows and leave a payment unmatched for good; this
    transaction-scoped lock makes them take turns."""
    await lock_for_transaction(session, MATCHING_LOCK)


async def lock_patient(session: AsyncSession, patient_id: UUID) -> None:
    """Two payments of one patient apply to the same open balances: one at a time."""
    key = zlib.crc32(f"payments:patient:{patient_id}".encode())
    await PAIR_LOCK.execute(session, {"key": key - 2**31})


# Taken on every posting: straight on asyncpg (shared.db.Statement).
PAIR_LOCK = Statement("SELECT pg_advisory_xact_lock(1, :key)")


async def stats(session: AsyncSession) -> dict:
    """ERA files and claim payments by status, and the money posted."""
    files = dict((await session.execute(select(EraFile.status, func.count()).group_by(EraFile.status))).all())
    payments = dict(
        (
            await session.execute(select(ClaimPaymentRecord.status, func.count()).group_by(ClaimPaymentRecord.status))
        ).all()
    )
    posted = (
        await session.execute(
            select(func.coalesce(func.sum(ClaimPaymentRecord.paid), 0)).where(ClaimPaymentRecord.status == "posted")
        )
    ).scalar_one()
    return {"era_files": files, "claim_payments": payments, "total_posted": str(posted)}


async def open_work_items(session: AsyncSession, limit: int, after: int | None = None) -> list[WorkItem]:
    """Open items, oldest first; `after` (the last item's id) gives the next page."""
    query = select(WorkItem).where(WorkItem.resolved_at.is_(None))
    if after is not None:
        query = query.where(WorkItem.item_id > after)
    return list((await session.execute(query.order_by(WorkItem.item_id).limit(limit))).scalars())


async def claim_payments(session: AsyncSession, posting_ids: Collection[UUID]) -> dict[UUID, ClaimPaymentRecord]:
    rows = await session.execute(select(ClaimPaymentRecord).where(ClaimPaymentRecord.posting_id.in_(posting_ids)))
    return {row.posting_id: row for row in rows.scalars()}


async def work_item_for_update(session: AsyncSession, item_id: int) -> WorkItem | None:
    query = select(WorkItem).where(WorkItem.item_id == item_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def claim_payment_for_update(session: AsyncSession, posting_id: UUID) -> ClaimPaymentRecord | None:
    query = select(ClaimPaymentRecord).where(ClaimPaymentRecord.posting_id == posting_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def known_claim(session: AsyncSession, claim_id: UUID) -> KnownClaim | None:
    return await session.get(KnownClaim, claim_id)


async def patients_of_claims(session: AsyncSession, claim_ids: Collection[UUID]) -> dict[UUID, UUID | None]:
    """The patient of each known claim (for the audit trail of a list that names claims)."""
    if not claim_ids:
        return {}
    query = select(KnownClaim.claim_id, KnownClaim.patient_id).where(KnownClaim.claim_id.in_(list(claim_ids)))
    return {claim_id: patient_id for claim_id, patient_id in (await session.execute(query)).all()}


async def unpaid_claims_like(session: AsyncSession, payer_id: str, charge: Decimal, limit: int) -> list[KnownClaim]:
    """Claims of this payer and billed amount that no payment has been posted to: what an unmatched
    payment is most likely for."""
    paid = select(ClaimPaymentRecord.claim_id).where(ClaimPaymentRecord.claim_id == KnownClaim.claim_id)
    query = (
        select(KnownClaim)
        .where(KnownClaim.payer_id == payer_id, KnownClaim.total_charge == charge, ~paid.exists())
        .order_by(KnownClaim.date_of_service.desc(), KnownClaim.claim_id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def postings_of(session: AsyncSession, claim_id: UUID) -> list[tuple[ClaimPaymentRecord, EraFile]]:
    """The claim's payments (posted or reversed), each with the 835 file that carried it, in posting order."""
    rows = await session.execute(
        select(ClaimPaymentRecord, EraFile)
        .join(EraFile, EraFile.era_id == ClaimPaymentRecord.era_id)
        .where(ClaimPaymentRecord.claim_id == claim_id)
        .order_by(ClaimPaymentRecord.posted_at, EraFile.era_id)
    )
    return [(record, era) for record, era in rows.all()]


async def patient_payments(session: AsyncSession, patient_id: UUID) -> list[PatientPayment]:
    """The patient's payments (not refunds)."""
    rows = await session.execute(
        select(PatientPayment).where(PatientPayment.patient_id == patient_id, PatientPayment.kind == "payment")
    )
    return list(rows.scalars())


# -- known claims --------------------------------------------------------------------------------


def as_known(claim: KnownClaim | Row) -> posting.KnownClaim:
    """A claim as the domain matches payments to it (from its ORM object or a row of KNOWN_COLUMNS)."""
    lines = tuple(posting.ClaimLine(number, code, tuple(modifiers)) for number, code, modifiers in claim.lines or ())
    return posting.KnownClaim(
        claim.claim_id,
        claim.payer_id,
        claim.payer_name,
        claim.date_of_service,
        frozenset(claim.line_numbers),
        lines,
        claim.correlation_id,
        claim.kind,
        claim.original_claim_id,
        tuple(claim.encounter_ids or ()),
    )


# What the domain needs of a known claim (as_known), read or returned without an ORM object: building
# a SQLModel instance costs about 0.1 ms a claim, more than the rest of learning it.
KNOWN_COLUMNS = tuple(
    KnownClaim.__table__.c[name]
    for name in (
        "claim_id",
        "patient_control_number",
        "payer_id",
        "payer_name",
        "date_of_service",
        "line_numbers",
        "lines",
        "correlation_id",
        "kind",
        "original_claim_id",
        "encounter_ids",
    )
)


# claim.submitted's claims in one statement over arrays (through the session, an executemany with RETURNING
# compiled and wrapped each row); the new ones come back as the domain matches payments to them.
INSERT_KNOWN = Statement(
    f"""
    INSERT INTO known_claim (claim_id, patient_control_number, payer_id, payer_name, date_of_service, total_charge,
                             line_numbers, correlation_id, patient_id, lines, kind, original_claim_id, encounter_ids)
    SELECT c, n, p, pn, d, t, ln::jsonb, co, pa, l::jsonb, k, o, e::jsonb
    FROM unnest(CAST(:claim_ids AS uuid[]), CAST(:numbers AS text[]), CAST(:payer_ids AS text[]),
                CAST(:payer_names AS text[]), CAST(:dates AS date[]), CAST(:charges AS numeric[]),
                CAST(:line_numbers AS text[]), CAST(:correlation_ids AS text[]), CAST(:patient_ids AS uuid[]),
                CAST(:lines AS text[]), CAST(:kinds AS text[]), CAST(:originals AS uuid[]),
                CAST(:encounter_ids AS text[]))
         AS u(c, n, p, pn, d, t, ln, co, pa, l, k, o, e)
    ON CONFLICT DO NOTHING
    RETURNING {", ".join(c.name for c in KNOWN_COLUMNS)}
    """
)


async def add_known_claims(session: AsyncSession, rows: Mapping[UUID, dict[str, Any]]) -> dict[str, posting.KnownClaim]:
    """Store the claims (by claim id); returns those that were not known yet, by patient control number."""
    claims = list(rows.values())
    stored = await INSERT_KNOWN.fetch(
        session,
        {
            "claim_ids": [c["claim_id"] for c in claims],
            "numbers": [c["patient_control_number"] for c in claims],
            "payer_ids": [c["payer_id"] for c in claims],
            "payer_names": [c["payer_name"] for c in claims],
            "dates": [c["date_of_service"] for c in claims],
            "charges": [c["total_charge"] for c in claims],
            "line_numbers": [json_dumps(c["line_numbers"]) for c in claims],
            "correlation_ids": [c["correlation_id"] for c in claims],
            "patient_ids": [c.get("patient_id") for c in claims],
            "lines": [json_dumps(c.get("lines", [])) for c in claims],
            "kinds": [c.get("kind", "original") for c in claims],
            "originals": [c.get("original_claim_id") for c in claims],
            "encounter_ids": [json_dumps(c.get("encounter_ids", [])) for c in claims],
        },
    )
    return {row["patient_control_number"]: _known_of(row) for row in stored}


# The claims an 835 pays, read once a file: straight on asyncpg (the JSON columns through the engine's codec).
KNOWN_BY_NUMBER = Statement(
    f"SELECT {', '.join(c.name for c in KNOWN_COLUMNS)} FROM known_claim"
    " WHERE patient_control_number = ANY(CAST(:numbers AS text[]))"
)


async def known_claims(session: AsyncSession, numbers: Collection[str]) -> dict[str, posting.KnownClaim]:
    """Our claims among these patient control numbers, by number."""
    rows = await KNOWN_BY_NUMBER.fetch(session, {"numbers": list(numbers)})
    return {row["patient_control_number"]: _known_of(row) for row in rows}


def _known_of(row: Mapping[str, Any]) -> posting.KnownClaim:
    """as_known of a row of KNOWN_COLUMNS read by name (an asyncpg Record)."""
    lines = tuple(posting.ClaimLine(number, code, tuple(modifiers)) for number, code, modifiers in row["lines"] or ())
    return posting.KnownClaim(
        row["claim_id"],
        row["payer_id"],
        row["payer_name"],
        row["date_of_service"],
        frozenset(row["line_numbers"]),
        lines,
        row["correlation_id"],
        row["kind"],
        row["original_claim_id"],
        tuple(row["encounter_ids"] or ()),
    )


# -- 835 files and claim payments ----------------------------------------------------------------

# The 835s of a look at the folder (posting.py) take their leases together, are renewed by the
# posting transaction and let go together; the era_file row goes with each file. Straight on asyncpg
# (shared.db.Statement): through the session they were a fifth of the posting loop's CPU when 835s
# come a few claims at a time. A lease is taken only when it is free or expired (or already ours):
# the database's clock decides. Rows are locked in file-name order, so two replicas taking
# overlapping groups wait on each other and never deadlock.
TAKE_LEASES = Statement(
    "INSERT INTO era_lease (file_name, holder, expires_at)"
    " SELECT name, :holder, now() + make_interval(secs => CAST(:seconds AS double precision))"
    " FROM unnest(CAST(:file_names AS text[])) AS name ORDER BY name"
    " ON CONFLICT (file_name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
    " WHERE era_lease.expires_at < now() OR era_lease.holder = excluded.holder"
    " RETURNING file_name"
)
RENEW_LEASES = Statement(
    "WITH held AS (SELECT file_name FROM era_lease WHERE file_name = ANY(CAST(:file_names AS text[]))"
    " AND holder = :holder ORDER BY file_name FOR UPDATE)"
    " UPDATE era_lease SET expires_at = now() + make_interval(secs => CAST(:seconds AS double precision))"
    " FROM held WHERE era_lease.file_name = held.file_name RETURNING era_lease.file_name"
)
RELEASE_LEASES = Statement(
    "DELETE FROM era_lease WHERE file_name = ANY(CAST(:file_names AS text[])) AND holder = :holder"
)
ADD_ERA_FILE = Statement(
    "INSERT INTO era_file (sha256, file_name, status, claim_payments, total_paid)"
    " VALUES (:sha256, :file_name, 'posted', :claim_payments, :total_paid)"
    " ON CONFLICT DO NOTHING RETURNING era_id"
)


async def take_leases(session: AsyncSession, file_names: list[str], holder: str, seconds: float) -> list[str]:
    """Those of the files this holder now has for `seconds`, in file-name order (another replica holds
    the others)."""
    params = {"file_names": file_names, "holder": holder, "seconds": float(seconds)}
    return sorted(row["file_name"] for row in await TAKE_LEASES.fetch(session, params))


async def renew_leases(session: AsyncSession, file_names: list[str], holder: str, seconds: float) -> int:
    """Extend the holder's leases: how many are still this holder's (one that expired may have been taken
    by another replica, or swept). The rows stay locked until the caller's transaction ends, so nobody
    takes them meanwhile."""
    params = {"file_names": file_names, "holder": holder, "seconds": float(seconds)}
    return len(await RENEW_LEASES.fetch(session, params))


async def release_leases(session: AsyncSession, file_names: list[str], holder: str) -> None:
    """The files are done with (or gone): another replica's lease on one is not this holder's to drop."""
    if file_names:
        await RELEASE_LEASES.execute(session, {"file_names": file_names, "holder": holder})


async def drop_expired_leases(session: AsyncSession) -> None:
    """Leases left by replicas that died after moving their file: free anyway, so gone."""
    await session.execute(delete(EraLease).where(EraLease.expires_at < func.now()))


async def add_era_file(
    session: AsyncSession, sha256: str, file_name: str, claim_payments: int, total_paid: Decimal
) -> int | None:
    """The file's id, or None when a file with the same content was received before."""
    params = {"sha256": sha256, "file_name": file_name, "claim_payments": claim_payments, "total_paid": total_paid}
    return await ADD_ERA_FILE.fetch_value(session, params)


async def add_quarantined_file(session: AsyncSession, sha256: str, file_name: str, reason: str) -> None:
    await session.execute(
        insert(EraFile.__table__)
        .values(sha256=sha256, file_name=file_name, status="quarantined", reason=reason, total_paid=0)
        .on_conflict_do_nothing()
    )


# Every claim payment of a file in one statement over arrays (an executemany through the session
# compiled and serialized each row: ~60 us a claim payment); the JSON arrives as the text pydantic wrote.
INSERT_PAYMENTS = Statement(
    """
    INSERT INTO claim_payment (posting_id, payment_identity, era_id, patient_control_number, claim_id, status, paid,
                               claim_payment, remittance_header, posted_at, patient_responsibility)
    SELECT p, i, CAST(:era_id AS bigint), n, c, s, paid, cp::json, rh::json, pa, pr
    FROM unnest(CAST(:posting_ids AS uuid[]), CAST(:identities AS uuid[]), CAST(:numbers AS text[]),
                CAST(:claims AS uuid[]), CAST(:statuses AS text[]), CAST(:paid AS numeric[]), CAST(:payments AS text[]),
                CAST(:headers AS text[]), CAST(:posted_at AS timestamptz[]), CAST(:owed AS numeric[]))
         AS u(p, i, n, c, s, paid, cp, rh, pa, pr)
    ON CONFLICT DO NOTHING
    RETURNING posting_id
    """
)


async def add_payments(session: AsyncSession, era_id: int, records: list[posting.PaymentRecord]) -> set[UUID]:
    """Store the claim payments; returns the posting ids that are new (a payment already posted
    from another file comes back as nothing)."""
    if not records:
        return set()
    stored = await INSERT_PAYMENTS.fetch(
        session,
        {
            "era_id": era_id,
            "posting_ids": [r.posting_id for r in records],
            "identities": [r.payment_identity for r in records],
            "numbers": [r.patient_control_number for r in records],
            "claims": [r.claim_id for r in records],
            "statuses": [r.status for r in records],
            "paid": [r.paid for r in records],
            "payments": [r.claim_payment for r in records],
            "headers": [r.remittance_header for r in records],
            "posted_at": [r.posted_at for r in records],
            "owed": [r.patient_responsibility for r in records],
        },
    )
    return {row["posting_id"] for row in stored}


async def received_before(session: AsyncSession, identities: Collection[UUID]) -> dict[UUID, posting.Received]:
    """The file and check each of these payments was stored from."""
    if not identities:
        return {}
    trace = ClaimPaymentRecord.__table__.c.remittance_header[("payment", "trace_number")].astext
    rows = await session.execute(
        select(ClaimPaymentRecord.payment_identity, ClaimPaymentRecord.era_id, trace).where(
            ClaimPaymentRecord.payment_identity.in_(identities)
        )
    )
    return {identity: posting.Received(era_id, number) for identity, era_id, number in rows.all()}


def add_reissues(session: AsyncSession, era_id: int, reissues: Iterable[posting.Reissue]) -> None:
    session.add_all(
        EraReissue(
            era_id=era_id,
            trace_number=r.trace_number,
            prior_era_id=r.prior_era_id,
            prior_trace_number=r.prior_trace_number,
            kind=r.kind,
            claim_payments=r.claim_payments,
            paid=r.paid,
        )
        for r in reissues
    )


async def mark_era_file(session: AsyncSession, era_id: int, status: str) -> None:
    await session.execute(update(EraFile).where(EraFile.era_id == era_id).values(status=status))


WAITING = Statement(
    "SELECT posting_id, patient_control_number, claim_payment::text AS claim_payment,"
    " remittance_header::text AS remittance_header FROM claim_payment"
    " WHERE patient_control_number = ANY(CAST(:numbers AS text[])) AND status = 'unmatched'"
)


async def waiting_payments(session: AsyncSession, numbers: Collection[str]) -> list[asyncpg.Record]:
    """Unmatched claim payments of these patient control numbers: posting id, number, and the payment and
    its remittance's header as the JSON text stored (read into their models once, by the caller). Asked
    on every batch of claim.submitted (mostly of nothing): straight on asyncpg."""
    return await WAITING.fetch(session, {"numbers": list(numbers)})


async def mark_posted(session: AsyncSession, claims: Mapping[UUID, UUID], posted_at: datetime) -> None:
    """Waiting payments (by posting id) are posted now, each to its claim (one statement for them all)."""
    if claims:
        table = ClaimPaymentRecord.__table__  # Core executemany: the SET clause is the parameters' other columns
        await session.execute(
            update(table).where(table.c.posting_id == bindparam("b_posting_id")),
            [
                {"b_posting_id": posting_id, "claim_id": claim_id, "status": "posted", "posted_at": posted_at}
                for posting_id, claim_id in claims.items()
            ],
        )


async def waiting_payments_age(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many claim payments wait for their claim, and when the oldest one's 835 came in."""
    query = (
        select(func.count(), func.min(EraFile.received_at))
        .select_from(ClaimPaymentRecord)
        .join(EraFile, EraFile.era_id == ClaimPaymentRecord.era_id)
        .where(ClaimPaymentRecord.status == "unmatched")
    )
    count, oldest = (await session.execute(query)).one()
    return count, oldest


async def add_work_items(session: AsyncSession, items: Collection[posting.NewWorkItem]) -> None:
    """One statement for them all (no ORM object per item: a SQLModel instance costs about 0.1 ms)."""
    if items:
        await session.execute(insert(WorkItem.__table__), [vars(item) for item in items])


RESOLVE_UNMATCHED = Statement(
    "UPDATE work_item SET resolved_at = now() WHERE kind = 'unmatched_claim' AND resolved_at IS NULL"
    " AND patient_control_number = ANY(CAST(:numbers AS text[]))"
)


async def resolve_unmatched_claims(session: AsyncSession, numbers: Collection[str]) -> None:
    """The claims of these numbers are known now: their "unmatched claim" items are resolved."""
    await RESOLVE_UNMATCHED.execute(session, {"numbers": list(numbers)})


# -- patient payments ----------------------------------------------------------------------------


async def patient_payment(session: AsyncSession, payment_id: UUID) -> PatientPayment | None:
    return await session.get(PatientPayment, payment_id)


async def open_balances(session: AsyncSession, patient_id: UUID) -> list[OpenBalance]:
    """Every claim of the patient with what the payers made the patient owe and what is still unpaid."""
    owed = (
        select(ClaimPaymentRecord.claim_id, func.sum(ClaimPaymentRecord.patient_responsibility).label("owed"))
        .where(ClaimPaymentRecord.status == "posted")
        .group_by(ClaimPaymentRecord.claim_id)
        .subquery()
    )
    paid = (
        select(PaymentApplication.claim_id, func.sum(PaymentApplication.amount).label("paid"))
        .group_by(PaymentApplication.claim_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            KnownClaim.claim_id,
            KnownClaim.date_of_service,
            func.coalesce(owed.c.owed, 0) - func.coalesce(paid.c.paid, 0),
        )
        .outerjoin(owed, owed.c.claim_id == KnownClaim.claim_id)
        .outerjoin(paid, paid.c.claim_id == KnownClaim.claim_id)
        .where(KnownClaim.patient_id == patient_id)
    )
    return [OpenBalance(claim_id, dos, Decimal(balance)) for claim_id, dos, balance in rows.all()]


async def refunded(session: AsyncSession, payment_id: UUID) -> Decimal:
    """What was refunded of a payment so far (negative, or zero)."""
    total = await session.execute(
        select(func.coalesce(func.sum(PatientPayment.amount), 0)).where(PatientPayment.refund_of == payment_id)
    )
    return Decimal(total.scalar_one())


async def net_applied(session: AsyncSession, payment_id: UUID) -> list[tuple[UUID, Decimal]]:
    """The payment's money per claim, net of refunds, in the order the claims were first paid."""
    rows = await session.execute(
        select(
            PaymentApplication.claim_id,
            func.sum(PaymentApplication.amount),
            func.min(PaymentApplication.application_id),
        )
        .where(PaymentApplication.source_payment_id == payment_id)
        .group_by(PaymentApplication.claim_id)
        .order_by(func.min(PaymentApplication.application_id))
    )
    return [(claim_id, Decimal(amount)) for claim_id, amount, _ in rows.all()]


async def applications_of(session: AsyncSession, payment_id: UUID) -> list[tuple[UUID, Decimal]]:
    """The applications a payment or refund made, in order."""
    rows = await session.execute(
        select(PaymentApplication.claim_id, PaymentApplication.amount)
        .where(PaymentApplication.payment_id == payment_id)
        .order_by(PaymentApplication.application_id)
    )
    return [(claim_id, amount) for claim_id, amount in rows.all()]


# -- refunds waiting for a second person ---------------------------------------------------------


async def refund_request(session: AsyncSession, refund_id: UUID, for_update: bool = False) -> RefundRequest | None:
    query = select(RefundRequest).where(RefundRequest.refund_id == refund_id)
    return (await session.execute(query.with_for_update() if for_update else query)).scalar_one_or_none()


async def refund_requests(session: AsyncSession, status: str, limit: int,
                          after: tuple[datetime, UUID] | None = None) -> list[RefundRequest]:  # fmt: skip
    """Refund requests in a status (pending: a supervisor's approvals list), oldest first, the page after `after`."""
    query = select(RefundRequest).where(RefundRequest.status == status)
    if after is not None:
        query = query.where(tuple_(RefundRequest.requested_at, RefundRequest.refund_id) > tuple_(*after))
    query = query.order_by(RefundRequest.requested_at, RefundRequest.refund_id).limit(limit)
    return list((await session.execute(query)).scalars())
