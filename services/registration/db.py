"""Registration's tables and the queries that match a registration to a patient."""

import zlib
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import BigInteger, Column, DateTime, Identity, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel


class Patient(SQLModel, table=True):
    __tablename__ = "patient"

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
