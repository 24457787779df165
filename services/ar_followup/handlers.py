"""A/R's subscribers, set-wise per batch with the claims' rows locked in id order.

claim.submitted opens a claim's ledger with its charge (a second claim for the same encounter, a
replacement or the secondary payer's claim, books onto the first one's ledger; a replacement's
charge replaces the ledger's, a void's takes it back); payment.posted adds
payments, adjustments and patient responsibility as A/R's posting rules (domain/posting.py) plan
it; claim.acknowledged opens rejection work; patient-payment.posted books what the patient paid;
patient.registered keeps the patient copy statements and 276s are made from. Topics are not ordered
among themselves: either of claim and payment may arrive first, and the patient's registration after
both (a secondary payer it names is billed then)."""

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import SOURCE, db
from services.ar_followup.deps import Deps
from services.ar_followup.domain import posting as posting_rules
from services.ar_followup.domain.book import Book, Claim
from services.ar_followup.domain.ledger import ZERO, balances, follow_on_role
from services.ar_followup.domain.work import NewWork, filing_deadline, rejection
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

Coverages = dict[UUID, list[dict[str, Any]]]
# what A/R keeps of a patient's coverage: enough to bill the secondary payer and ask for claim status
COVERAGE_FIELDS = {"rank", "payer_id", "payer_name", "member_id", "relationship", "subscriber"}


# -- claim.submitted -----------------------------------------------------------------------------


async def on_claims_submitted(session: AsyncSession, events: list[Event[ClaimSubmittedV1]], deps: Deps) -> None:
    ledgers = Book()
    named = {e.data.original_claim_id for e in events if e.data.original_claim_id not in (None, e.data.claim_id)}
    await db.load_claims(session, ledgers, {e.data.claim_id for e in events})
    await db.load_claims(session, ledgers, named - {e.data.claim_id for e in events}, create=False)
    unnamed = {e.data.encounter_id for e in events if e.data.original_claim_id is None and e.data.encounter_id}
    first = await db.load_first_claims(session, ledgers, unnamed)
    await db.load_roots(session, ledgers)
    await db.load_work(session, ledgers)
    await db.open_accounts(session, {e.data.patient_id for e in events})
    pending = {e.data.patient_id for e in events if ledgers.claims[e.data.claim_id].pending_postings}
    patients = await db.coverages_held(session, pending)
    for event in events:
        original = _original(ledgers, first, event.data)
        _submitted(session, ledgers, original, patients, event, deps)
        if original is None and ledgers.claims[event.data.claim_id].root_claim_id is None:
            first.setdefault(event.data.encounter_id, event.data.claim_id)  # a later claim in the batch books onto it
    await db.save_book(session, ledgers, deps.settings.now())


def _original(ledgers: Book, first: dict[str, UUID], submitted: ClaimSubmittedV1) -> Claim | None:
    """The claim this one replaces or follows: the one claims names, else an earlier claim for the
    same encounter (the first one keeps the ledger); None for a resubmission or a claim of its own."""
    claim = ledgers.claims[submitted.claim_id]
    if claim.submitted_at is not None:
        return None
    named = submitted.original_claim_id
    if named is not None and named != claim.claim_id:
        return ledgers.claims.get(named)
    earlier = first.get(claim.encounter_id or submitted.encounter_id)
    return ledgers.claims[earlier] if earlier is not None and earlier != claim.claim_id else None


def _submitted(
    session: AsyncSession,
    ledgers: Book,
    original: Claim | None,
    patients: Coverages,
    event: Event[ClaimSubmittedV1],
    deps: Deps,
) -> None:
    """One claim: its facts, its ledger (its own charge, or the original claim's), and the payments
    that came before it."""
    submitted, claim = event.data, ledgers.claims[event.data.claim_id]
    resubmitted = claim.submitted_at is not None
    _record(claim, submitted, deps.filing_days)
    now = deps.settings.now()
    if original is not None:  # a replacement or the next payer's claim: one charge per encounter
        claim.root_claim_id = original.root_claim_id or original.claim_id
        claim.role = follow_on_role(submitted.kind, same_payer=original.payer_id == submitted.payer_id)
        if submitted.kind in ("replacement", "void"):
            _recharge(ledgers, ledgers.ledger_of(claim), submitted, event.id)
    elif not resubmitted:  # (a resubmission's ledger was reopened when the correction was asked for)
        ledgers.book(claim.claim_id, event.id, [("charge", submitted.total_charge)])
    ledgers.date_early_work(claim)
    if resubmitted or original is not None:
        ledgers.close(ledgers.ledger_of(claim).claim_id, ("rejection", "denial"), "resubmitted", now)
    for pending in claim.pending_postings:
        _post(session, ledgers, patients, _pending_event(claim.claim_id, pending), deps)
    claim.pending_postings = []


