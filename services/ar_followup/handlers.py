"""A/R's subscribers, set-wise per batch with the claims' rows locked in id order.

claim.submitted opens a claim's ledger with its charge (a second claim for the same encounter, a
replacement or the secondary payer's claim, books onto the first one's ledger; a replacement's
charge replaces the ledger's, a void's takes it back); payment.posted adds
payments, adjustments and patient responsibility as A/R's posting rules (domain/posting.py) plan
it; claim.acknowledged opens rejection work; patient-payment.posted books what the patient paid;
patient.registered keeps the patient copy statements and 276s are made from. Either of claim and
payment may arrive first."""

import uuid
from dataclasses import fields
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import SOURCE, db
from services.ar_followup.deps import Deps
from services.ar_followup.domain import posting as posting_rules
from services.ar_followup.domain.ledger import ZERO, balances, follow_on_role
from services.ar_followup.domain.posting import LedgerFacts
from services.ar_followup.domain.work import filing_deadline, rejection
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import (
    ClaimAcknowledgedV1,
    ClaimSubmittedV1,
    PatientPaymentPostedV1,
    PatientRegisteredV1,
    PaymentPostedV1,
)
from shared.envelope import Event

Claims = dict[UUID, db.ArClaim]
Coverages = dict[UUID, list[dict[str, Any]]]
# what A/R keeps of a patient's coverage: enough to bill the secondary payer and ask for claim status
COVERAGE_FIELDS = {"rank", "payer_id", "payer_name", "member_id", "relationship", "subscriber"}


def ledger_of(claim: db.ArClaim, claims: Claims) -> db.ArClaim:
    """The claim whose ledger this claim's money books onto (itself, or the original claim)."""
    return claims[claim.root_claim_id] if claim.root_claim_id else claim


# -- claim.submitted -----------------------------------------------------------------------------


async def on_claims_submitted(session: AsyncSession, events: list[Event[ClaimSubmittedV1]], deps: Deps) -> None:
    claims = await db.lock_claims(session, {e.data.claim_id for e in events})
    await db.ensure_accounts(session, {e.data.patient_id for e in events})
    for event in events:
        claims = await _submitted(session, claims, event, deps)
    await db.refresh_statuses(session, claims)


async def _submitted(session: AsyncSession, claims: Claims, event: Event[ClaimSubmittedV1], deps: Deps) -> Claims:
    """One claim: its facts, its ledger (its own charge, or the original claim's), and the payments
    that came before it. Returns the claims with any original claim now locked too."""
    submitted, claim = event.data, claims[event.data.claim_id]
    resubmitted = claim.submitted_at is not None
    _record(claim, submitted, deps.filing_days)
    original = None if resubmitted else await db.original_claim(session, claim, submitted.original_claim_id)
    if original is not None:  # a replacement or the next payer's claim: one charge per encounter
        claim.root_claim_id = original.root_claim_id or original.claim_id
        claim.role = follow_on_role(submitted.kind, same_payer=original.payer_id == submitted.payer_id)
        claims = await db.with_roots(session, claims)
        if submitted.kind in ("replacement", "void"):
            await _recharge(session, ledger_of(claim, claims), submitted, event.id)
    elif not resubmitted:  # (a resubmission's ledger was reopened when the correction was asked for)
        db.add_entries(session, claim.claim_id, event.id, [("charge", submitted.total_charge)])
    await db.date_early_work(session, claim)
    if resubmitted or original is not None:
        ledger_id = ledger_of(claim, claims).claim_id
        await db.close_work(session, ledger_id, ("rejection", "denial"), "resubmitted", deps.settings.now())
    if claim.pending_postings:
        patients = await db.coverages(session, {submitted.patient_id})
        for pending in claim.pending_postings:
            await _post(session, claims, patients, _pending_event(claim.claim_id, pending), deps)
        claim.pending_postings = []
    return claims


async def _recharge(session: AsyncSession, ledger: db.ArClaim, submitted: ClaimSubmittedV1, source: UUID) -> None:
    """A replacement bills what the encounter is now (the EHR corrected it, or a line was repriced);
    a void withdraws it: the ledger's charge follows, so the payer's reversal and new payment balance."""
    charged = (await db.totals_by_claim(session, [ledger.claim_id]))[ledger.claim_id].get("charge", ZERO)
    now = ZERO if submitted.kind == "void" else submitted.total_charge
    if now != charged:
        db.add_entries(session, ledger.claim_id, source, [("charge", now - charged)])


def _record(claim: db.ArClaim, submitted: ClaimSubmittedV1, filing_days: dict[str, int]) -> None:
    claim.patient_id, claim.payer_id, claim.payer_name = submitted.patient_id, submitted.payer_id, submitted.payer_name
    claim.patient_control_number = submitted.patient_control_number
    claim.date_of_service, claim.submitted_at = submitted.date_of_service, submitted.submitted_at
    claim.encounter_id, claim.submissions = submitted.encounter_id, claim.submissions + 1
    claim.filing_deadline = filing_deadline(submitted.date_of_service, filing_days.get(submitted.payer_id))


# -- payment.posted ------------------------------------------------------------------------------


async def on_payments_posted(session: AsyncSession, events: list[Event[PaymentPostedV1]], deps: Deps) -> None:
    claims = await db.with_roots(session, await db.lock_claims(session, {e.data.claim_id for e in events}))
    patients = await db.coverages(session, {c.patient_id for c in claims.values() if c.patient_id})
    for event in events:
        claim = claims[event.data.claim_id]
        if claim.submitted_at is None:  # kept until the claim says whose ledger (and which payer) it is
            claim.pending_postings = [*claim.pending_postings, _pending(event)]
            continue
        await _post(session, claims, patients, event, deps)
    await db.refresh_statuses(session, claims)


