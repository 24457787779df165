"""intake.fhir -> patients and encounter.documented. A bundle that cannot be taken is answered on
intake.rejected (findings with paths, never values) and copied to intake.fhir.dlt with the reason,
in the same transaction as the inbox entry: its neighbours in the batch go through regardless."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid5

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from services.registration.domain.fhir import IntakeInvalid, read_bundle
from services.registration.domain.patients import FieldError
from services.registration.domain.payers import PayerDirectory
from services.registration.registry import SOURCE, RegistrationInvalid, accept_intake
from shared.contracts import topics
from shared.contracts.events import Finding, IntakeFhirV1, IntakeRejectedV1
from shared.contracts.topics import dead_letter_topic
from shared.envelope import CORRELATION_HEADER, Event
from shared.outbox import OutboxMessage, stage

log = logging.getLogger(__name__)
INVALID_RECORD = UUID("8e2f4a6c-1b3d-4e5f-a7c9-0d2e4f6a8b1c")  # answers to invalid records: ids by position


def findings(errors: list[FieldError]) -> list[Finding]:
    return [
        Finding(field=".".join(map(str, e.loc)) or "(root)", code=f"intake.{e.type}", message=e.msg[:300])
        for e in errors[:50]
    ]


@dataclass(frozen=True)
class Deps:
    """What registration's handlers and routes share: the payer directory (loaded once)."""

    payers: PayerDirectory


async def on_fhir_bundles(session: AsyncSession, events: list[Event[IntakeFhirV1]], deps: Deps) -> None:
    for event in events:
        bundle = event.data.model_dump(mode="json")
        try:
            async with session.begin_nested():  # a refused bundle leaves no trace but its answer
                await accept_intake(session, read_bundle(bundle), deps.payers, event.correlation_id)
        except (IntakeInvalid, RegistrationInvalid) as invalid:
            reject(session, event, invalid.errors, str(invalid))


def answer_invalid(session: AsyncSession, record: ConsumerRecord, problems: list[Finding]) -> None:
    """A record on intake.fhir that is not a valid event (a missing header, not JSON, ...): its sender
    hears each violation on intake.rejected; `intake_id` is the record's ce_id, or when that is not a
    UUID one derived from the record's position. The dead letter keeps the record."""
    headers = {k: (v or b"").decode("utf-8", "replace") for k, v in record.headers}
    position = uuid5(INVALID_RECORD, f"{record.topic}:{record.partition}:{record.offset}")
    try:
        intake_id = UUID(headers.get("ce_id", ""))
    except ValueError:
        intake_id = position
    answer = IntakeRejectedV1(
        intake_id=intake_id, source_topic=topics.INTAKE_FHIR, findings=problems[:50], rejected_at=datetime.now(UTC)
    )
    correlation = headers.get(CORRELATION_HEADER, "")[:64] or str(intake_id)
    stage(session, topics.INTAKE_REJECTED, Event(answer, str(intake_id), SOURCE, correlation, id=position))


def reject(session: AsyncSession, event: Event[IntakeFhirV1], errors: list[FieldError], reason: str) -> None:
    bundle_id = getattr(event.data, "id", None)
    answer = IntakeRejectedV1(
        intake_id=event.id,
        source_topic=topics.INTAKE_FHIR,
        bundle_id=bundle_id if isinstance(bundle_id, str) else None,
        findings=findings(errors),
        rejected_at=datetime.now(UTC),
    )
    stage(session, topics.INTAKE_REJECTED, Event(answer, str(event.id), SOURCE, event.correlation_id))
    dead = {
        "dlt_reason": reason[:1000],
        "dlt_error_type": "IntakeInvalid",
        "dlt_consumer": "registration.intake.fhir",
        "dlt_source_topic": topics.INTAKE_FHIR,
        "dlt_attempts": "1",
        "dlt_failed_at": datetime.now(UTC).isoformat(),
    }
    session.add(
        OutboxMessage(
            topic=dead_letter_topic(topics.INTAKE_FHIR),
            key=event.subject or str(event.id),
            headers=[[k, v.decode()] for k, v in event.headers()] + [[k, v] for k, v in dead.items()],
            value=event.value(),
        )
    )
    log.info("intake bundle rejected", extra={"intake_id": str(event.id), "findings": len(errors)})
