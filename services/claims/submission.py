"""Submission: ready claims -> one 837P interchange per batch -> the clearinghouse gateway ->
claim.submitted. Two steps, each its own transaction, so nothing is half done:
1. batch: claim ready claims (SKIP LOCKED, so replicas never share one), take the next
   interchange control number, render the 837P and store it with the claims marked batched;
2. deliver: hand a stored batch to the gateway, then mark it delivered and stage claim.submitted
   for each of its claims. A crash between hand-off and commit hands the same file again; a
   gateway that fails leaves the batch rendered, and the next loop hands it over again."""

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.claims import db
from services.claims.domain.practice import Practice
from services.claims.gateway import ClearinghouseError, ClearinghouseGateway
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import ClaimSubmittedV1, SubmittedLine
from shared.envelope import Event
from shared.service import Service
from x12.claim import Claim, Interchange837, ProviderClaims
from x12.x837p import render_837p

log = logging.getLogger(__name__)
SOURCE = "/openrcm/claims"


def interchange_for(practice: Practice, control_number: int, claims: list[Claim], now: datetime) -> Interchange837:
    return Interchange837(
        sender_id=practice.sender_id,
        receiver_id=practice.receiver_id,
        control_number=control_number,
        group_control_number=control_number,
        created=now,
        usage=practice.usage,
        submitter=practice.submitter,
        receiver=practice.receiver,
        transactions=(ProviderClaims(billing_provider=practice.billing_provider, claims=tuple(claims)),),
    )


async def make_batch(service: Service[Any], practice: Practice, max_claims: int, grouping_window: float = 0.0) -> int:
    """Ready claims into one 837P; a claim that may still take in the patient's other encounters of
    the day waits out the grouping window first."""
    async with service.sessions() as session, session.begin():
        ready = await db.claims_to_batch(session, max_claims, grouping_window)
        if not ready:
            return 0
        control_number = await db.next_interchange_control_number(session)
        claims = [Claim.model_validate(c.content) for c in ready]
        batch = db.SubmissionBatch(
            interchange_control_number=control_number,
            file_name=f"{practice.sender_id}-{control_number:09d}.837p.x12",
            content=render_837p(interchange_for(practice, control_number, claims, datetime.now(UTC))),
            claim_count=len(ready),
            status="rendered",
        )
        await db.store_batch(session, batch, ready)
    log.info("837P batch rendered", extra={"interchange": control_number, "claims": len(ready)})
    return len(ready)


def submitted_event(claim: db.Claim, batch: db.SubmissionBatch, now: datetime) -> Event[ClaimSubmittedV1]:
    data = ClaimSubmittedV1(
        claim_id=claim.claim_id,
        patient_control_number=claim.patient_control_number,
        encounter_id=claim.encounter_id,
        encounter_ids=claim.encounter_ids or [claim.encounter_id],
        patient_id=claim.patient_id,
        payer_id=claim.payer_id,
        payer_name=claim.payer_name,
        date_of_service=claim.date_of_service,
        total_charge=claim.total_charge,
        lines=[
            # Read from the stored JSON: the claim was validated as an 837 model when it was built.
            SubmittedLine(
                line_number=line["line_number"],
                procedure_code=line["procedure_code"],
                modifiers=list(line["modifiers"]),
                units=int(Decimal(line["units"])),
                charge=line["charge"],
            )
            for line in claim.content["lines"]
        ],
        interchange_control_number=batch.interchange_control_number,
        file_name=batch.file_name,
        submitted_at=now,
        kind=claim.kind,
        original_claim_id=claim.original_claim_id,
    )
    return Event(data, str(claim.claim_id), SOURCE, claim.correlation_id)


async def deliver_batch(service: Service[Any], gateway: ClearinghouseGateway) -> bool:
    async with service.sessions() as session, session.begin():
        batch = await db.next_rendered_batch(session)
        if batch is None:
            return False
        await asyncio.to_thread(gateway.submit, batch.file_name, batch.content)
        now = datetime.now(UTC)
        claims = await db.mark_delivered(session, batch, now)
        outbox.stage_all(session, topics.CLAIM_SUBMITTED, (submitted_event(c, batch, now) for c in claims))
    log.info("837P delivered", extra={"file": batch.file_name, "claims": batch.claim_count})
    return True


async def submit_forever(
    service: Service[Any],
    practice: Practice,
    gateway: ClearinghouseGateway,
    max_claims: int,
    interval: float,
    grouping_window: float = 0.0,
) -> None:
    while True:
        batched = await make_batch(service, practice, max_claims, grouping_window)
        try:
            while await deliver_batch(service, gateway):
                pass
        except ClearinghouseError as error:  # the batch stays rendered; the next loop tries it again
            log.error("837P not delivered", extra={"error": str(error)})
            batched = 0
        if batched < max_claims:
            await asyncio.sleep(interval)