def _recharge(ledgers: Book, ledger: Claim, submitted: ClaimSubmittedV1, source: UUID) -> None:
    """A replacement bills what the encounter is now (the EHR corrected it, or a line was repriced);
    a void withdraws it: the ledger's charge follows, so the payer's reversal and new payment balance."""
    charged = ledgers.totals_of(ledger.claim_id).get("charge", ZERO)
    now = ZERO if submitted.kind == "void" else submitted.total_charge
    if now != charged:
        ledgers.book(ledger.claim_id, source, [("charge", now - charged)])


def _record(claim: Claim, submitted: ClaimSubmittedV1, filing_days: dict[str, int]) -> None:
    claim.patient_id, claim.payer_id, claim.payer_name = submitted.patient_id, submitted.payer_id, submitted.payer_name
    claim.patient_control_number = submitted.patient_control_number
    claim.date_of_service, claim.submitted_at = submitted.date_of_service, submitted.submitted_at
    claim.encounter_id, claim.submissions = submitted.encounter_id, claim.submissions + 1
    claim.filing_deadline = filing_deadline(submitted.date_of_service, filing_days.get(submitted.payer_id))


# -- payment.posted ------------------------------------------------------------------------------


async def on_payments_posted(session: AsyncSession, events: list[Event[PaymentPostedV1]], deps: Deps) -> None:
    ledgers = Book()
    await db.load_claims(session, ledgers, {e.data.claim_id for e in events})
    await db.load_roots(session, ledgers)
    await db.load_work(session, ledgers)
    patients = await db.coverages_held(session, {c.patient_id for c in ledgers.claims.values() if c.patient_id})
    for event in events:
        claim = ledgers.claims[event.data.claim_id]
        if claim.submitted_at is None:  # kept until the claim says whose ledger (and which payer) it is
            claim.pending_postings = [*claim.pending_postings, _pending(event)]
            continue
        _post(session, ledgers, patients, event, deps)
    await db.save_book(session, ledgers, deps.settings.now())


def _post(session: AsyncSession, ledgers: Book, patients: Coverages, event: Event[PaymentPostedV1], deps: Deps) -> None:
    """One posting onto its claim's ledger: the posting rules plan it, the book keeps the plan. `patients`
    holds the coverages of the registered patients: one not among them may yet name a secondary payer."""
    posting, claim = event.data, ledgers.claims[event.data.claim_id]
    ledger = ledgers.ledger_of(claim)
    facts = ledger.facts()
    secondary = posting_rules.by_secondary(claim.role, facts, posting)
    now = deps.settings.now()
    plan = posting_rules.plan(
        facts,
        posting,
        secondary=secondary,
        totals=ledgers.totals_of(ledger.claim_id),
        coverages=patients.get(ledger.patient_id, []) if ledger.patient_id else [],
        terms=deps.terms,
        now=now,
    )
    ledger.take(plan.ledger)
    ledgers.book(ledger.claim_id, event.id, plan.entries)
    for kind, resolution in plan.close:
        ledgers.close(ledger.claim_id, (kind,), resolution, now)
    for work in plan.open:
        ledgers.open(ledger, work, now)
    if plan.secondary_request is not None:
        request = Event(plan.secondary_request, str(ledger.claim_id), SOURCE, event.correlation_id)
        outbox.stage(session, topics.CLAIM_SECONDARY_REQUESTED, request)
    elif (
        ledger.patient_id
        and ledger.patient_id not in patients
        and posting_rules.awaits_coverage(ledger.facts(), posting, secondary)
    ):
        adjudication = posting_rules.secondary_request(ledger.claim_id, posting, now).model_dump_json()
        ledgers.await_coverage(ledger, adjudication, event.correlation_id)


def _pending(event: Event[PaymentPostedV1]) -> dict[str, Any]:
    return {"id": str(event.id), "correlation_id": event.correlation_id, "posting": event.data.model_dump(mode="json")}


def _pending_event(claim_id: UUID, pending: dict[str, Any]) -> Event[PaymentPostedV1]:
    posting = PaymentPostedV1.model_validate(pending["posting"])
    return Event(posting, str(claim_id), SOURCE, pending["correlation_id"], id=UUID(pending["id"]))