async def _post(
    session: AsyncSession, claims: Claims, patients: Coverages, event: Event[PaymentPostedV1], deps: Deps
) -> None:
    """One posting onto its claim's ledger: the posting rules plan it, this stores and publishes the plan."""
    posting, claim = event.data, claims[event.data.claim_id]
    ledger = ledger_of(claim, claims)
    facts = _facts(ledger)
    secondary = posting_rules.by_secondary(claim.role, facts, posting)
    needs_totals = posting_rules.needs_totals(secondary, posting)
    totals = (await db.totals_by_claim(session, [ledger.claim_id]))[ledger.claim_id] if needs_totals else {}
    now = deps.settings.now()
    plan = posting_rules.plan(
        facts,
        posting,
        secondary=secondary,
        totals=totals,
        coverages=patients.get(ledger.patient_id, []) if ledger.patient_id else [],
        terms=deps.terms,
        now=now,
    )
    _apply(ledger, plan.ledger)
    db.add_entries(session, ledger.claim_id, event.id, plan.entries)
    for kind, resolution in plan.close:
        await db.close_work(session, ledger.claim_id, (kind,), resolution, now)
    for work in plan.open:
        await db.open_work(session, ledger, work, now)
    if plan.secondary_request is not None:
        request = Event(plan.secondary_request, str(ledger.claim_id), SOURCE, event.correlation_id)
        outbox.stage(session, topics.CLAIM_SECONDARY_REQUESTED, request)


def _facts(claim: db.ArClaim) -> LedgerFacts:
    return LedgerFacts(
        claim_id=claim.claim_id,
        payer_id=claim.payer_id,
        adjudicated=claim.adjudicated,
        denied=claim.denied,
        secondary_pending=claim.secondary_pending,
        secondary_payer_id=claim.secondary_payer_id,
        payer_claim_control_number=claim.payer_claim_control_number,
        first_pass_paid=claim.first_pass_paid,
        denial_codes=tuple(claim.denial_codes),
        first_paid_on=claim.first_paid_on,
    )


def _apply(claim: db.ArClaim, facts: LedgerFacts) -> None:
    """The planned facts onto the claim's row (only what changed)."""
    for field in fields(facts):
        value = getattr(facts, field.name)
        value = list(value) if isinstance(value, tuple) else value
        if getattr(claim, field.name) != value:
            setattr(claim, field.name, value)


def _pending(event: Event[PaymentPostedV1]) -> dict[str, Any]:
    return {"id": str(event.id), "correlation_id": event.correlation_id, "posting": event.data.model_dump(mode="json")}


def _pending_event(claim_id: UUID, pending: dict[str, Any]) -> Event[PaymentPostedV1]:
    posting = PaymentPostedV1.model_validate(pending["posting"])
    return Event(posting, str(claim_id), SOURCE, pending["correlation_id"], id=UUID(pending["id"]))


# -- claim.acknowledged, patient-payment.posted, patient.registered ------------------------------


async def on_claims_acknowledged(session: AsyncSession, events: list[Event[ClaimAcknowledgedV1]], deps: Deps) -> None:
    claims = await db.with_roots(session, await db.lock_claims(session, {e.data.claim_id for e in events}))
    totals = await db.totals_by_claim(session, claims)
    for event in events:
        ack, ledger = event.data, ledger_of(claims[event.data.claim_id], claims)
        if ack.payer_claim_control_number:
            ledger.payer_claim_control_number = ack.payer_claim_control_number
        if ack.accepted:
            continue
        ledger.rejected = True
        work = rejection(ack.source, ack.reasons, balances(totals[ledger.claim_id]).charge)
        await db.open_work(session, ledger, work, deps.settings.now())
    await db.refresh_statuses(session, claims)


async def on_patient_payments(session: AsyncSession, events: list[Event[PatientPaymentPostedV1]], deps: Deps) -> None:
    """Payments (and refunds, negative) the payments service applied to claims' patient balances."""
    applied_to = {a.claim_id for e in events for a in e.data.applications}
    claims = await db.with_roots(session, await db.lock_claims(session, applied_to))
    for event in events:
        for applied in event.data.applications:
            ledger = ledger_of(claims[applied.claim_id], claims)
            source = uuid.uuid5(event.id, str(applied.claim_id))  # one entry per claim the payment reached
            db.add_entries(session, ledger.claim_id, source, [("patient_payment", applied.amount)])
    await db.refresh_statuses(session, claims)


async def on_patients_registered(session: AsyncSession, events: list[Event[PatientRegisteredV1]], deps: Deps) -> None:
    latest: dict[UUID, PatientRegisteredV1] = {}
    for event in events:
        if event.data.patient_id not in latest or latest[event.data.patient_id].version < event.data.version:
            latest[event.data.patient_id] = event.data
    await db.store_patients(session, [_account(patient) for _, patient in sorted(latest.items())])


def _account(patient: PatientRegisteredV1) -> dict[str, Any]:
    return {
        "patient_id": patient.patient_id,
        "version": patient.version,
        "person": patient.patient.model_dump(mode="json"),
        "coverages": [c.model_dump(mode="json", include=COVERAGE_FIELDS) for c in patient.coverages],
    }
