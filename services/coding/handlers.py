"""encounter.documented -> encounter.coded | encounter.rejected | the coder work queue;
patient.registered -> coding's copy of each patient's birth date and sex (for age/sex edits).

Which way an encounter goes:
- rejected: a code the sender must fix (unknown, not billable or not valid on the date of
  service, malformed procedure or modifier, pointer past the last diagnosis, future date);
- queued: the codes exist, but a person must judge (a CAC suggestion below the confidence bar,
  Excludes1 pair, age/sex conflict, NCCI PTP, MUE, claim limits, an E/M level the documentation
  does not support);
- coded: everything else, automatically (coded_by "auto")."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.coding import db
from services.coding.catalog import Catalog, CatalogHolder
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
    PatientRegisteredV1,
)
from shared.envelope import Event

log = logging.getLogger(__name__)
SOURCE = "/openrcm/coding"


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


async def on_encounters_documented(
    session: AsyncSession, events: list[Event[EncounterDocumentedV1]], deps: Deps
) -> None:
    ids = {e.data.encounter_id for e in events}
    done = await db.existing_outcomes(session, ids)
    patients = await db.patients_facts(session, {e.data.patient_id for e in events})
    current = deps.catalog.current  # one catalog for the whole batch, even if a reload lands meanwhile
    for event in events:
        if event.data.encounter_id in done:
            # The sender published the same encounter again under a new event id.
            log.info("encounter already coded; ignored", extra={"encounter_id": event.data.encounter_id})
            continue
        done.add(event.data.encounter_id)
        code_one(session, event, current, patients.get(event.data.patient_id))


def code_one(
    session: AsyncSession, event: Event[EncounterDocumentedV1], current: Catalog, patient: PatientFacts | None
) -> None:
    """Rejected (a code the sender must fix), queued for a coder, or coded automatically."""
    encounter = event.data
    now = datetime.now(UTC)
    findings = check_encounter(encounter, now.date(), current.codes)
    outcome = db.CodingOutcome(
        encounter_id=encounter.encounter_id,
        patient_id=encounter.patient_id,
        status="rejected",
        findings=[f.model_dump() for f in findings],
        coded_by="auto",
        correlation_id=event.correlation_id,
        decided_at=now,
        documented=encounter.model_dump(mode="json"),
    )
    session.add(outcome)
    if findings:
        audit(session, encounter.encounter_id, "auto", "rejected", [], [], now)
        data = EncounterRejectedV1(
            encounter_id=encounter.encounter_id, patient_id=encounter.patient_id, findings=findings, rejected_at=now
        )
        outbox.stage(session, topics.ENCOUNTER_REJECTED, follow(event, data))
        return
    proposal = propose(encounter, current.codes, current.tables, current.indexes, patient)
    outcome.proposal = proposal.dump()
    outcome.findings = [f.model_dump() for f in proposal.findings]
    outcome.status = "coded" if proposal.automatic else "queued"
    action = "auto_coded" if proposal.automatic else "queued"
    audit(session, encounter.encounter_id, "auto", action, proposal.diagnoses, proposal.service_lines, now)
    if proposal.automatic:
        publish_coded(session, outcome, proposal.diagnoses, proposal.service_lines, "auto", now)


def publish_coded(
    session: AsyncSession,
    outcome: db.CodingOutcome,
    diagnoses: list[str],
    lines: list[CodedServiceLine],
    coded_by: str,
    now: datetime,
) -> None:
    encounter = EncounterDocumentedV1.model_validate(outcome.documented)
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
        coded_by=coded_by,
        coded_at=now,
    )
    event = Event(data=coded, subject=encounter.encounter_id, source=SOURCE, correlation_id=outcome.correlation_id)
    outbox.stage(session, topics.ENCOUNTER_CODED, event)


def audit(
    session: AsyncSession,
    encounter_id: str,
    actor: str,
    action: str,
    diagnoses: list[str],
    lines: list[CodedServiceLine],
    now: datetime,
    note: str | None = None,
) -> None:
    session.add(
        db.CodingAudit(
            encounter_id=encounter_id,
            at=now,
            actor=actor,
            action=action,
            diagnoses=diagnoses,
            service_lines=[line.model_dump() for line in lines],
            note=note,
        )
    )


def follow(cause: Event[EncounterDocumentedV1], data: EncounterRejectedV1) -> Event[EncounterRejectedV1]:
    """The next event of the same encounter's journey: same subject and correlation id."""
    return Event(
        data=data, subject=cause.subject or data.encounter_id, source=SOURCE, correlation_id=cause.correlation_id
    )
