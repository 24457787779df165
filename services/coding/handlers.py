"""encounter.documented -> encounter.coded | encounter.rejected"""

import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.coding import db
from services.coding.domain.validation import check_encounter, service_lines
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import EncounterCodedV1, EncounterDocumentedV1, EncounterRejectedV1, normalize_icd
from shared.envelope import Event
from shared.service import Service

log = logging.getLogger(__name__)
SOURCE = "/openrcm/coding"


def register(service: Service) -> None:
    @service.consumes(topics.ENCOUNTER_DOCUMENTED, EncounterDocumentedV1)
    async def on_encounters_documented(session: AsyncSession, events: list[Event[EncounterDocumentedV1]]) -> None:
        for event in events:
            await code_one(session, event)

    async def code_one(session: AsyncSession, event: Event[EncounterDocumentedV1]) -> None:
        encounter = event.data
        if await db.outcome_exists(session, encounter.encounter_id):
            # The sender published the same encounter again under a new event id.
            log.info("encounter already coded; ignored", extra={"encounter_id": encounter.encounter_id})
            return
        now = datetime.now(UTC)
        findings = check_encounter(encounter, today=now.date())
        session.add(
            db.CodingOutcome(
                encounter_id=encounter.encounter_id,
                patient_id=encounter.patient_id,
                status="rejected" if findings else "coded",
                findings=[f.model_dump() for f in findings],
                coded_by="auto",
                correlation_id=event.correlation_id,
                decided_at=now,
            )
        )
        if findings:
            data = EncounterRejectedV1(
                encounter_id=encounter.encounter_id, patient_id=encounter.patient_id, findings=findings, rejected_at=now
            )
            outbox.stage(session, topics.ENCOUNTER_REJECTED, follow(event, data))
            return
        coded = EncounterCodedV1(
            encounter_id=encounter.encounter_id,
            patient_id=encounter.patient_id,
            date_of_service=encounter.date_of_service,
            place_of_service=encounter.place_of_service,
            rendering_provider=encounter.rendering_provider,
            billing_provider_npi=encounter.billing_provider_npi,
            diagnoses=[normalize_icd(d.code) for d in encounter.diagnoses],
            service_lines=service_lines(encounter),
            prior_authorization=encounter.prior_authorization,
            coded_by="auto",
            coded_at=now,
        )
        outbox.stage(session, topics.ENCOUNTER_CODED, follow(event, coded))


def follow(cause: Event, data) -> Event:
    """The next event of the same encounter's journey: same subject and correlation id."""
    return Event(data=data, subject=cause.subject or data.encounter_id, source=SOURCE, correlation_id=cause.correlation_id)
