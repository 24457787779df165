"""Registration's tables and every query it makes: matching a registration to a patient, storing
patients and their identifiers, forwarded encounters, eligibility checks."""

import zlib
from datetime import UTC, date, datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Row,
    and_,
    exists,
    func,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel


class Patient(SQLModel, table=True):
    __tablename__ = "patient"
    # the patient search's keys (migration 0006 makes the names COLLATE "C", which reflection does not show)
    __table_args__ = (
        Index(
            "ix_patient_search_name",
            text("lower(content #>> '{patient,last_name}')"),
            text("lower(content #>> '{patient,first_name}')"),
            "patient_id",
        ),
        Index("ix_patient_search_birth_date", text("(content #>> '{patient,birth_date}')")),
    )

    patient_id: UUID = Field(primary_key=True)
    facility: str = Field(default="MAIN", max_length=30, sa_column_kwargs={"server_default": "MAIN"})
    mrn: str = Field(max_length=30)  # as first registered; every MRN is in patient_identifier
    version: int = 1
    content: dict = Field(sa_column=Column(JSONB, nullable=False))  # patient + coverages
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


class PatientIdentifier(SQLModel, table=True):
    """Keys that resolve to a patient: ("mrn", "FACILITY|MRN") and ("member", "last|first|dob|member id")."""

    __tablename__ = "patient_identifier"
    __table_args__ = (
        Index("ix_patient_identifier_mrn", text("split_part(value, '|', 2)"), postgresql_where=text("kind = 'mrn'")),
    )

    kind: str = Field(primary_key=True, max_length=10)
    value: str = Field(primary_key=True, max_length=300)
    patient_id: UUID = Field(foreign_key="patient.patient_id", index=True)


class ForwardedEncounter(SQLModel, table=True):
    """Encounters that FHIR intake passed on as encounter.documented: a resent bundle passes none twice."""

    __tablename__ = "forwarded_encounter"

    encounter_id: str = Field(primary_key=True, max_length=64)
    patient_id: UUID = Field(foreign_key="patient.patient_id")
    forwarded_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


class EligibilityCheck(SQLModel, table=True):
    """One 270 sent for one coverage, and the 271 that answered it (result is None while pending)."""

    __tablename__ = "eligibility_check"

    check_id: UUID = Field(primary_key=True)
    control_number: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), unique=True))
    patient_id: UUID = Field(foreign_key="patient.patient_id", index=True)
    coverage_rank: str = Field(max_length=10)
    payer_id: str = Field(max_length=80)
    service_date: date
    status: str = Field(default="pending", max_length=10)  # pending, answered
    active: bool | None = None
    result: dict | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    correlation_id: str = Field(max_length=64)
    requested_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    answered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


TABLES = ("patient", "patient_identifier", "forwarded_encounter", "eligibility_check")


async def lock_keys(session: AsyncSession, keys: list[tuple[str, str]]) -> None:
    """Serialize registrations that share any identity key, in one global order (no deadlocks).
    Racing registrations of one person then resolve to one patient whichever key they share."""
    for lock in sorted({zlib.crc32(f"{kind}:{value}".encode()) for kind, value in keys}):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :key)"), {"namespace": 4101, "key": lock - 2**31}
        )


async def find_patient(session: AsyncSession, keys: list[tuple[str, str]]) -> tuple[UUID, str] | None:
    """The patient the strongest matching key names, and the kind of that key."""
    table = PatientIdentifier.__table__
    rows = (
        await session.execute(
            select(table.c.kind, table.c.value, table.c.patient_id).where(tuple_(table.c.kind, table.c.value).in_(keys))
        )
    ).all()
    found = {(row.kind, row.value): row.patient_id for row in rows}
    for key in keys:
        if key in found:
            return found[key], key[0]
    return None


async def insert_patient(session: AsyncSession, patient_id: UUID, facility: str, mrn: str, content: dict) -> None:
    await session.execute(
        insert(Patient.__table__).values(patient_id=patient_id, facility=facility, mrn=mrn, version=1, content=content)
    )


async def patient_for_update(session: AsyncSession, patient_id: UUID) -> Row:
    """The patient's row (version, content), locked until the transaction ends."""
    table = Patient.__table__
    return (await session.execute(select(table).where(table.c.patient_id == patient_id).with_for_update())).one()


async def update_content(session: AsyncSession, patient_id: UUID, content: dict, version: int) -> None:
    table = Patient.__table__
    await session.execute(
        update(table)
        .where(table.c.patient_id == patient_id)
        .values(content=content, version=version, updated_at=datetime.now(UTC))
    )


