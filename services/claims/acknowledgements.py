"""999 and 277CA files from the clearinghouse -> each claim accepted or rejected, announced as
claim.acknowledged. A 999 that rejects a file rejects every claim in it; a 277CA answers claim by
claim (accepted into adjudication, with the payer's claim number, or rejected with its status code).
Rejected claims join the held ones in the work queue. Each file is applied once, in one
transaction (its hash is unique), and only then marked received at its source (a directory or the
clearinghouse's HTTP mailbox: services.claims.gateway); a file that cannot be read is quarantined
with the reason, recorded and marked received, so it never holds back the files behind it."""

import asyncio
import logging
from contextlib import aclosing
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims import db
from services.claims.domain.acknowledgement import batch_outcomes, claim_outcomes
from services.claims.gateway import AckDocument, AckSource, AckSourceError
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import AckReason, ClaimAcknowledgedV1
from shared.envelope import Event
from shared.service import Service
from x12.errors import X12Error
from x12.x277 import parse_277ca
from x12.x999 import parse_999

log = logging.getLogger(__name__)
SOURCE = "/openrcm/claims"


def acknowledged(claim: db.Claim, accepted: bool, source: str, reasons: list[AckReason], now: datetime) -> Event:
    data = ClaimAcknowledgedV1(
        claim_id=claim.claim_id,
        accepted=accepted,
        source=source,
        reasons=reasons,
        payer_claim_control_number=claim.payer_claim_control_number,
        acknowledged_at=now,
    )
    return Event(data, str(claim.claim_id), SOURCE, claim.correlation_id)


def _mark(claim: db.Claim, accepted: bool, reasons: list[AckReason], now: datetime) -> None:
    claim.acknowledgement = "accepted" if accepted else "rejected"
    claim.ack_reasons = [r.model_dump() for r in reasons]
    claim.acknowledged_at = now


async def _apply_999(session: AsyncSession, text: str, now: datetime) -> int:
    count = 0
    for outcome in batch_outcomes(parse_999(text)):
        if outcome.accepted:
            continue  # syntax passed; the 277CA says whether each claim was accepted
        claims = (
            (
                await session.execute(
                    select(db.Claim)
                    .join(db.SubmissionBatch, db.Claim.batch_id == db.SubmissionBatch.batch_id)
                    .where(db.SubmissionBatch.interchange_control_number == outcome.group_control_number)
                )
            )
            .scalars()
            .all()
        )
        for claim in claims:
            _mark(claim, False, outcome.reasons, now)
            outbox.stage(session, topics.CLAIM_ACKNOWLEDGED, acknowledged(claim, False, "999", outcome.reasons, now))
        count += len(claims)
    return count


async def _apply_277(session: AsyncSession, text: str, now: datetime) -> int:
    outcomes = {o.patient_control_number: o for o in claim_outcomes(parse_277ca(text))}
    claims = (
        (await session.execute(select(db.Claim).where(db.Claim.patient_control_number.in_(outcomes)))).scalars().all()
    )
    if len(claims) < len(outcomes):
        log.warning("277CA names claims we never sent", extra={"unknown": len(outcomes) - len(claims)})
    for claim in claims:
        outcome = outcomes[claim.patient_control_number]
        claim.payer_claim_control_number = outcome.payer_claim_control_number or claim.payer_claim_control_number
        _mark(claim, outcome.accepted, outcome.reasons, now)
        outbox.stage(
            session, topics.CLAIM_ACKNOWLEDGED, acknowledged(claim, outcome.accepted, "277CA", outcome.reasons, now)
        )
    return len(claims)


async def apply_document(service: Service, source: AckSource, document: AckDocument) -> None:
    table = db.AckFile.__table__
    sha, name, kind = document.sha256, document.name, document.kind
    try:
        if document.problem:
            raise ValueError(document.problem)
        text = document.content.decode("ascii")
        async with service.sessions() as session, session.begin():
            new = (
                await session.execute(
                    insert(table)
                    .values(sha256=sha, file_name=name, kind=kind, status="applied", claims=0)
                    .on_conflict_do_nothing()
                    .returning(table.c.sha256)
                )
            ).scalar_one_or_none()
            if new is None:
                log.info("acknowledgement already applied; ignored", extra={"file": name})
            else:
                apply = _apply_999 if kind == "999" else _apply_277
                count = await apply(session, text, datetime.now(UTC))
                await session.execute(table.update().where(table.c.sha256 == sha).values(claims=count))
                log.info("acknowledgement applied", extra={"file": name, "kind": kind, "claims": count})
    except (X12Error, UnicodeDecodeError, ValueError) as exc:
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        log.error("acknowledgement quarantined", extra={"file": name, "error": type(exc).__name__})
        async with service.sessions() as session, session.begin():
            await session.execute(
                insert(table)
                .values(sha256=sha, file_name=name, kind=kind, status="quarantined", reason=reason, claims=0)
                .on_conflict_do_nothing()
            )
        await source.quarantined(document, reason)
        return
    await source.received(document)


async def read_acknowledgements_forever(service: Service, source: AckSource, interval: float) -> None:
    while True:
        try:
            async with aclosing(source.pending()) as documents:
                async for document in documents:
                    await apply_document(service, source, document)
        except AckSourceError as error:  # the clearinghouse is down or answers nonsense: the next poll tries again
            log.error("acknowledgements not read this time", extra={"error": str(error)})
        await asyncio.sleep(interval)
