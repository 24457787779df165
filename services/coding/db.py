"""Coding's tables: the outcome of every encounter it was given (coded, rejected, or queued for a
coder), the audit trail of every code change, and its own copy of each patient's birth date and
sex (from patient.registered, for age and sex edits)."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, Date, DateTime, Identity, Index, Text, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import JSON, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from services.coding.domain.corrections import Held
from services.coding.domain.edits import PatientFacts
from shared.db import count_at_most, driver, json_dumps


class CodingOutcome(SQLModel, table=True):
    __tablename__ = "coding_outcome"
    # the coder queue's order (migration 0004): a page of a long queue is read straight from it
    __table_args__ = (
        Index("ix_coding_outcome_queue", "decided_at", "encounter_id", postgresql_where=text("status = 'queued'")),
    )

    encounter_id: str = Field(primary_key=True, max_length=64)
    patient_id: UUID
    status: str = Field(max_length=16, index=True)  # coded | rejected | queued
    # The documents as json, not jsonb (0007): the database never looks inside them.
    findings: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    coded_by: str = Field(max_length=64)  # 'auto' or the coder's subject (token sub)
    coded_by_name: str | None = Field(default=None, max_length=255)  # the coder's display name then (0003)
    correlation_id: str = Field(max_length=64)
    decided_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # The encounter as documented and what coding proposed (codes, suggestions with evidence).
    documented: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    proposal: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class CodingAudit(SQLModel, table=True):
    """Every change of an encounter's codes: who, when, what the codes became."""

    __tablename__ = "coding_audit"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    encounter_id: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(max_length=64)  # 'auto' or the coder's subject (token sub)
    actor_name: str | None = Field(default=None, max_length=255)  # their display name then (0003)
    action: str = Field(max_length=16)  # auto_coded | queued | rejected | accepted | amended
    diagnoses: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # json (0007)
    service_lines: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CodingPatient(SQLModel, table=True):
    __tablename__ = "coding_patient"

    patient_id: UUID = Field(primary_key=True)
    version: int
    birth_date: date = Field(sa_column=Column(Date, nullable=False))
    sex: str = Field(max_length=1)


TABLES = ("coding_outcome", "coding_audit", "coding_patient")


@dataclass
class Outcome:
    """An encounter's outcome as the consumer decides it: a row of coding_outcome, written with its
    batch's others in one statement (ORM objects cost more than the coding itself)."""

    encounter_id: str
    patient_id: UUID
    correlation_id: str
    decided_at: datetime
    documented: dict[str, Any]
    status: str = "rejected"  # until coding decides otherwise
    findings: list[dict[str, Any]] = field(default_factory=list)
    proposal: dict[str, Any] | None = None
    coded_by: str = "auto"


@dataclass
class AuditEntry:
    """A row of coding_audit."""

    encounter_id: str
    at: datetime
    actor: str
    action: str
    diagnoses: list[str]
    service_lines: list[dict[str, Any]]
    note: str | None = None
    actor_name: str | None = None


async def held(session: AsyncSession, encounter_ids: set[str]) -> dict[str, Held]:
    """What coding already holds of these encounters (a later version updates its row). Once per
    batch: straight on asyncpg (shared.db.driver)."""
    rows = await (await driver(session)).fetch(HELD, list(encounter_ids))
    return {row["encounter_id"]: Held(row["status"], row["documented"] or {}) for row in rows}


HELD = "SELECT encounter_id, status, documented FROM coding_outcome WHERE encounter_id = ANY($1::text[])"


async def save_outcomes(session: AsyncSession, outcomes: list[Outcome]) -> None:
    """Insert or update the outcomes, one statement over arrays (one outcome per encounter). A coder's
    name stays on a row coded again automatically, as it always has (coded_by says 'auto')."""
    if outcomes:
        columns = zip(*(_outcome_row(o) for o in outcomes), strict=True)
        await (await driver(session)).execute(SAVE_OUTCOMES, *(list(column) for column in columns))


def _outcome_row(o: Outcome) -> tuple[Any, ...]:
    proposal = None if o.proposal is None else json_dumps(o.proposal)
    return (o.encounter_id, o.patient_id, o.status, json_dumps(o.findings), o.coded_by, o.correlation_id,
            o.decided_at, json_dumps(o.documented), proposal)  # fmt: skip


SAVE_OUTCOMES = (
    "INSERT INTO coding_outcome (encounter_id, patient_id, status, findings, coded_by, correlation_id, decided_at,"
    " documented, proposal)"
    " SELECT e, p, s, f::json, c, r, d, doc::json, pr::json FROM unnest($1::text[], $2::uuid[], $3::text[],"
    " $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[]) AS u(e, p, s, f, c, r, d, doc, pr)"
    " ON CONFLICT (encounter_id) DO UPDATE SET patient_id = excluded.patient_id, status = excluded.status,"
    " findings = excluded.findings, coded_by = excluded.coded_by, correlation_id = excluded.correlation_id,"
    " decided_at = excluded.decided_at, documented = excluded.documented, proposal = excluded.proposal"
)


