"""A/R's subscribers, set-wise per batch with the claims' rows locked in id order.

claim.submitted opens a claim's ledger with its charge (a second claim for the same encounter, a
replacement or the secondary payer's claim, books onto the first one's ledger); payment.posted adds
payments, adjustments and patient responsibility, opens denial and underpayment work and asks claims
to bill the secondary payer; claim.acknowledged opens rejection work; patient.registered keeps the
patient copy statements and 276s are made from. Either of claim and payment may arrive first."""

import uuid
from decimal import Decimal
from uuid import UUID

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import db
from services.ar_followup.domain.denials import ACTIONS, denial
from services.ar_followup.domain.ledger import (
    PATIENT_KINDS,
    balances,
    patient_parts,
    posting_entries,
    reopened_denial_reversed,
    secondary_entries,
    status,
)
from services.ar_followup.domain.work import OWNERS, filing_deadline, underpayment
from services.ar_followup.settings import ArSettings
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import (
    ClaimAcknowledgedV1,
    ClaimSubmittedV1,
    PatientPaymentPostedV1,
    PatientRegisteredV1,
    PaymentPostedV1,
    SecondaryClaimRequestedV1,
)
from shared.envelope import Event
from shared.service import Service

SOURCE = "/openrcm/ar_followup"
ZERO = Decimal("0.00")


async def lock_claims(session: AsyncSession, claim_ids: set[UUID]) -> dict[UUID, db.ArClaim]:
    """The claims' rows, created if new, locked in id order (so two batches cannot deadlock)."""
    ordered = sorted(claim_ids)
    await session.execute(
        insert(db.ArClaim.__table__).on_conflict_do_nothing(),
        [
            {
                "claim_id": claim_id,
                "status": "awaiting_claim",
                "adjudicated": False,
                "denied": False,
                "role": "primary",
                "secondary_pending": False,
                "submissions": 0,
                "rejected": False,
            }
            for claim_id in ordered
        ],
    )
    rows = await session.execute(
        select(db.ArClaim).where(db.ArClaim.claim_id.in_(ordered)).order_by(db.ArClaim.claim_id).with_for_update()
    )
    return {claim.claim_id: claim for claim in rows.scalars()}


async def with_roots(session: AsyncSession, claims: dict[UUID, db.ArClaim]) -> dict[UUID, db.ArClaim]:
    """The claims plus the original claims whose ledgers their money books onto."""
    missing = {c.root_claim_id for c in claims.values() if c.root_claim_id and c.root_claim_id not in claims}
    return claims | (await lock_claims(session, missing) if missing else {})


def ledger_of(claim: db.ArClaim, claims: dict[UUID, db.ArClaim]) -> db.ArClaim:
    return claims[claim.root_claim_id] if claim.root_claim_id else claim


async def refresh_statuses(session: AsyncSession, claims: dict[UUID, db.ArClaim]) -> None:
    await session.flush()
    totals = await db.totals_by_claim(session, claims)
    for claim_id, claim in claims.items():
        claim.status = status(
            claim.submitted_at is not None, claim.adjudicated, claim.denied, balances(totals[claim_id])
        )


async def open_work(
    session: AsyncSession,
    claim: db.ArClaim,
    kind: str,
    amount: Decimal,
    *,
    now,
    category: str | None = None,
    action: str = "review",
    reason: str = "",
) -> None:
    """Open a work item unless one of this kind is already open for the claim."""
    await session.execute(
        insert(db.WorkItem.__table__)
        .values(
            item_id=uuid.uuid4(),
            claim_id=claim.claim_id,
            patient_id=claim.patient_id,
            kind=kind,
            category=category,
            action=action,
            reason=reason[:300],
            amount=amount,
            due_date=claim.filing_deadline,
            owner=OWNERS[kind],
            status="open",
            created_at=now,
        )
        # a literal predicate: a bound one stops matching the partial index once PostgreSQL picks a generic plan
        .on_conflict_do_nothing(index_elements=["claim_id", "kind"], index_where=text("status = 'open'"))
    )


