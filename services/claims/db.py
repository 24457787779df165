"""Claims' tables and every query on them: its own copy of patients (from patient.registered) and
of their coverages' latest eligibility answers, coded encounters waiting for their patient, claims,
submission batches (one 837 interchange each) and the acknowledgement files applied."""

import zlib
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from asyncpg import Record
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Numeric,
    Sequence,
    Text,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from services.claims.built import BuiltClaims
from services.claims.domain.acknowledgement import ClaimOutcome
from services.claims.domain.assembly import patient_control_number
from services.claims.domain.follow_up import FollowUp
from services.claims.domain.grouping import Bill, InactiveCoverage, OpenClaim, Plan
from shared.contracts.events import AckReason, EligibilityCheckedV1, EncounterCodedV1, PatientRegisteredV1
from shared.db import Statement, count_at_most, json_dumps, lock_keys_for_transaction
from shared.envelope import Event
from x12.claim import Claim as X12Claim

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
    # waiting (for the patient) | claimed | held | voided (by the EHR) | correcting (the EHR's newer
    # version waits for the payer's claim number of the claim billing it, to replace or void it)
    status: str = Field(max_length=16, index=True)
    claim_id: UUID | None = Field(default=None, index=True)  # the claim that bills it (maybe with others)
    content: dict = Field(sa_column=Column(JSONB, nullable=False))  # EncounterCodedV1
    correlation_id: str = Field(max_length=64)
    received_at: datetime | None = Field(default=None, sa_column=_timestamp())


WORK_QUEUE = "status = 'held' OR acknowledgement = 'rejected'"
AWAITING_ACK = "status = 'submitted' AND acknowledgement IS NULL"


class Claim(SQLModel, table=True):
    __tablename__ = "claim"
    # Partial indexes (migrations 0006, 0011): a claim is written four times (made, batched, submitted,
    # acknowledged) and no update can be HOT (status is indexed), so each version is entered in every
    # index whose predicate it meets. These hold only the rows their queries look for.
    __table_args__ = (
        # the work queue's order: a page of a long queue is read straight from it
        Index("ix_claim_work_queue", "created_at", "claim_id", postgresql_where=text(WORK_QUEUE)),
        Index("ix_claim_ready", "created_at", postgresql_where=text("status = 'ready'")),  # the next batch
        Index("ix_claim_open_by_key", "grouping_key", postgresql_where=text("status = 'ready'")),  # open claims
        # whether 277CAs are still awaited (the mailbox is polled often only then)
        Index("ix_claim_awaiting_ack", "submitted_at", postgresql_where=text(AWAITING_ACK)),
        Index(
            "ix_claim_original_claim_id", "original_claim_id", postgresql_where=text("original_claim_id IS NOT NULL")
        ),
    )

    claim_id: UUID = Field(primary_key=True)
    patient_control_number: str = Field(max_length=20, unique=True)
    encounter_id: str = Field(max_length=64, index=True)  # its original, replacements and secondary claims
    # Every encounter billed on it (first = encounter_id); ready originals with the same grouping key
    # take in the patient's other encounters of the day until they are batched.
    encounter_ids: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    grouping_key: str | None = Field(default=None, max_length=300)
    patient_id: UUID = Field(index=True)
    payer_id: str = Field(max_length=80)
    payer_name: str = Field(max_length=60)
    date_of_service: date
    total_charge: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    # ready -> batched -> submitted; held claims wait in the work queue, never sent.
    status: str = Field(max_length=16)
    # What the clearinghouse (999) or the payer's front end (277CA) said: accepted | rejected.
    # Rejected claims are in the work queue beside the held ones.
    acknowledgement: str | None = Field(default=None, max_length=16)
    ack_reasons: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    acknowledged_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    payer_claim_control_number: str | None = Field(default=None, max_length=50)  # 277CA REF*1K
    # original | replacement | void | secondary; the later ones point at the claim they follow.
    kind: str = Field(default="original", max_length=16, sa_column_kwargs={"server_default": "original"})
    original_claim_id: UUID | None = Field(default=None)
    findings: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    content: dict | None = Field(default=None, sa_column=Column(JSONB))  # x12.claim.Claim
    correlation_id: str = Field(max_length=64)
    batch_id: int | None = Field(default=None, index=True)
    created_at: datetime | None = Field(default=None, sa_column=_timestamp())
    # When its grouping window opened: when its encounter was coded, at most WINDOW_HEAD_START before
    # the claim was made (null: when it was made, created_at).
    window_opened_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
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


class ClaimEvent(SQLModel, table=True):
    """What happened to a claim that its row does not keep: each 999 and 277CA that answered it (the
    file, accepted or not) and each fix a biller made to it while held (who, what was wrong)."""

    __tablename__ = "claim_event"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    claim_id: UUID = Field(index=True)
    at: datetime | None = Field(default=None, sa_column=_timestamp())
    kind: str = Field(max_length=16)  # 999 | 277CA | fixed
    file_name: str | None = Field(default=None, max_length=200)
    accepted: bool | None = None
    detail: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    actor: str | None = Field(default=None, max_length=64)  # a person's subject (token sub); None: the system
    actor_name: str | None = Field(default=None, max_length=255)


TABLES = (
    "claim_patient",
    "coded_encounter",
    "claim",
    "submission_batch",
    "ack_file",
    "coverage_eligibility",
    "claim_event",
)
JOIN_SPACE = zlib.crc32(b"claims:patient-encounter-join") & 0x7FFFFFFF  # the patients' locks (an int4)


