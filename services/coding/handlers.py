"""encounter.documented -> encounter.coded | encounter.rejected | the coder work queue;
patient.registered -> coding's copy of each patient's birth date and sex (for age/sex edits).

Which way an encounter goes:
- rejected: a code the sender must fix (unknown, not billable or not valid on the date of
  service, malformed procedure or modifier, pointer past the last diagnosis, future date);
- queued: the codes exist, but a person must judge (a CAC suggestion below the confidence bar,
  Excludes1 pair, age/sex conflict, NCCI PTP, MUE, claim limits, an E/M level the documentation
  does not support);
- coded: everything else, automatically (coded_by "auto").

The same encounter id again (domain/corrections.py): unchanged, nothing happens; the EHR's
correction (action correct, a later version) is coded again and published with that version and
action, for claims to replace what it billed; a void (action void) publishes the codes voided when
they had been published; a changed re-send without the marker, or an older version, is answered
on encounter.rejected (encounter.already_coded, encounter.stale_version, encounter.voided)."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid5

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from services.coding import db
from services.coding.catalog import Catalog, CatalogHolder
from services.coding.domain.corrections import Held, decide
from services.coding.domain.decision import propose
from services.coding.domain.edits import PatientFacts
from services.coding.domain.validation import check_encounter
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import (
    CodedServiceLine,
    EncounterCodedV1,
    EncounterDocumentedV1,
    EncounterRejectedV1,
    Finding,
    PatientRegisteredV1,
)
from shared.envelope import CORRELATION_HEADER, Event

log = logging.getLogger(__name__)
SOURCE = "/openrcm/coding"
INVALID_RECORD = UUID("3b0e6f1c-5a2d-4c8e-9f7a-1d2c3b4a5e6f")  # answers to invalid records: ids by position


@dataclass(frozen=True)
class Deps:
    """What coding's handlers and routes share: the code sets, edit tables and indexes (reloadable)."""

    catalog: CatalogHolder


async def on_patients_registered(session: AsyncSession, events: list[Event[PatientRegisteredV1]], deps: Deps) -> None:
    newest: dict[UUID, PatientRegisteredV1] = {}
    for event in events:
        patient = event.data
        if patient.patient_id not in newest or newest[patient.patient_id].version < patient.version:
            newest[patient.patient_id] = patient
    await db.upsert_patients(
        session, [(p.patient_id, p.version, p.patient.birth_date, p.patient.sex) for p in newest.values()]
    )


@dataclass
class Writes:
    """What a batch of encounter.documented writes: each encounter's outcome (the last decided) and
    the audit trail in order, written set-wise when the batch is done (or when a query must see them)."""

    outcomes: dict[str, db.Outcome] = field(default_factory=dict)
    audit: list[db.AuditEntry] = field(default_factory=list)

    async def write(self, session: AsyncSession) -> None:
        await db.save_outcomes(session, list(self.outcomes.values()))
        await db.add_audit(session, self.audit)
        self.outcomes, self.audit = {}, []


async def on_encounters_documented(
    session: AsyncSession, events: list[Event[EncounterDocumentedV1]], deps: Deps
) -> None:
    held = await db.held(session, {e.data.encounter_id for e in events})
    patients = await db.patients_facts(session, {e.data.patient_id for e in events})
    current = deps.catalog.current  # one catalog for the whole batch, even if a reload lands meanwhile
    writes = Writes()
    for event in events:
        encounter_id = event.data.encounter_id
        decision = decide(held.get(encounter_id), event.data)
        if decision.verdict == "repeat":  # the same record under a new event id: nothing to do again
            log.info("encounter sent again unchanged", extra={"encounter_id": encounter_id})
            continue
        if decision.finding is not None:
            refuse(session, writes, event, decision.finding)
            continue
        if decision.verdict == "void":
            outcome = await void(session, writes, event, encounter_id in held)
        else:
            outcome = code_one(session, writes, event, current, patients.get(event.data.patient_id))
        writes.outcomes[encounter_id] = outcome
        held[encounter_id] = Held(outcome.status, outcome.documented)
    await writes.write(session)


def code_one(
    session: AsyncSession,
    writes: Writes,
    event: Event[EncounterDocumentedV1],
    current: Catalog,
    patient: PatientFacts | None,
) -> db.Outcome:
    """Rejected (a code the sender must fix), queued for a coder, or coded automatically (an earlier
    version's row, if any, is coded again)."""
    encounter = event.data
    now = datetime.now(UTC)
    findings = check_encounter(encounter, now.date(), current.codes)
    outcome = _outcome(event, now)
    if findings:
        outcome.findings = [f.model_dump() for f in findings]
        writes.audit.append(audit_entry(encounter.encounter_id, "auto", "rejected", [], [], now))
        data = EncounterRejectedV1(
            encounter_id=encounter.encounter_id, patient_id=encounter.patient_id, findings=findings, rejected_at=now
        )
        outbox.stage(session, topics.ENCOUNTER_REJECTED, follow(event, data))
        return outcome
    proposal = propose(encounter, current.codes, current.tables, current.indexes, patient)
    outcome.proposal = proposal.dump()
    outcome.findings = [f.model_dump() for f in proposal.findings]
    outcome.status = "coded" if proposal.automatic else "queued"
    action = "auto_coded" if proposal.automatic else "queued"
    writes.audit.append(
        audit_entry(encounter.encounter_id, "auto", action, proposal.diagnoses, proposal.service_lines, now)
    )
    if proposal.automatic:
        publish_coded(
            session, encounter, outcome.correlation_id, proposal.diagnoses, proposal.service_lines, "auto", now
        )
    return outcome