async def close_work(session: AsyncSession, claim_id: UUID, kinds: tuple[str, ...], resolution: str, now) -> None:
    await session.execute(
        update(db.WorkItem)
        .where(db.WorkItem.claim_id == claim_id, db.WorkItem.kind.in_(kinds), db.WorkItem.status == "open")
        .values(status="resolved", resolution=resolution, resolved_at=now)
    )


def register(service: Service) -> None:
    settings: ArSettings = service.settings  # type: ignore[assignment]
    filing_days = settings.timely_filing_days()
    contract_rates = settings.contract_rates()

    @service.consumes(topics.CLAIM_SUBMITTED, ClaimSubmittedV1)
    async def on_claims_submitted(session: AsyncSession, events: list[Event[ClaimSubmittedV1]]) -> None:
        claims = await lock_claims(session, {e.data.claim_id for e in events})
        await session.execute(
            insert(db.PatientAccount.__table__).on_conflict_do_nothing(),
            [{"patient_id": p, "version": 0, "coverages": []} for p in sorted({e.data.patient_id for e in events})],
        )
        for event in events:
            submitted, claim = event.data, claims[event.data.claim_id]
            resubmitted = claim.submitted_at is not None
            claim.patient_id, claim.payer_id, claim.payer_name = (
                submitted.patient_id,
                submitted.payer_id,
                submitted.payer_name,
            )
            claim.date_of_service, claim.submitted_at = submitted.date_of_service, submitted.submitted_at
            claim.encounter_id, claim.submissions = submitted.encounter_id, claim.submissions + 1
            claim.filing_deadline = filing_deadline(submitted.date_of_service, filing_days.get(submitted.payer_id))
            original = None if resubmitted else await _original_claim(session, claim, submitted.original_claim_id)
            if original is not None:  # a replacement or the next payer's claim: one charge per encounter
                claim.root_claim_id = original.root_claim_id or original.claim_id
                same_payer = original.payer_id == submitted.payer_id
                claim.role = "secondary" if submitted.kind == "secondary" or not same_payer else "replacement"
                claims = await with_roots(session, claims)
            elif not resubmitted:  # (a resubmission's ledger was reopened when the correction was asked for)
                session.add(
                    db.LedgerEntry(
                        claim_id=claim.claim_id, source_event_id=event.id, kind="charge", amount=submitted.total_charge
                    )
                )
            await session.execute(  # work opened by a payment or an ack that came before the claim
                update(db.WorkItem)
                .where(db.WorkItem.claim_id == claim.claim_id, db.WorkItem.due_date.is_(None))
                .values(due_date=claim.filing_deadline, patient_id=claim.patient_id)
            )
            if resubmitted or original is not None:
                await close_work(
                    session, ledger_of(claim, claims).claim_id, ("rejection", "denial"), "resubmitted", settings.now()
                )
            if claim.pending_postings:
                patients = await _coverages(session, {submitted.patient_id})
                for pending in claim.pending_postings:
                    await post(
                        session,
                        claims,
                        patients,
                        Event(
                            PaymentPostedV1.model_validate(pending["posting"]),
                            str(claim.claim_id),
                            SOURCE,
                            pending["correlation_id"],
                            id=UUID(pending["id"]),
                        ),
                    )
                claim.pending_postings = []
        await refresh_statuses(session, claims)

    async def post(
        session: AsyncSession, claims: dict[UUID, db.ArClaim], patients: dict[UUID, list], event: Event[PaymentPostedV1]
    ) -> None:
        """One posting onto its claim's ledger: entries, denial and underpayment work, the secondary request."""
        now = settings.now()
        posting = event.data
        claim = claims[posting.claim_id]
        ledger = ledger_of(claim, claims)
        by_secondary = claim.role == "secondary" or (ledger.secondary_pending and posting.payer_id != ledger.payer_id)
        if by_secondary:
            await session.flush()
            owed = (await db.totals_by_claim(session, [ledger.claim_id]))[ledger.claim_id]
            entries = secondary_entries(posting, {k: owed.get(k, ZERO) for k in PATIENT_KINDS})
            ledger.secondary_pending = False
            await close_work(session, ledger.claim_id, ("secondary",), "secondary adjudicated", now)
        else:
            entries = posting_entries(posting)
            if posting.outcome == "reversed":  # a denial A/R reopened and the payer now reverses: once
                await session.flush()
                reopened = (await db.totals_by_claim(session, [ledger.claim_id]))[ledger.claim_id].get(
                    "denial_reversal"
                )
                if offset := reopened_denial_reversed(posting, reopened or ZERO):
                    entries.append(("denial_reversal", offset))
            ledger.adjudicated, ledger.denied = True, posting.denied
            ledger.payer_claim_control_number = posting.payer_claim_control_number or ledger.payer_claim_control_number
        for kind, amount in entries:
            session.add(db.LedgerEntry(claim_id=ledger.claim_id, source_event_id=event.id, kind=kind, amount=amount))
        await close_work(session, ledger.claim_id, ("no_response",), "payer answered", now)
        refused = denial(posting)
        if ledger.first_pass_paid is None and not by_secondary:
            ledger.first_pass_paid = refused is None
        if refused is not None and not ledger.denial_codes:
            ledger.denial_codes = list(refused.carc_codes)
        if posting.amounts.paid > ZERO and ledger.first_paid_on is None:
            ledger.first_paid_on = posting.payment_date or posting.posted_at.date()
        if refused is not None:
            await open_work(
                session,
                ledger,
                "denial",
                refused.amount,
                now=now,
                category=refused.category,
                action=ACTIONS[refused.category],
                reason="CARC " + ",".join(refused.carc_codes),
            )
        short = underpayment(posting, contract_rates.get(posting.payer_id, {}), settings.ar_underpayment_tolerance)
        if short > ZERO:
            await open_work(
                session,
                ledger,
                "underpayment",
                short,
                now=now,
                action="dispute",
                reason="allowed below the contracted rate",
            )
        secondary = _secondary_payer(patients.get(ledger.patient_id, []), ledger.payer_id)
        patient_part = sum(patient_parts(posting).values(), ZERO)
        if (
            not by_secondary
            and not posting.denied
            and secondary
            and patient_part > ZERO
            and ledger.secondary_payer_id is None
        ):
            ledger.secondary_pending, ledger.secondary_payer_id = True, secondary
            await open_work(
                session,
                ledger,
                "secondary",
                patient_part,
                now=now,
                action="await_secondary",
                reason=f"billed to {secondary}",
            )
            outbox.stage(
                session,
                topics.CLAIM_SECONDARY_REQUESTED,
                Event(
                    SecondaryClaimRequestedV1(
                        claim_id=ledger.claim_id,
                        primary_payer_id=posting.payer_id,
                        primary_payer_claim_control_number=posting.payer_claim_control_number,
                        primary_paid=posting.amounts.paid,
                        primary_paid_date=posting.payment_date,
                        primary_adjustments=[
                            *posting.claim_adjustments,
                            *(a for line in posting.lines for a in line.adjustments),
                        ],
                        requested_at=now,
                    ),
                    str(ledger.claim_id),
                    SOURCE,
                    event.correlation_id,
                ),
            )

    @service.consumes(topics.PAYMENT_POSTED, PaymentPostedV1)
    async def on_payments_posted(session: AsyncSession, events: list[Event[PaymentPostedV1]]) -> None:
        claims = await with_roots(session, await lock_claims(session, {e.data.claim_id for e in events}))
        patients = await _coverages(session, {c.patient_id for c in claims.values() if c.patient_id})
        for event in events:
            claim = claims[event.data.claim_id]
            if claim.submitted_at is None:  # kept until the claim says whose ledger (and which payer) it is
                claim.pending_postings = [
                    *claim.pending_postings,
                    {
                        "id": str(event.id),
                        "correlation_id": event.correlation_id,
                        "posting": event.data.model_dump(mode="json"),
                    },
                ]
                continue
            await post(session, claims, patients, event)
        await refresh_statuses(session, claims)

    @service.consumes(topics.CLAIM_ACKNOWLEDGED, ClaimAcknowledgedV1)
    async def on_claims_acknowledged(session: AsyncSession, events: list[Event[ClaimAcknowledgedV1]]) -> None:
        claims = await with_roots(session, await lock_claims(session, {e.data.claim_id for e in events}))
        await session.flush()
        totals = await db.totals_by_claim(session, claims)
        for event in events:
            ack, claim = event.data, claims[event.data.claim_id]
            ledger = ledger_of(claim, claims)
            if ack.payer_claim_control_number:
                ledger.payer_claim_control_number = ack.payer_claim_control_number
            if ack.accepted:
                continue
            ledger.rejected = True
            reasons = "; ".join(f"{r.code} {r.segment or ''}".strip() for r in ack.reasons) or "rejected"
            await open_work(
                session,
                ledger,
                "rejection",
                balances(totals[ledger.claim_id]).charge,
                now=settings.now(),
                action="correct",
                reason=f"{ack.source}: {reasons}",
            )
        await refresh_statuses(session, claims)

    @service.consumes(topics.PATIENT_PAYMENT_POSTED, PatientPaymentPostedV1)
    async def on_patient_payments(session: AsyncSession, events: list[Event[PatientPaymentPostedV1]]) -> None:
        """Payments (and refunds, negative) the payments service applied to claims' patient balances."""
        claims = await with_roots(
            session, await lock_claims(session, {a.claim_id for e in events for a in e.data.applications})
        )
        for event in events:
            for applied in event.data.applications:
                ledger = ledger_of(claims[applied.claim_id], claims)
                session.add(
                    db.LedgerEntry(
                        claim_id=ledger.claim_id,
                        kind="patient_payment",
                        amount=applied.amount,
                        source_event_id=uuid.uuid5(event.id, str(applied.claim_id)),
                    )
                )
        await refresh_statuses(session, claims)

    @service.consumes(topics.PATIENT_REGISTERED, PatientRegisteredV1)
    async def on_patients_registered(session: AsyncSession, events: list[Event[PatientRegisteredV1]]) -> None:
        latest: dict[UUID, PatientRegisteredV1] = {}
        for event in events:
            if event.data.patient_id not in latest or latest[event.data.patient_id].version < event.data.version:
                latest[event.data.patient_id] = event.data
        rows = [
            {
                "patient_id": p.patient_id,
                "version": p.version,
                "person": p.patient.model_dump(mode="json"),
                "coverages": [
                    c.model_dump(
                        mode="json",
                        include={"rank", "payer_id", "payer_name", "member_id", "relationship", "subscriber"},
                    )
                    for c in p.coverages
                ],
            }
            for _, p in sorted(latest.items())
        ]
        statement = insert(db.PatientAccount.__table__)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["patient_id"],
                set_={
                    "version": statement.excluded.version,
                    "person": statement.excluded.person,
                    "coverages": statement.excluded.coverages,
                },
                where=db.PatientAccount.__table__.c.version < statement.excluded.version,
            ),
            rows,
        )