# -- patients and their coverages' eligibility ----------------------------------------------------------------


async def lock_patients(session: AsyncSession, patient_ids: Iterable[UUID]) -> None:
    """A patient and its coded encounter arrive on two topics, handled concurrently (by several
    replicas too). Each side could miss the other's uncommitted row and leave the encounter waiting
    for good; a transaction-scoped lock per patient makes the transactions that touch one patient
    take turns, while those over other patients run side by side. Taken before any of their rows."""
    await lock_keys_for_transaction(session, JOIN_SPACE, patient_ids)


PATIENTS_OF_ENCOUNTERS = Statement(
    "SELECT DISTINCT patient_id FROM coded_encounter WHERE encounter_id = ANY(CAST(:ids AS text[]))"
)
PATIENTS_OF_CLAIMS = Statement(
    "SELECT DISTINCT patient_id FROM claim"
    " WHERE claim_id = ANY(CAST(:ids AS uuid[])) OR patient_control_number = ANY(CAST(:numbers AS text[]))"
)


async def patients_of_encounters(session: AsyncSession, encounter_ids: Iterable[str]) -> set[UUID]:
    """The patients the encounters were received for (a later version may name another)."""
    return {row["patient_id"] for row in await PATIENTS_OF_ENCOUNTERS.fetch(session, {"ids": list(encounter_ids)})}


async def patients_of_claims(
    session: AsyncSession, claim_ids: Iterable[UUID] = (), numbers: Iterable[str] = ()
) -> set[UUID]:
    """The patients of the claims named by id or by patient control number."""
    params = {"ids": list(claim_ids), "numbers": list(numbers)}
    return {row["patient_id"] for row in await PATIENTS_OF_CLAIMS.fetch(session, params)}


async def upsert_patient(session: AsyncSession, patient: PatientRegisteredV1) -> bool:
    """Keep the newest version; an older one arriving late changes nothing. True if stored."""
    table = ClaimPatient.__table__
    version, content = patient.version, patient.model_dump(mode="json")
    statement = (
        insert(table)
        .values(patient_id=patient.patient_id, version=version, content=content)
        .on_conflict_do_update(
            index_elements=["patient_id"],
            set_={"version": version, "content": content},
            where=table.c.version < version,
        )
        .returning(table.c.patient_id)
    )
    return (await session.execute(statement)).first() is not None


class ReadPatients:
    """Patients as last read, by id with their stored JSON text: each batch reads its patients again,
    and validating one's JSON cost ~25 µs; the same text gives the model read before. The least
    recently read are forgotten past `most` (a patient with its text ~10 KB)."""

    def __init__(self, most: int = 4000) -> None:
        self.most = most
        self._read: OrderedDict[UUID, tuple[str, PatientRegisteredV1]] = OrderedDict()

    def model(self, patient_id: UUID, content: str) -> PatientRegisteredV1:
        read = self._read.get(patient_id)
        if read is None or read[0] != content:
            read = (content, PatientRegisteredV1.model_validate_json(content))
        self._read[patient_id] = read
        self._read.move_to_end(patient_id)
        if len(self._read) > self.most:
            self._read.popitem(last=False)
        return read[1]


READ_PATIENTS = ReadPatients()  # keyed by the stored text itself: right whichever database or test read it


async def patients(session: AsyncSession, patient_ids: set[UUID]) -> dict[UUID, PatientRegisteredV1]:
    found = await PATIENTS.fetch(session, {"ids": list(patient_ids)})
    return {row["patient_id"]: READ_PATIENTS.model(row["patient_id"], row["content"]) for row in found}


PATIENTS = Statement("SELECT patient_id, content::text AS content FROM claim_patient WHERE patient_id = ANY(:ids)")


async def patient(session: AsyncSession, patient_id: UUID) -> PatientRegisteredV1 | None:
    stored = await session.get(ClaimPatient, patient_id)
    return PatientRegisteredV1.model_validate(stored.content) if stored else None


async def record_eligibility(session: AsyncSession, answers: list[EligibilityCheckedV1]) -> None:
    """Keep each coverage's latest answer; an older one arriving late changes nothing."""
    table = CoverageEligibility.__table__
    statement = insert(table)
    rows = [
        dict(
            patient_id=a.patient_id,
            coverage_rank=a.coverage_rank,
            payer_id=a.payer_id,
            active=a.active,
            check_id=a.check_id,
            checked_at=a.checked_at,
        )
        for a in answers
    ]
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


async def inactive_coverages(session: AsyncSession, patient_ids: set[UUID]) -> set[InactiveCoverage]:
    """(patient, rank, payer) of coverages whose latest eligibility answer says not active."""
    rows = await INACTIVE_COVERAGES.fetch(session, {"ids": list(patient_ids)})
    return {(row["patient_id"], row["coverage_rank"], row["payer_id"]) for row in rows}


INACTIVE_COVERAGES = Statement(
    "SELECT patient_id, coverage_rank, payer_id FROM coverage_eligibility WHERE patient_id = ANY(:ids) AND NOT active"
)


# -- coded encounters and the claims that bill them ------------------------------------------------------------


