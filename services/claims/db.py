"""Claims' tables: its own copy of patients (from patient.registered), coded encounters waiting
for their patient, claims, and submission batches (one 837 interchange each)."""

import zlib
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import BigInteger, Column, DateTime, Numeric, Sequence, Text, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from shared.contracts.events import EncounterCodedV1

INTERCHANGE_SEQUENCE = Sequence("interchange_control_number", start=1, maxvalue=999_999_999, cycle=True)


def _timestamp(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), server_default=None if nullable else func.now(), nullable=nullable)


class ClaimPatient(SQLModel, table=True):
    __tablename__ = "claim_patient"

    patient_id: UUID = Field(primary_key=True)
    version: int
    content: dict = Field(sa_column=Column(JSONB, nullable=False))  # PatientRegisteredV1


class CoverageEligibility(SQLModel, table=True):
    """The latest eligibility answer (271) registration published for a patient's coverage."""

    __tablename__ = "coverage_eligibility"

    patient_id: UUID = Field(primary_key=True)
    coverage_rank: str = Field(primary_key=True, max_length=16)
    payer_id: str = Field(primary_key=True, max_length=80)
    active: bool
    check_id: UUID
    checked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class CodedEncounter(SQLModel, table=True):
    __tablename__ = "coded_encounter"

    encounter_id: str = Field(primary_key=True, max_length=64)
    patient_id: UUID = Field(index=True)
    status: str = Field(max_length=16, index=True)  # waiting (for the patient) | claimed | held
    claim_id: UUID | None = Field(default=None, index=True)  # the claim that bills it (maybe with others)
    content: dict = Field(sa_column=Column(JSONB, nullable=False))  # EncounterCodedV1
    correlation_id: str = Field(max_length=64)
    received_at: datetime | None = Field(default=None, sa_column=_timestamp())


class Claim(SQLModel, table=True):
    __tablename__ = "claim"

    claim_id: UUID = Field(primary_key=True)
    patient_control_number: str = Field(max_length=20, unique=True)
    encounter_id: str = Field(max_length=64, index=True)  # its original, replacements and secondary claims
    # Every encounter billed on it (first = encounter_id); ready originals with the same grouping key
    # take in the patient's other encounters of the day until they are batched.
    encounter_ids: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    grouping_key: str | None = Field(default=None, max_length=300, index=True)
    patient_id: UUID = Field(index=True)
    payer_id: str = Field(max_length=80)
    payer_name: str = Field(max_length=60)
    date_of_service: date
    total_charge: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    # ready -> batched -> submitted; held claims wait in the work queue, never sent.
    status: str = Field(max_length=16, index=True)
    # What the clearinghouse (999) or the payer's front end (277CA) said: accepted | rejected.
    # Rejected claims are in the work queue beside the held ones.
    acknowledgement: str | None = Field(default=None, max_length=16, index=True)
    ack_reasons: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    acknowledged_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    payer_claim_control_number: str | None = Field(default=None, max_length=50)  # 277CA REF*1K
    # original | replacement | void | secondary; the later ones point at the claim they follow.
    kind: str = Field(default="original", max_length=16, sa_column_kwargs={"server_default": "original"})
    original_claim_id: UUID | None = Field(default=None, index=True)
    findings: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    content: dict | None = Field(default=None, sa_column=Column(JSONB))  # x12.claim.Claim
    correlation_id: str = Field(max_length=64)
    batch_id: int | None = Field(default=None, index=True)
    created_at: datetime | None = Field(default=None, sa_column=_timestamp())
    submitted_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class SubmissionBatch(SQLModel, table=True):
    __tablename__ = "submission_batch"

    batch_id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    interchange_control_number: int = Field(unique=True)
    file_name: str = Field(max_length=120)
    content: str = Field(sa_column=Column(Text, nullable=False))
    claim_count: int
    status: str = Field(max_length=16, index=True)  # rendered -> delivered
    created_at: datetime | None = Field(default=None, sa_column=_timestamp())
    delivered_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class AckFile(SQLModel, table=True):
    """999 and 277CA files read from the clearinghouse: each is applied once, whatever its name."""

    __tablename__ = "ack_file"

    sha256: str = Field(primary_key=True, max_length=64)
    file_name: str = Field(max_length=200)
    kind: str = Field(max_length=8)  # 999 | 277CA
    status: str = Field(max_length=16)  # applied | quarantined
    reason: str | None = Field(default=None, max_length=1000)
    claims: int = 0
    received_at: datetime | None = Field(default=None, sa_column=_timestamp())