async def add_identifiers(session: AsyncSession, patient_id: UUID, keys: list[tuple[str, str]]) -> None:
    """Every key now names this patient (a key already known stays as it is)."""
    await session.execute(
        insert(PatientIdentifier.__table__)
        .values([{"kind": kind, "value": value, "patient_id": patient_id} for kind, value in keys])
        .on_conflict_do_nothing()
    )


async def mark_forwarded(session: AsyncSession, encounter_id: str, patient_id: UUID) -> bool:
    """Record that the encounter was passed on; False when it already was."""
    table = ForwardedEncounter.__table__
    new = (
        await session.execute(
            insert(table)
            .values(encounter_id=encounter_id, patient_id=patient_id)
            .on_conflict_do_nothing()
            .returning(table.c.encounter_id)
        )
    ).first()
    return new is not None


async def patient(session: AsyncSession, patient_id: UUID) -> Patient | None:
    return await session.get(Patient, patient_id)


# The search keys, spelled as the indexes of migration 0006 are (literal paths: a bound one matches no index).
LAST_NAME = literal_column("lower(patient.content #>> '{patient,last_name}') COLLATE \"C\"")
FIRST_NAME = literal_column("lower(patient.content #>> '{patient,first_name}') COLLATE \"C\"")
BIRTH_DATE = literal_column("patient.content #>> '{patient,birth_date}'")
SearchPosition = tuple[str, str, UUID]  # (last name, first name, patient id) of the last patient shown


async def search_patients(session: AsyncSession, *, last_name: str | None = None, first_name: str | None = None,
                          birth_date: date | None = None, mrn: str | None = None, after: SearchPosition | None = None,
                          limit: int = 25) -> list[Patient]:  # fmt: skip
    """Patients whose names start with these (any case), born that day, or known by that MRN at any
    facility; by last name, first name and id, the page after `after` (indexes of migration 0006)."""
    table = Patient.__table__
    query = select(Patient)
    if last_name:
        query = query.where(LAST_NAME.like(_prefix(last_name)))
    if first_name:
        query = query.where(FIRST_NAME.like(_prefix(first_name)))
    if birth_date:
        query = query.where(BIRTH_DATE == birth_date.isoformat())
    if mrn:
        ids = PatientIdentifier.__table__
        mrn_part = literal_column("split_part(patient_identifier.value, '|', 2)")
        query = query.where(exists().where(and_(ids.c.kind == "mrn", mrn_part == mrn,
                                                ids.c.patient_id == table.c.patient_id)))  # fmt: skip
    if after is not None:
        query = query.where(tuple_(LAST_NAME, FIRST_NAME, table.c.patient_id) > tuple_(*after))
    query = query.order_by(LAST_NAME, FIRST_NAME, table.c.patient_id).limit(limit)
    return list((await session.execute(query)).scalars())


def _prefix(text_: str) -> str:
    escaped = text_.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


async def mrns(session: AsyncSession, patient_id: UUID) -> list[str]:
    """The patient's "FACILITY|MRN" keys, in order."""
    table = PatientIdentifier.__table__
    rows = await session.execute(
        select(table.c.value).where(table.c.patient_id == patient_id, table.c.kind == "mrn").order_by(table.c.value)
    )
    return list(rows.scalars().all())


async def answered_checks(session: AsyncSession, patient_id: UUID) -> list[Row]:
    """(coverage_rank, active, answered_at, check_id) of the patient's answered checks, oldest first."""
    checks = EligibilityCheck.__table__
    rows = await session.execute(
        select(checks.c.coverage_rank, checks.c.active, checks.c.answered_at, checks.c.check_id)
        .where(checks.c.patient_id == patient_id, checks.c.status == "answered")
        .order_by(checks.c.answered_at)
    )
    return list(rows.all())


async def eligibility_check(session: AsyncSession, check_id: UUID) -> EligibilityCheck | None:
    return await session.get(EligibilityCheck, check_id)


async def add_check(session: AsyncSession, check: EligibilityCheck) -> None:
    """Store a new check; its control number (ISA13/GS06 of its 270) comes from the database."""
    session.add(check)
    await session.flush()
    await session.refresh(check, ["control_number"])


async def pending_check_for_update(session: AsyncSession, check_ids: list[UUID]) -> Row | None:
    """The pending check among these ids, locked (a 271 answers it once)."""
    table = EligibilityCheck.__table__
    return (
        await session.execute(
            table.select().where(table.c.status == "pending").where(table.c.check_id.in_(check_ids)).with_for_update()
        )
    ).first()


async def answer_check(session: AsyncSession, check_id: UUID, active: bool, result: dict) -> None:
    table = EligibilityCheck.__table__
    await session.execute(
        update(table)
        .where(table.c.check_id == check_id)
        .values(status="answered", active=active, result=result, answered_at=datetime.now(UTC))
    )