def _outcome(event: Event[EncounterDocumentedV1], now: datetime) -> db.Outcome:
    """The encounter's outcome as documented now (status rejected until coding decides otherwise)."""
    data = event.data
    return db.Outcome(data.encounter_id, data.patient_id, event.correlation_id, now, data.model_dump(mode="json"))


async def void(session: AsyncSession, writes: Writes, event: Event[EncounterDocumentedV1], known: bool) -> db.Outcome:
    """The EHR withdrew the encounter. If it was billed (coded), encounter.coded says so with the
    codes voided, for claims to void or replace its claim; a queued one leaves the work queue."""
    now = datetime.now(UTC)
    if known:
        await writes.write(session)  # the codes last published may be this batch's own
    last = await db.last_coded(session, event.data.encounter_id) if known else None
    outcome = _outcome(event, now)
    outcome.status = "voided"
    lines = [CodedServiceLine.model_validate(line) for line in last.service_lines] if last else []
    diagnoses = last.diagnoses if last else []
    writes.audit.append(audit_entry(event.data.encounter_id, "auto", "voided", diagnoses, lines, now))
    if last is not None:
        publish_coded(session, event.data, outcome.correlation_id, diagnoses, lines, "auto", now)
    return outcome


def refuse(session: AsyncSession, writes: Writes, event: Event[EncounterDocumentedV1], finding: Finding) -> None:
    """A change coding may not apply (a changed re-send without the correction marker, an old
    version): answered to the sender and kept in the audit trail, the earlier version stands."""
    now = datetime.now(UTC)
    encounter = event.data
    writes.audit.append(audit_entry(encounter.encounter_id, "auto", "refused", [], [], now, note=finding.code))
    data = EncounterRejectedV1(
        encounter_id=encounter.encounter_id, patient_id=encounter.patient_id, findings=[finding], rejected_at=now
    )
    outbox.stage(session, topics.ENCOUNTER_REJECTED, follow(event, data))
    log.info("encounter change refused", extra={"encounter_id": encounter.encounter_id, "reason": finding.code})


def publish_coded(
    session: AsyncSession,
    encounter: EncounterDocumentedV1,
    correlation_id: str,
    diagnoses: list[str],
    lines: list[CodedServiceLine],
    coded_by: str,
    now: datetime,
    coded_by_name: str | None = None,
) -> None:
    coded = EncounterCodedV1(
        encounter_id=encounter.encounter_id,
        patient_id=encounter.patient_id,
        date_of_service=encounter.date_of_service,
        place_of_service=encounter.place_of_service,
        rendering_provider=encounter.rendering_provider,
        billing_provider_npi=encounter.billing_provider_npi,
        referring_provider=encounter.referring_provider,
        diagnoses=diagnoses,
        service_lines=lines,
        prior_authorization=encounter.prior_authorization,
        version=encounter.version,
        action=encounter.action,
        coded_by=coded_by,
        coded_at=now,
        coded_by_name=coded_by_name,
    )
    # Keyed by the patient: a patient's encounters reach one claims consumer, in order, so grouping
    # them onto a claim and joining them with the patient never wait on another replica.
    event = Event(data=coded, subject=str(encounter.patient_id), source=SOURCE, correlation_id=correlation_id)
    outbox.stage(session, topics.ENCOUNTER_CODED, event)


def audit_entry(
    encounter_id: str,
    actor: str,
    action: str,
    diagnoses: list[str],
    lines: list[CodedServiceLine],
    now: datetime,
    note: str | None = None,
    actor_name: str | None = None,
) -> db.AuditEntry:
    """A change of an encounter's codes, for the audit trail."""
    service_lines = [line.model_dump() for line in lines]
    return db.AuditEntry(encounter_id, now, actor, action, list(diagnoses), service_lines, note, actor_name)


def answer_invalid(session: AsyncSession, record: ConsumerRecord, findings: list[Finding]) -> None:
    """A record on encounter.documented that is not a valid event (a missing header, "units": "2",
    ...): its sender hears each violation on encounter.rejected, keyed by the record's key (its
    encounter id); the dead letter keeps the record. A record without a key cannot be answered."""
    encounter_id = (record.key or b"").decode("utf-8", "replace")[:64]
    if not encounter_id:
        return
    headers = {k: (v or b"").decode("utf-8", "replace") for k, v in record.headers}
    answer = EncounterRejectedV1(encounter_id=encounter_id, findings=findings[:50], rejected_at=datetime.now(UTC))
    event_id = uuid5(INVALID_RECORD, f"{record.topic}:{record.partition}:{record.offset}")
    correlation = headers.get(CORRELATION_HEADER, "")[:64] or str(event_id)
    outbox.stage(session, topics.ENCOUNTER_REJECTED, Event(answer, encounter_id, SOURCE, correlation, id=event_id))


def follow(cause: Event[EncounterDocumentedV1], data: EncounterRejectedV1) -> Event[EncounterRejectedV1]:
    """The next event of the same encounter's journey: same subject and correlation id."""
    return Event(
        data=data, subject=cause.subject or data.encounter_id, source=SOURCE, correlation_id=cause.correlation_id
    )