async def receive_encounters(session: AsyncSession, events: list[Event[EncounterCodedV1]]) -> set[str]:
    """Store the coded encounters not received before (the latest version of each) as waiting for
    their claim, or as voided when that version is a void; the ids of those stored."""
    latest: dict[str, Event[EncounterCodedV1]] = {}
    for e in events:
        if e.data.encounter_id not in latest or latest[e.data.encounter_id].data.version < e.data.version:
            latest[e.data.encounter_id] = e
    chosen = list(latest.values())
    inserted = await RECEIVE_ENCOUNTERS.fetch(
        session,
        {
            "encounters": [e.data.encounter_id for e in chosen],
            "patients": [e.data.patient_id for e in chosen],
            "statuses": ["voided" if e.data.action == "void" else "waiting" for e in chosen],
            "contents": [e.data.model_dump_json() for e in chosen],
            "correlations": [e.correlation_id for e in chosen],
        },
    )
    return {row["encounter_id"] for row in inserted}


RECEIVE_ENCOUNTERS = Statement(
    "INSERT INTO coded_encounter (encounter_id, patient_id, status, content, correlation_id)"
    " SELECT e, p, s, c::jsonb, r FROM unnest(CAST(:encounters AS text[]), CAST(:patients AS uuid[]),"
    " CAST(:statuses AS text[]), CAST(:contents AS text[]), CAST(:correlations AS text[])) AS u(e, p, s, c, r)"
    " ON CONFLICT DO NOTHING RETURNING encounter_id"
)


async def encounters_for_update(session: AsyncSession, encounter_ids: Iterable[str]) -> dict[str, CodedEncounter]:
    rows = await session.execute(
        select(CodedEncounter)
        .where(CodedEncounter.encounter_id.in_(list(encounter_ids)))
        .order_by(CodedEncounter.encounter_id)
        .with_for_update()
    )
    return {row.encounter_id: row for row in rows.scalars()}


async def encounters_of(session: AsyncSession, claim: Claim) -> list[CodedEncounter]:
    """The coded encounters a claim bills, in the order it bills them."""
    rows = await session.execute(select(CodedEncounter).where(CodedEncounter.claim_id == claim.claim_id))
    order = {encounter_id: n for n, encounter_id in enumerate(claim.encounter_ids)}
    return sorted(rows.scalars(), key=lambda row: order.get(row.encounter_id, len(order)))


async def correcting_encounters(session: AsyncSession, claim_ids: Iterable[UUID]) -> list[CodedEncounter]:
    """Encounters the EHR corrected or voided whose claim waits for the payer's claim number (277CA)."""
    rows = await session.execute(
        select(CodedEncounter).where(
            CodedEncounter.claim_id.in_(list(claim_ids)), CodedEncounter.status == "correcting"
        )
    )
    return list(rows.scalars())


async def claim_for_update(session: AsyncSession, claim_id: UUID) -> Claim | None:
    return (
        await session.execute(select(Claim).where(Claim.claim_id == claim_id).with_for_update())
    ).scalar_one_or_none()


async def unbill(session: AsyncSession, claim: Claim) -> None:
    """A claim never sent is withdrawn (its encounters are billed again as they now stand)."""
    await session.delete(claim)
    await session.flush()


async def waiting_encounters(session: AsyncSession, patient_ids: set[UUID]) -> list[tuple[EncounterCodedV1, str]]:
    """The coded encounters of these patients still waiting for them, with their correlation ids."""
    waiting = await session.execute(
        select(CodedEncounter).where(CodedEncounter.patient_id.in_(patient_ids), CodedEncounter.status == "waiting")
    )
    return [(EncounterCodedV1.model_validate(e.content), e.correlation_id) for e in waiting.scalars()]


async def open_claims(session: AsyncSession, keys: set[str]) -> list[OpenClaim]:
    """Ready (not yet batched) original claims of these grouping keys, oldest first, locked, with the
    coded encounters they bill. A batch taking a claim meanwhile makes it no longer ready: it is not returned."""
    if not keys:
        return []
    claims = await OPEN_CLAIMS.fetch(session, {"keys": list(keys)})
    by_claim: dict[UUID, tuple[Record, list[EncounterCodedV1]]] = {row["claim_id"]: (row, []) for row in claims}
    if not by_claim:
        return []
    for row in await BILLED_BY.fetch(session, {"claims": list(by_claim)}):
        by_claim[row["claim_id"]][1].append(EncounterCodedV1.model_validate_json(row["content"]))
    return [_open_claim(row, encounters) for row, encounters in by_claim.values()]


OPEN_CLAIMS = Statement(
    "SELECT claim_id, grouping_key, correlation_id, encounter_ids FROM claim"
    " WHERE grouping_key = ANY(:keys) AND status = 'ready' AND kind = 'original' ORDER BY created_at FOR UPDATE"
)
BILLED_BY = Statement("SELECT claim_id, content::text AS content FROM coded_encounter WHERE claim_id = ANY(:claims)")


def _open_claim(claim: Record, encounters: list[EncounterCodedV1]) -> OpenClaim:
    order = {encounter_id: n for n, encounter_id in enumerate(claim["encounter_ids"])}
    encounters.sort(key=lambda coded: order.get(coded.encounter_id, len(order)))  # in the order the claim bills them
    return OpenClaim(claim["claim_id"], claim["grouping_key"] or "", claim["correlation_id"], tuple(encounters))