TABLES = ("claim_patient", "coded_encounter", "claim", "submission_batch", "ack_file", "coverage_eligibility")
JOIN_LOCK = zlib.crc32(b"claims:patient-encounter-join")


async def lock_join(session: AsyncSession) -> None:
    """A patient and its coded encounter arrive on two topics, handled concurrently. Each side
    could miss the other's uncommitted row and leave the encounter waiting for good; this
    transaction-scoped lock makes the two handlers take turns."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": JOIN_LOCK})


async def upsert_patient(session: AsyncSession, patient_id: UUID, version: int, content: dict) -> bool:
    """Keep the newest version; an older one arriving late changes nothing. True if stored."""
    table = ClaimPatient.__table__
    statement = (
        insert(table)
        .values(patient_id=patient_id, version=version, content=content)
        .on_conflict_do_update(
            index_elements=["patient_id"],
            set_={"version": version, "content": content},
            where=table.c.version < version,
        )
        .returning(table.c.patient_id)
    )
    return (await session.execute(statement)).first() is not None


async def next_interchange_control_number(session: AsyncSession) -> int:
    return (await session.execute(select(INTERCHANGE_SEQUENCE.next_value()))).scalar_one()


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Claim.status, func.count()).group_by(Claim.status))
    return {status: count for status, count in rows.all()}


async def encounters_by_claim_status(session: AsyncSession) -> dict[str, int]:
    status = func.coalesce(Claim.status, CodedEncounter.status)
    rows = await session.execute(
        select(status, func.count())
        .select_from(CodedEncounter)
        .outerjoin(Claim, Claim.claim_id == CodedEncounter.claim_id)
        .group_by(status)
    )
    return {name: count for name, count in rows.all()}


async def record_eligibility(session: AsyncSession, rows: list[dict]) -> None:
    """Keep each coverage's latest answer; an older one arriving late changes nothing."""
    table = CoverageEligibility.__table__
    statement = insert(table)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["patient_id", "coverage_rank", "payer_id"],
            set_={
                "active": statement.excluded.active,
                "check_id": statement.excluded.check_id,
                "checked_at": statement.excluded.checked_at,
            },
            where=table.c.checked_at < statement.excluded.checked_at,
        ),
        rows,
    )


async def inactive_coverages(session: AsyncSession, patient_ids: set[UUID]) -> set[tuple[UUID, str, str]]:
    """(patient, rank, payer) of coverages whose latest eligibility answer says not active."""
    rows = await session.execute(
        select(CoverageEligibility.patient_id, CoverageEligibility.coverage_rank, CoverageEligibility.payer_id).where(
            CoverageEligibility.patient_id.in_(patient_ids), CoverageEligibility.active.is_(False)
        )
    )
    return {tuple(row) for row in rows.all()}


async def open_claims(session: AsyncSession, keys: set[str]) -> list[tuple[Claim, list[EncounterCodedV1]]]:
    """Ready (not yet batched) original claims of these grouping keys, locked, with the coded
    encounters they bill. A batch taking a claim meanwhile makes it no longer ready: it is not returned."""
    if not keys:
        return []
    claims = (
        (
            await session.execute(
                select(Claim)
                .where(Claim.grouping_key.in_(keys), Claim.status == "ready", Claim.kind == "original")
                .order_by(Claim.created_at)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    encounters: dict = {claim.claim_id: [] for claim in claims}
    rows = await session.execute(select(CodedEncounter).where(CodedEncounter.claim_id.in_(encounters)))
    for row in rows.scalars():
        encounters[row.claim_id].append(EncounterCodedV1.model_validate(row.content))
    for claim in claims:  # in the order the claim bills them
        order = {encounter_id: n for n, encounter_id in enumerate(claim.encounter_ids)}
        encounters[claim.claim_id].sort(key=lambda coded: order.get(coded.encounter_id, len(order)))
    return [(claim, encounters[claim.claim_id]) for claim in claims]