async def add_audit(session: AsyncSession, entries: list[AuditEntry]) -> None:
    """Append to the audit trail in the order given (ids ascend with it), one statement over arrays."""
    if entries:
        rows = [(e.encounter_id, e.at, e.actor, e.actor_name, e.action, json_dumps(e.diagnoses),
                 json_dumps(e.service_lines), e.note) for e in entries]  # fmt: skip
        await (await driver(session)).execute(ADD_AUDIT, *(list(column) for column in zip(*rows, strict=True)))


ADD_AUDIT = (
    "INSERT INTO coding_audit (encounter_id, at, actor, actor_name, action, diagnoses, service_lines, note)"
    " SELECT e, t, a, n, x, d::json, l::json, note FROM unnest($1::text[], $2::timestamptz[], $3::text[],"
    " $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS u(e, t, a, n, x, d, l, note, i)"
    " ORDER BY i"
)


async def last_coded(session: AsyncSession, encounter_id: str) -> CodingAudit | None:
    """The codes last published for an encounter (automatically or by a coder), if any were."""
    rows = await session.execute(
        select(CodingAudit)
        .where(CodingAudit.encounter_id == encounter_id, CodingAudit.action.in_(("auto_coded", "accepted", "amended")))
        .order_by(CodingAudit.id.desc())
        .limit(1)
    )
    return rows.scalar_one_or_none()


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(CodingOutcome.status, func.count()).group_by(CodingOutcome.status))
    return {status: count for status, count in rows.all()}


async def upsert_patients(session: AsyncSession, patients: list[tuple[UUID, int, date, str]]) -> None:
    """Keep the newest version whichever order the events arrive in (one row per patient)."""
    if not patients:
        return
    table = CodingPatient.__table__
    statement = insert(table).values(
        [{"patient_id": p, "version": v, "birth_date": b, "sex": s} for p, v, b, s in patients]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.patient_id],
            set_={
                "version": statement.excluded.version,
                "birth_date": statement.excluded.birth_date,
                "sex": statement.excluded.sex,
            },
            where=table.c.version < statement.excluded.version,
        )
    )


async def patients_facts(session: AsyncSession, patient_ids: set[UUID]) -> dict[UUID, PatientFacts]:
    """Once per batch: straight on asyncpg (shared.db.driver)."""
    rows = await (await driver(session)).fetch(PATIENTS_FACTS, list(patient_ids))
    return {row["patient_id"]: PatientFacts(row["birth_date"], row["sex"]) for row in rows}


PATIENTS_FACTS = "SELECT patient_id, birth_date, sex FROM coding_patient WHERE patient_id = ANY($1::uuid[])"


async def patient_facts(session: AsyncSession, patient_id: UUID) -> PatientFacts | None:
    return (await patients_facts(session, {patient_id})).get(patient_id)


async def queued(
    session: AsyncSession, limit: int, offset: int = 0, after: tuple[datetime, str] | None = None
) -> list[CodingOutcome]:
    """The coder queue, oldest first; `after` (the last item's queue time and id) gives the next page
    from the index of migration 0004, as fast at the end of a long queue as at its start."""
    query = select(CodingOutcome).where(CodingOutcome.status == "queued")
    if after is not None:
        query = query.where(tuple_(CodingOutcome.decided_at, CodingOutcome.encounter_id) > tuple_(*after))
    query = query.order_by(CodingOutcome.decided_at, CodingOutcome.encounter_id).limit(limit).offset(offset)
    return list((await session.execute(query)).scalars().all())


async def count_queued(session: AsyncSession) -> tuple[int, bool]:
    """How many encounters wait for a coder, counting no further than shared.db.COUNTED (read from the
    queue's index): (count, whether there are more)."""
    return await count_at_most(session, select(CodingOutcome.encounter_id).where(CodingOutcome.status == "queued"))


async def audit_trail(session: AsyncSession, encounter_id: str) -> list[CodingAudit]:
    rows = await session.execute(
        select(CodingAudit).where(CodingAudit.encounter_id == encounter_id).order_by(CodingAudit.id)
    )
    return list(rows.scalars().all())


async def outcome(session: AsyncSession, encounter_id: str) -> CodingOutcome | None:
    return await session.get(CodingOutcome, encounter_id)


async def outcome_for_update(session: AsyncSession, encounter_id: str) -> CodingOutcome | None:
    """The outcome, locked until the transaction ends: two coders cannot both bill it."""
    rows = await session.execute(
        select(CodingOutcome).where(CodingOutcome.encounter_id == encounter_id).with_for_update()
    )
    return rows.scalar_one_or_none()