# The new claims of a batch of encounters in one statement (its NOTIFY trigger fires once), and the
# encounters marked with the claim that bills them in one more: a row each through executemany
# costs PostgreSQL a statement (and the trigger) per row.
# A new claim's grouping window opens when its encounter was coded (the newest of the batch's, :coded_at,
# coding's clock), not when it reached claims: the time it spent on the way is not added to every
# claim's wait. At most WINDOW_HEAD_START before the claim is made, so that a backlog (or a clock ahead
# or behind) still leaves most of the window for the encounters queued behind it; null :coded_at (an
# encounter that waited for its patient): when it is made.
WINDOW_HEAD_START = timedelta(seconds=0.25)
INSERT_CLAIMS = Statement(
    "INSERT INTO claim (claim_id, patient_control_number, encounter_id, encounter_ids, grouping_key, patient_id,"
    " payer_id, payer_name, date_of_service, total_charge, status, findings, content, correlation_id,"
    " window_opened_at)"
    " SELECT i, n, e, CAST(es AS jsonb), g, p, pi, pn, d, t, s, CAST(f AS jsonb), CAST(c AS jsonb), r,"
    " greatest(now() - CAST(:head_start AS interval), least(now(), coalesce(CAST(:coded_at AS timestamptz), now())))"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:numbers AS text[]), CAST(:encounters AS text[]),"
    " CAST(:encounter_ids AS text[]), CAST(:keys AS text[]), CAST(:patients AS uuid[]), CAST(:payer_ids AS text[]),"
    " CAST(:payer_names AS text[]), CAST(:dates AS date[]), CAST(:charges AS numeric[]), CAST(:statuses AS text[]),"
    " CAST(:findings AS text[]), CAST(:contents AS text[]), CAST(:correlations AS text[]))"
    " AS u(i, n, e, es, g, p, pi, pn, d, t, s, f, c, r)"
    " RETURNING claim_id, content::text AS content"
)
MARK_BILLED = Statement(
    "UPDATE coded_encounter SET claim_id = u.claim_id, status = u.status"
    " FROM unnest(CAST(:encounters AS text[]), CAST(:claims AS uuid[]), CAST(:statuses AS text[]))"
    " AS u(encounter_id, claim_id, status) WHERE coded_encounter.encounter_id = u.encounter_id"
)


async def store_plan(
    session: AsyncSession, plan: Plan, built: BuiltClaims | None = None, coded_at: datetime | None = None
) -> None:
    """The new claims inserted, the grown ones updated (same id and control number, more lines), and
    each encounter marked with the claim that bills it. `built` keeps each 837 claim with its JSON as
    stored, for the submission loop; `coded_at` is when the newest of the encounters was coded (the
    new claims' grouping windows open then: INSERT_CLAIMS)."""
    stored = []
    if plan.new:
        columns = _claim_columns([_claim_row(bill) for bill in plan.new])
        stored += await INSERT_CLAIMS.fetch(session, {**columns, "coded_at": coded_at, "head_start": WINDOW_HEAD_START})
    if plan.grown:
        rows = [_claim_row(bill) for bill in plan.grown]
        params = {name: [row[column] for row in rows] for name, column in _GROWN.items()}
        stored += await GROW_CLAIMS.fetch(session, params)
    if built is not None:
        claims = {bill.claim_id: bill.assembly.claim for bill in plan.bills}
        for row in stored:
            if (claim := claims[row["claim_id"]]) is not None and row["content"] is not None:
                built.keep(row["claim_id"], row["content"], claim)
    billed = [(coded.encounter_id, bill.claim_id, "held" if bill.held else "claimed")
              for bill in plan.bills for coded in bill.encounters]  # fmt: skip
    if billed:
        encounters, claims, statuses = (list(column) for column in zip(*billed, strict=True))
        await MARK_BILLED.execute(session, dict(encounters=encounters, claims=claims, statuses=statuses))


# The grown claims (a ready claim that took in more encounters) in one statement over arrays.
GROW_CLAIMS = Statement(
    "UPDATE claim SET encounter_ids = CAST(u.es AS jsonb), total_charge = u.t, content = CAST(u.c AS jsonb)"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:encounter_ids AS text[]), CAST(:charges AS numeric[]),"
    " CAST(:contents AS text[])) AS u(i, es, t, c) WHERE claim.claim_id = u.i"
    " RETURNING claim.claim_id, claim.content::text AS content"
)
_GROWN = dict(ids="claim_id", encounter_ids="encounter_ids", charges="total_charge", contents="content")

# INSERT_CLAIMS' parameter -> the row's column it carries; the JSON ones are text already (_claim_row)
_CLAIM_ARRAYS = dict(
    ids="claim_id", numbers="patient_control_number", encounters="encounter_id", keys="grouping_key",
    patients="patient_id", payer_ids="payer_id", payer_names="payer_name", dates="date_of_service",
    charges="total_charge", statuses="status", correlations="correlation_id", encounter_ids="encounter_ids",
    findings="findings", contents="content",
)  # fmt: skip


def _claim_columns(rows: list[dict[str, object]]) -> dict[str, list[object]]:
    """INSERT_CLAIMS' arrays, one per column."""
    return {name: [row[column] for row in rows] for name, column in _CLAIM_ARRAYS.items()}


def _claim_row(bill: Bill) -> dict[str, object]:
    """A claim's columns; its JSON ones (encounter_ids, findings, content) as JSON text. The 837 claim is
    written by pydantic itself (model_dump_json: half the CPU of a dict dumped again by orjson)."""
    claim, first = bill.assembly.claim, bill.encounters[0]
    return dict(
        claim_id=bill.claim_id,
        patient_control_number=claim.patient_control_number if claim else patient_control_number(bill.claim_id),
        encounter_id=first.encounter_id,
        encounter_ids=json_dumps([coded.encounter_id for coded in bill.encounters]),
        grouping_key=bill.key if claim else None,
        patient_id=first.patient_id,
        payer_id=claim.payer.id if claim else "",
        payer_name=bill.assembly.payer_name,
        date_of_service=first.date_of_service,
        total_charge=claim.total_charge if claim else 0,
        status="ready" if claim else "held",
        findings=json_dumps([f.model_dump() for f in bill.assembly.findings]),
        content=claim.model_dump_json() if claim else None,
        correlation_id=bill.correlation_id,
    )


