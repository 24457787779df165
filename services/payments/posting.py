"""835 files -> postings. One file is one transaction: it is posted whole or not at all (a file
that does not parse or balance is quarantined with its reason). The same file, or the same claim
payment in another file, is posted once: the file's hash and a deterministic posting id are unique."""

import asyncio
import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments import db
from services.payments.domain.posting import (
    ClaimLine,
    KnownClaim,
    PostingError,
    build_posting,
    patient_share,
    posting_id,
)
from services.payments.era_inbox import EraInbox
from shared import outbox
from shared.contracts import topics
from shared.envelope import Event
from shared.service import Service
from x12.errors import X12Error
from x12.remittance import ClaimPayment, Remittance
from x12.x835 import parse_835

log = logging.getLogger(__name__)
SOURCE = "/openrcm/payments"


def known(claim: db.KnownClaim) -> KnownClaim:
    lines = tuple(ClaimLine(number, code, tuple(modifiers)) for number, code, modifiers in claim.lines or ())
    return KnownClaim(
        claim.claim_id, claim.payer_id, claim.payer_name, claim.date_of_service, frozenset(claim.line_numbers), lines
    )


def stage_posting(session: AsyncSession, remittance: Remittance, payment: ClaimPayment, claim: db.KnownClaim) -> None:
    posted = build_posting(remittance, payment, known(claim), datetime.now(UTC))
    outbox.stage(session, topics.PAYMENT_POSTED, Event(posted, str(claim.claim_id), SOURCE, claim.correlation_id))
    for n, line in enumerate(posted.lines, start=1):
        if line.line_number is None:
            session.add(
                db.WorkItem(
                    kind="unmatched_line",
                    posting_id=posted.posting_id,
                    claim_id=claim.claim_id,
                    patient_control_number=payment.patient_control_number,
                    detail=f"service {n} ({line.procedure_code}) matches no line of the claim",
                )
            )


async def post_file(service: Service, inbox: EraInbox, path: Path) -> None:
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    try:
        interchange = parse_835(raw.decode("ascii"))
        async with service.sessions() as session, session.begin():
            await _post(session, interchange, sha, path.name)
    except (X12Error, PostingError, UnicodeDecodeError, ValueError) as exc:
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        log.error("835 quarantined", extra={"file": path.name, "reason": reason})
        async with service.sessions() as session, session.begin():
            await session.execute(
                insert(db.EraFile.__table__)
                .values(sha256=sha, file_name=path.name, status="quarantined", reason=reason, total_paid=0)
                .on_conflict_do_nothing()
            )
        inbox.quarantine(path, reason)
        return
    inbox.done(path)


async def _post(session: AsyncSession, interchange, sha: str, file_name: str) -> None:
    await db.lock_matching(session)
    table = db.EraFile.__table__
    payments = [(r, p) for r in interchange.remittances for p in r.claims]
    era_id = (
        await session.execute(
            insert(table)
            .values(
                sha256=sha,
                file_name=file_name,
                status="posted",
                claim_payments=len(payments),
                total_paid=sum(r.payment.amount for r in interchange.remittances),
            )
            .on_conflict_do_nothing()
            .returning(table.c.era_id)
        )
    ).scalar_one_or_none()
    if era_id is None:
        log.info("835 already received; ignored", extra={"file": file_name})
        return
    numbers = {p.patient_control_number for _, p in payments}
    claims = {
        c.patient_control_number: c
        for c in (
            await session.execute(select(db.KnownClaim).where(db.KnownClaim.patient_control_number.in_(numbers)))
        ).scalars()
    }
    now = datetime.now(UTC)
    headers = {id(r): r.model_dump(mode="json", exclude={"claims"}) for r in interchange.remittances}
    records = {}
    for remittance, payment in payments:
        claim = claims.get(payment.patient_control_number)
        records[posting_id(remittance, payment)] = (
            remittance,
            payment,
            claim,
            dict(
                posting_id=posting_id(remittance, payment),
                era_id=era_id,
                patient_control_number=payment.patient_control_number,
                claim_id=claim.claim_id if claim else None,
                status="posted" if claim else "unmatched",
                paid=payment.paid,
                claim_payment=payment.model_dump(mode="json"),
                remittance_header=headers[id(remittance)],
                posted_at=now if claim else None,
                patient_responsibility=patient_share(payment),
            ),
        )
    table = db.ClaimPaymentRecord.__table__
    stored = await session.execute(
        insert(table).on_conflict_do_nothing().returning(table.c.posting_id), [row for *_, row in records.values()]
    )  # a payment already posted from another file comes back as nothing
    new_ids = set(stored.scalars())
    posted = unmatched = 0
    for new_id in (i for i in records if i in new_ids):  # in file order: a reversal before its correction
        remittance, payment, claim, _ = records[new_id]
        if claim:
            stage_posting(session, remittance, payment, claim)
            posted += 1
        else:
            session.add(
                db.WorkItem(
                    kind="unmatched_claim",
                    posting_id=new_id,
                    patient_control_number=payment.patient_control_number,
                    detail=f"no claim with this patient control number (CLP02 {payment.status})",
                )
            )
            unmatched += 1
    log.info("835 posted", extra={"file": file_name, "posted": posted, "unmatched": unmatched})


async def post_unmatched(session: AsyncSession, claims: list[db.KnownClaim]) -> None:
    """Claims became known: post the payments that arrived before them."""
    by_number = {claim.patient_control_number: claim for claim in claims}
    waiting = await session.execute(
        select(db.ClaimPaymentRecord).where(
            db.ClaimPaymentRecord.patient_control_number.in_(by_number),
            db.ClaimPaymentRecord.status == "unmatched",
        )
    )
    for record in waiting.scalars():
        claim = by_number[record.patient_control_number]
        remittance = Remittance.model_validate({**record.remittance_header, "claims": ()})
        stage_posting(session, remittance, ClaimPayment.model_validate(record.claim_payment), claim)
        record.status, record.claim_id, record.posted_at = "posted", claim.claim_id, datetime.now(UTC)
    await session.execute(
        update(db.WorkItem)
        .where(
            db.WorkItem.kind == "unmatched_claim",
            db.WorkItem.resolved_at.is_(None),
            db.WorkItem.patient_control_number.in_(by_number),
        )
        .values(resolved_at=func.now())
    )


async def post_forever(service: Service, inbox: EraInbox, interval: float) -> None:
    while True:
        files = await asyncio.to_thread(inbox.pending)
        for path in files:
            await post_file(service, inbox, path)
        if not files:
            await asyncio.sleep(interval)