# -- claim.acknowledged, patient-payment.posted, patient.registered ------------------------------


async def on_claims_acknowledged(session: AsyncSession, events: list[Event[ClaimAcknowledgedV1]], deps: Deps) -> None:
    ledgers = Book()
    await db.load_claims(session, ledgers, {e.data.claim_id for e in events})
    await db.load_roots(session, ledgers)
    now = deps.settings.now()
    for event in events:
        ack, ledger = event.data, ledgers.ledger_of(ledgers.claims[event.data.claim_id])
        if ack.payer_claim_control_number:
            ledger.payer_claim_control_number = ack.payer_claim_control_number
        if ack.accepted:
            continue
        ledger.rejected = True
        ledgers.open(
            ledger, rejection(ack.source, ack.reasons, balances(ledgers.totals_of(ledger.claim_id)).charge), now
        )
    await db.save_book(session, ledgers, now)


async def on_patient_payments(session: AsyncSession, events: list[Event[PatientPaymentPostedV1]], deps: Deps) -> None:
    """Payments (and refunds, negative) the payments service applied to claims' patient balances."""
    ledgers = Book()
    await db.load_claims(session, ledgers, {a.claim_id for e in events for a in e.data.applications})
    await db.load_roots(session, ledgers)
    for event in events:
        for applied in event.data.applications:
            ledger = ledgers.ledger_of(ledgers.claims[applied.claim_id])
            source = uuid.uuid5(event.id, str(applied.claim_id))  # one entry per claim the payment reached
            ledgers.book(ledger.claim_id, source, [("patient_payment", applied.amount)])
    await db.save_book(session, ledgers, deps.settings.now())


async def on_patients_registered(session: AsyncSession, events: list[Event[PatientRegisteredV1]], deps: Deps) -> None:
    """The patients stored; then the payments that came before them: a secondary payer is billed now."""
    latest: dict[UUID, PatientRegisteredV1] = {}
    for event in events:
        if event.data.patient_id not in latest or latest[event.data.patient_id].version < event.data.version:
            latest[event.data.patient_id] = event.data
    ledgers = Book()
    # claims before accounts, the order payments lock them in; a payment that share-locked an account
    # first has committed its awaiting row by the time store_patients gets the account
    await db.load_claims(session, ledgers, await db.claims_awaiting_coverage(session, latest), create=False)
    await db.store_patients(session, [_account(patient) for _, patient in sorted(latest.items())])
    if awaiting := await db.take_awaiting(session, latest):
        await db.load_claims(session, ledgers, {claim_id for claim_id, _, _ in awaiting}, create=False)
        await db.load_work(session, ledgers)
        patients, now = await db.coverages(session, latest), deps.settings.now()
        for claim_id, adjudication, correlation_id in awaiting:
            _bill_secondary_late(
                session, ledgers, ledgers.claims[claim_id], patients, adjudication, correlation_id, now
            )
        await db.save_book(session, ledgers, now)


def _bill_secondary_late(
    session: AsyncSession,
    ledgers: Book,
    ledger: Claim,
    patients: Coverages,
    adjudication: dict[str, Any],
    correlation_id: str,
    now: datetime,
) -> None:
    """A secondary payer for a ledger whose primary paid before the patient's coverages were known:
    what the patient owes waits for it, and claims is asked to bill it with the primary's adjudication."""
    owed = balances(ledgers.totals_of(ledger.claim_id)).patient_balance
    payer = posting_rules.late_secondary(ledger.facts(), owed, patients.get(ledger.patient_id, []))
    if payer is None:
        return
    ledger.secondary_pending, ledger.secondary_payer_id = True, payer
    ledgers.open(ledger, NewWork("secondary", owed, "await_secondary", f"billed to {payer}"), now)
    request = SecondaryClaimRequestedV1.model_validate({**adjudication, "requested_at": now})
    outbox.stage(
        session, topics.CLAIM_SECONDARY_REQUESTED, Event(request, str(ledger.claim_id), SOURCE, correlation_id)
    )


def _account(patient: PatientRegisteredV1) -> dict[str, Any]:
    return {
        "patient_id": patient.patient_id,
        "version": patient.version,
        "person": patient.patient.model_dump(mode="json"),
        "coverages": [c.model_dump(mode="json", include=COVERAGE_FIELDS) for c in patient.coverages],
    }