# -- claims ------------------------------------------------------------------------------------------------------


async def claim(session: AsyncSession, claim_id: UUID) -> Claim | None:
    return await session.get(Claim, claim_id)


def sent_claim(row: Claim | None) -> X12Claim | None:
    """The 837 claim a stored claim was sent (or is ready to be sent) as; None if unknown or held."""
    return X12Claim.model_validate(row.content) if row is not None and row.content is not None else None


def add_follow_up(
    session: AsyncSession,
    made: FollowUp,
    original: Claim | None,
    original_id: UUID,
    correlation_id: str,
    encounter_ids: list[str] | None = None,
) -> None:
    """A replacement, void or secondary claim: it bills what the original billed (or `encounter_ids`)."""
    claim = made.claim
    billed = encounter_ids or (original.encounter_ids if original else [])
    session.add(
        Claim(
            claim_id=made.claim_id,
            patient_control_number=claim.patient_control_number if claim else patient_control_number(made.claim_id),
            encounter_id=billed[0] if billed else (original.encounter_id if original else ""),
            encounter_ids=billed,
            patient_id=original.patient_id if original else original_id,
            payer_id=claim.payer.id if claim else "",
            payer_name=claim.payer.name if claim else "",
            date_of_service=original.date_of_service if original else date.today(),
            total_charge=claim.total_charge if claim else 0,
            status="held" if made.held else "ready",
            findings=[f.model_dump() for f in made.findings],
            content=claim.model_dump(mode="json") if claim and not made.held else None,
            correlation_id=correlation_id,
            kind=made.kind,
            original_claim_id=original_id,
        )
    )


# -- the API's views --------------------------------------------------------------------------------------------


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


WAITING = or_(Claim.status == "held", Claim.acknowledgement == "rejected")  # the index of migration 0006 is on these


async def work_queue(
    session: AsyncSession, limit: int, offset: int = 0, after: tuple[datetime, UUID] | None = None
) -> tuple[tuple[int, bool], list[Claim]]:
    """Claims someone must fix, oldest first: held before sending or rejected after, and how many there are
    (at most shared.db.COUNTED, and whether there are more: a count of 100,000 would cost more than the page);
    `after` (the last claim's creation time and id) gives the next page from the index."""
    total = await count_at_most(session, select(Claim.claim_id).where(WAITING))
    page = select(Claim).where(WAITING)
    if after is not None:
        page = page.where(tuple_(Claim.created_at, Claim.claim_id) > tuple_(*after))
    page = page.order_by(Claim.created_at, Claim.claim_id).limit(limit).offset(offset)
    return total, list((await session.execute(page)).scalars())


def add_events(session: AsyncSession, claims: Iterable[Claim], kind: str, **what: object) -> None:
    session.add_all(ClaimEvent(claim_id=claim.claim_id, kind=kind, **what) for claim in claims)


async def events_of(session: AsyncSession, claim_ids: Iterable[UUID]) -> list[ClaimEvent]:
    query = select(ClaimEvent).where(ClaimEvent.claim_id.in_(list(claim_ids))).order_by(ClaimEvent.id)
    return list((await session.execute(query)).scalars())


async def follow_ups(session: AsyncSession, claim_id: UUID) -> list[Claim]:
    """The replacements, voids and secondary claims made after this one, oldest first."""
    query = select(Claim).where(Claim.original_claim_id == claim_id).order_by(Claim.created_at)
    return list((await session.execute(query)).scalars())


async def batch(session: AsyncSession, batch_id: int | None) -> SubmissionBatch | None:
    return await session.get(SubmissionBatch, batch_id) if batch_id is not None else None


async def acknowledgement_counts(session: AsyncSession) -> dict[str, int]:
    """Submitted claims by what the clearinghouse and payers said: accepted, rejected, or awaiting."""
    rows = await session.execute(
        select(func.coalesce(Claim.acknowledgement, "awaiting"), func.count())
        .where(Claim.status == "submitted")
        .group_by(Claim.acknowledgement)
    )
    return {state: count for state, count in rows.all()}


# -- submission: ready claims -> 837P batches -> delivered -------------------------------------------------------