async def _original_claim(session: AsyncSession, claim: db.ArClaim, named: UUID | None) -> db.ArClaim | None:
    """The claim this one replaces or follows: the one claims names, else an earlier claim for the
    same encounter (the first one keeps the ledger)."""
    if named is not None and named != claim.claim_id:
        return await session.get(db.ArClaim, named)
    if not claim.encounter_id:
        return None
    rows = await session.execute(
        select(db.ArClaim)
        .where(
            db.ArClaim.encounter_id == claim.encounter_id,
            db.ArClaim.claim_id != claim.claim_id,
            db.ArClaim.root_claim_id.is_(None),
            db.ArClaim.submitted_at.is_not(None),
        )
        .order_by(db.ArClaim.submitted_at)
        .limit(1)
    )
    return rows.scalars().first()


async def _coverages(session: AsyncSession, patient_ids: set[UUID]) -> dict[UUID, list]:
    if not patient_ids:
        return {}
    rows = await session.execute(
        select(db.PatientAccount.patient_id, db.PatientAccount.coverages).where(
            db.PatientAccount.patient_id.in_(patient_ids)
        )
    )
    return dict(rows.all())


def _secondary_payer(coverages: list, primary_payer: str | None) -> str | None:
    for coverage in coverages:
        if coverage.get("rank") == "secondary" and coverage.get("payer_id") != primary_payer:
            return coverage["payer_id"]
    return None