async def claims_to_batch(
    session: AsyncSession,
    max_claims: int,
    grouping_window: float,
    mine: Collection[UUID] | None = None,
    others_after: float = 0.0,
) -> list[tuple[UUID, str]]:
    """Ready claims, oldest first, locked (SKIP LOCKED: replicas never share one), as (claim id, 837
    claim JSON). A claim that may still take in the patient's other encounters of the day waits out
    the grouping window first. With `mine` (the claims this replica built and still holds as models),
    the others are left to the replica that built them for `others_after` seconds more: it batches
    them without reading their JSON back; one no replica takes in that time (its builder died, or
    forgot it) is anyone's. The JSON comes as text: pydantic reads it faster than a decoded dict.
    Through the session: the first statement of the batch's transaction, so a pooled connection that
    died meanwhile is found by SQLAlchemy, which drops it (and the pool's other connections of that
    time); the batch's other statements run straight on asyncpg."""
    claim = Claim.__table__.c
    opened = func.coalesce(claim.window_opened_at, claim.created_at)
    settled = or_(claim.grouping_key.is_(None), opened <= func.now() - timedelta(seconds=grouping_window))
    if mine is not None:
        left_to_builder = timedelta(seconds=grouping_window + others_after)
        ours = claim.claim_id == func.any(bindparam("mine", list(mine), type_=ARRAY(PG_UUID(as_uuid=True))))
        settled = and_(settled, or_(ours, opened <= func.now() - left_to_builder))
    ready = (
        select(claim.claim_id, cast(claim.content, Text))
        .where(claim.status == "ready", settled)
        .order_by(claim.created_at)
        .limit(max_claims)
        .with_for_update(skip_locked=True)
    )
    return [(claim_id, content) for claim_id, content in (await session.execute(ready)).all()]


# The submission loop's other statements run straight on asyncpg (shared.db.Statement): each look and
# each batch runs them, and through the session each cost ~0.5 ms of CPU against ~0.13 ms here.
# When each ready claim may be batched here: after its grouping window, and another replica's claim
# (not in :mine) LEFT_TO_BUILDER later still. A window opens at created_at or before, so the claims
# made within the last window (and LEFT_TO_BUILDER) are all that may still wait.
WINDOW_CLOSES = Statement(
    "SELECT extract(epoch FROM min(due) - now()) AS seconds FROM (SELECT coalesce(window_opened_at, created_at)"
    " + CASE WHEN grouping_key IS NULL THEN interval '0' ELSE CAST(:window AS interval) END"
    " + CASE WHEN :everyone OR claim_id = ANY(CAST(:mine AS uuid[])) THEN interval '0' ELSE CAST(:others AS interval) END"
    " AS due FROM claim WHERE status = 'ready' AND created_at > now() - CAST(:window AS interval) - CAST(:others AS interval)"
    ") AS waiting WHERE due > now()"
)
NEXT_INTERCHANGE = Statement(f"SELECT nextval('{INTERCHANGE_SEQUENCE.name}') AS number")
# The batch stored and its claims marked batched in one statement (a data-modifying CTE).
STORE_BATCH = Statement(
    "WITH stored AS (INSERT INTO submission_batch (interchange_control_number, file_name, content, claim_count,"
    " status) VALUES (:number, :file_name, :content, :count, 'rendered') RETURNING batch_id)"
    " UPDATE claim SET status = 'batched', batch_id = stored.batch_id FROM stored"
    " WHERE claim.claim_id = ANY(CAST(:ids AS uuid[]))"
)


async def seconds_until_a_window_closes(
    session: AsyncSession, grouping_window: float, mine: Collection[UUID] | None = None, others_after: float = 0.0
) -> float | None:
    """How long until the first ready claim still waiting (in its grouping window, or left to the replica
    that built it: see claims_to_batch) may be batched here (None: none waits)."""
    params = {
        "window": timedelta(seconds=grouping_window),
        "others": timedelta(seconds=others_after if mine is not None else 0.0),
        "everyone": mine is None,
        "mine": list(mine or ()),
    }
    seconds = await WINDOW_CLOSES.fetch_value(session, params)
    return None if seconds is None else float(seconds)


async def next_interchange_control_number(session: AsyncSession) -> int:
    return int(await NEXT_INTERCHANGE.fetch_value(session))


async def store_batch(
    session: AsyncSession, control_number: int, file_name: str, content: str, claim_ids: list[UUID]
) -> None:
    """The rendered interchange stored and its claims marked batched: one statement, whatever the count."""
    params = dict(number=control_number, file_name=file_name, content=content, count=len(claim_ids), ids=claim_ids)
    await STORE_BATCH.execute(session, params)


@dataclass(frozen=True)
class RenderedBatch:
    batch_id: int
    interchange_control_number: int
    file_name: str
    content: str
    claim_count: int


async def next_rendered_batch(session: AsyncSession) -> RenderedBatch | None:
    """The oldest batch not yet delivered, locked (SKIP LOCKED: replicas never hand over the same one).
    Through the session: the first statement of the delivery's transaction (see claims_to_batch)."""
    b = SubmissionBatch.__table__.c
    rendered = (
        select(b.batch_id, b.interchange_control_number, b.file_name, b.content, b.claim_count)
        .where(b.status == "rendered")
        .order_by(b.batch_id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = (await session.execute(rendered)).first()
    return RenderedBatch(*row) if row is not None else None


SUBMITTED_COLUMNS = (
    "claim_id",
    "patient_control_number",
    "encounter_id",
    "encounter_ids",
    "patient_id",
    "payer_id",
    "payer_name",
    "date_of_service",
    "total_charge",
    "kind",
    "original_claim_id",
    "correlation_id",
)
# The batch delivered and its claims submitted in one statement (a data-modifying CTE).
MARK_DELIVERED = Statement(
    "WITH delivered AS (UPDATE submission_batch SET status = 'delivered', delivered_at = :now"
    " WHERE batch_id = :batch_id)"
    " UPDATE claim SET status = 'submitted', submitted_at = :now WHERE batch_id = :batch_id"
    f" RETURNING {', '.join(SUBMITTED_COLUMNS)}, content -> 'lines' AS lines"
)


async def mark_delivered(session: AsyncSession, batch: RenderedBatch, now: datetime) -> list[Record]:
    """The batch delivered and its claims submitted; returns what claim.submitted says of each claim
    (its columns, and `lines`: the 837 claim's lines as stored), as asyncpg Records (row["claim_id"])."""
    return await MARK_DELIVERED.fetch(session, {"now": now, "batch_id": batch.batch_id})


# -- acknowledgements (999, 277CA) ---------------------------------------------------------------------------------


# The acknowledgement loop's statements run straight on asyncpg (shared.db.Statement): every file runs
# several, and through the session each cost ~0.5 ms of CPU against ~0.13 ms here. Rows come back as
# asyncpg Records (row["claim_id"]).
ACKNOWLEDGED = "claim.claim_id, claim.correlation_id, claim.payer_claim_control_number"  # what claim.acknowledged says

BATCH_CONTENT = Statement("SELECT content FROM submission_batch WHERE interchange_control_number = :control_number")


async def batch_content(session: AsyncSession, control_number: int) -> str | None:
    """The 837P we wrote for this interchange (None: we never sent it)."""
    return await BATCH_CONTENT.fetch_value(session, {"control_number": control_number})


CLAIM_IDS_OF_INTERCHANGE = Statement(
    "SELECT claim.claim_id FROM claim JOIN submission_batch b ON claim.batch_id = b.batch_id"
    " WHERE b.interchange_control_number = :control_number"
    " AND claim.patient_control_number = ANY(CAST(:numbers AS text[]))"
)


async def claim_ids_of_interchange(session: AsyncSession, control_number: int, numbers: list[str]) -> list[UUID]:
    """The claims of the interchange with these patient control numbers (those of one transaction set)."""
    found = await CLAIM_IDS_OF_INTERCHANGE.fetch(session, {"control_number": control_number, "numbers": numbers})
    return [row["claim_id"] for row in found]


REJECT_INTERCHANGE = Statement(
    "UPDATE claim SET acknowledgement = 'rejected', ack_reasons = CAST(:reasons AS jsonb), acknowledged_at = :now"
    " FROM submission_batch b WHERE claim.batch_id = b.batch_id AND b.interchange_control_number = :control_number"
    " AND claim.patient_control_number = ANY(CAST(:numbers AS text[]))"
    f" RETURNING {ACKNOWLEDGED}"
)


async def reject_interchange(
    session: AsyncSession, control_number: int, numbers: list[str], reasons: list[AckReason], now: datetime
) -> list[Record]:
    """The claims of the interchange with these patient control numbers (those of a transaction set a
    999 rejected), marked so in one statement; returns what claim.acknowledged says of each
    (claim_id, correlation_id, payer_claim_control_number)."""
    params = dict(control_number=control_number, numbers=numbers, reasons=_reasons_json(reasons), now=now)
    return await REJECT_INTERCHANGE.fetch(session, params)


# One statement for a whole 277CA: a claim's payer claim number is kept when the 277CA gives none.
ACKNOWLEDGE_CLAIMS = Statement(
    "UPDATE claim SET acknowledgement = CASE WHEN a.accepted THEN 'accepted' ELSE 'rejected' END,"
    " ack_reasons = CAST(a.reasons AS jsonb), acknowledged_at = :now,"
    " payer_claim_control_number = coalesce(a.payer_number, claim.payer_claim_control_number)"
    " FROM unnest(CAST(:numbers AS text[]), CAST(:accepted AS boolean[]), CAST(:reasons AS text[]),"
    " CAST(:payer_numbers AS text[])) AS a(number, accepted, reasons, payer_number)"
    f" WHERE claim.patient_control_number = a.number RETURNING {ACKNOWLEDGED}, claim.patient_control_number"
)


async def acknowledge_claims(session: AsyncSession, outcomes: Iterable[ClaimOutcome], now: datetime) -> list[Record]:
    """Each claim a 277CA answers (by its patient control number) accepted or rejected; returns what
    claim.acknowledged says of each (and its patient_control_number). A claim we never sent is not found."""
    outcomes = list(outcomes)
    params = dict(
        numbers=[o.patient_control_number for o in outcomes],
        accepted=[o.accepted for o in outcomes],
        reasons=[_reasons_json(o.reasons) for o in outcomes],
        payer_numbers=[o.payer_claim_control_number or None for o in outcomes],
        now=now,
    )
    return await ACKNOWLEDGE_CLAIMS.fetch(session, params)


def _reasons_json(reasons: list[AckReason]) -> str:
    return json_dumps([r.model_dump() for r in reasons])


ADD_ACK_EVENTS = Statement(
    "INSERT INTO claim_event (claim_id, kind, file_name, accepted, detail)"
    " SELECT c, :kind, :file_name, a, CAST(d AS jsonb)"
    " FROM unnest(CAST(:claim_ids AS uuid[]), CAST(:accepted AS boolean[]), CAST(:details AS text[])) AS u(c, a, d)"
)


async def add_ack_events(
    session: AsyncSession, kind: str, file_name: str, answers: list[tuple[UUID, bool, list[AckReason]]]
) -> None:
    """The claims' timeline: what a 999 or 277CA said of each claim (claim id, accepted, reasons), one statement."""
    if answers:
        claim_ids, accepted, reasons = zip(*answers, strict=True)
        details = [_reasons_json(r) for r in reasons]
        params = dict(
            kind=kind, file_name=file_name, claim_ids=list(claim_ids), accepted=list(accepted), details=details
        )
        await ADD_ACK_EVENTS.execute(session, params)


CORRECTING_CLAIMS = Statement(
    "SELECT DISTINCT claim_id FROM coded_encounter WHERE claim_id = ANY(CAST(:claim_ids AS uuid[]))"
    " AND status = 'correcting'"
)


async def claims_awaiting_correction(session: AsyncSession, claim_ids: Iterable[UUID]) -> list[Claim]:
    """Those of these claims with an encounter the EHR corrected or voided while the claim waited
    for the payer's claim number (status correcting), as they now stand in the database. Which ones is
    asked straight on asyncpg (usually none); only those are loaded as rows of the session."""
    if session.new or session.dirty or session.deleted:  # the session's own changes first: the look is not the ORM's
        await session.flush()
    correcting = [row["claim_id"] for row in await CORRECTING_CLAIMS.fetch(session, {"claim_ids": list(claim_ids)})]
    if not correcting:
        return []
    query = select(Claim).where(Claim.claim_id.in_(correcting)).execution_options(populate_existing=True)
    return list((await session.execute(query)).scalars())


async def acknowledgements_awaited(session: AsyncSession, within: timedelta) -> bool:
    """Whether a claim submitted in the last `within` still waits for the payer's 277CA (or a rejecting 999)."""
    awaited = select(Claim.claim_id).where(
        Claim.status == "submitted", Claim.acknowledgement.is_(None), Claim.submitted_at > func.now() - within
    )
    return bool((await session.execute(select(awaited.exists()))).scalar())


ACK_FILE_SPACE = zlib.crc32(b"claims:ack-file") & 0x7FFFFFFF  # a file being applied (an int4 lock space)


async def take_ack_files(session: AsyncSession, hashes: list[str]) -> set[str]:
    """The files (by content hash) this transaction may apply: those no other replica is applying now
    (an advisory lock each, held until commit; try-locks, so replicas share a backlog of files instead
    of queueing behind each other's). Through the session: the first statement of the files'
    transaction (see claims_to_batch)."""
    taken = await session.execute(
        text("SELECT h FROM unnest(CAST(:hashes AS text[])) AS h WHERE pg_try_advisory_xact_lock(:space, hashtext(h))"),
        {"hashes": hashes, "space": ACK_FILE_SPACE},
    )
    return set(taken.scalars())


async def record_ack_file(session: AsyncSession, sha256: str, file_name: str, kind: str) -> bool:
    """Note an acknowledgement file as applied; False if it was already (by its content hash)."""
    table = AckFile.__table__
    new = await session.execute(
        insert(table)
        .values(sha256=sha256, file_name=file_name, kind=kind, status="applied", claims=0)
        .on_conflict_do_nothing()
        .returning(table.c.sha256)
    )
    return new.scalar_one_or_none() is not None


COUNT_ACK_CLAIMS = Statement("UPDATE ack_file SET claims = :claims WHERE sha256 = :sha256")


async def count_ack_claims(session: AsyncSession, sha256: str, claims: int) -> None:
    await COUNT_ACK_CLAIMS.execute(session, {"sha256": sha256, "claims": claims})


async def encounters_waiting_for_patients(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many coded encounters wait for their patient's registration, and since when the oldest."""
    query = select(func.count(), func.min(CodedEncounter.received_at)).where(CodedEncounter.status == "waiting")
    count, oldest = (await session.execute(query)).one()
    return count, oldest


async def count_encounters_waiting_since(session: AsyncSession, before: datetime) -> int:
    query = select(func.count()).where(CodedEncounter.status == "waiting", CodedEncounter.received_at < before)
    return (await session.execute(query)).scalar_one()


async def encounters_waiting_since(
    session: AsyncSession, before: datetime, limit: int, after: tuple[datetime, str] | None
) -> list[CodedEncounter]:
    """Coded encounters waiting for their patient since before `before`, oldest first, a page at a time."""
    query = select(CodedEncounter).where(CodedEncounter.status == "waiting", CodedEncounter.received_at < before)
    if after is not None:
        query = query.where(tuple_(CodedEncounter.received_at, CodedEncounter.encounter_id) > tuple_(*after))
    query = query.order_by(CodedEncounter.received_at, CodedEncounter.encounter_id).limit(limit)
    return list((await session.execute(query)).scalars())


ACK_FILE_QUARANTINE_REASON = Statement("SELECT reason FROM ack_file WHERE sha256 = :sha256 AND status = 'quarantined'")


async def ack_file_quarantine_reason(session: AsyncSession, sha256: str) -> str | None:
    """Why a file recorded before was quarantined; None if it was applied."""
    return await ACK_FILE_QUARANTINE_REASON.fetch_value(session, {"sha256": sha256})


MARK_ACK_FILE_QUARANTINED = Statement(
    "UPDATE ack_file SET status = 'quarantined', reason = :reason WHERE sha256 = :sha256"
)


async def mark_ack_file_quarantined(session: AsyncSession, sha256: str, reason: str) -> None:
    """A file recorded in this transaction turned out unreadable: kept as quarantined, with the reason."""
    await MARK_ACK_FILE_QUARANTINED.execute(session, {"sha256": sha256, "reason": reason})


async def quarantine_ack_file(session: AsyncSession, sha256: str, file_name: str, kind: str, reason: str) -> None:
    await session.execute(
        insert(AckFile.__table__)
        .values(sha256=sha256, file_name=file_name, kind=kind, status="quarantined", reason=reason, claims=0)
        .on_conflict_do_nothing()
    )
