"""Claims' consumers. Each loads what it needs (db), asks the domain what to do, and stores it:
- patient.registered -> claims' own copy of the patient;
- eligibility.checked -> each coverage's latest eligibility answer (an inactive one holds its claims);
- encounter.coded -> a claim, built as soon as both the coded encounter and its patient are known
  (they arrive on different topics); which claim bills which encounter is domain/grouping.py;
- claim.correction-requested, claim.secondary-requested -> a follow-up claim (domain/follow_up.py).
Each batch is handled set-wise: a few statements per batch, not per event."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims import db
from services.claims.domain import follow_up, grouping
from services.claims.domain.eligibility import latest_answers
from shared.contracts.events import (
    ClaimCorrectionRequestedV1,
    EligibilityCheckedV1,
    EncounterCodedV1,
    PatientRegisteredV1,
    SecondaryClaimRequestedV1,
)
from shared.envelope import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deps:
    """What claims' handlers need: the practice's prices, whether a patient's encounters of one day
    are billed together, and the payers that want a claim per encounter instead."""

    chargemaster: Mapping[str, Decimal]
    group_encounters: bool = True
    billed_each: frozenset[str] = frozenset()

    def billing(self, inactive: set[grouping.InactiveCoverage]) -> grouping.Billing:
        return grouping.Billing(self.chargemaster, date.today(), inactive, self.group_encounters, self.billed_each)


async def on_eligibility_checked(session: AsyncSession, events: list[Event[EligibilityCheckedV1]], deps: Deps) -> None:
    await db.lock_join(session)  # a claim being built waits for, or sees, the answer
    await db.record_eligibility(session, latest_answers(e.data for e in events))


async def on_patients_registered(session: AsyncSession, events: list[Event[PatientRegisteredV1]], deps: Deps) -> None:
    await db.lock_join(session)
    stored = {}
    for event in events:
        if await db.upsert_patient(session, event.data):
            stored[event.data.patient_id] = event.data  # newer than what we held
    if stored:
        await bill_encounters(session, await db.waiting_encounters(session, set(stored)), stored, deps)


async def on_encounters_coded(session: AsyncSession, events: list[Event[EncounterCodedV1]], deps: Deps) -> None:
    await db.lock_join(session)
    new = await db.receive_encounters(session, events)
    if len(new) < len(events):
        log.info("encounters already received; ignored", extra={"count": len(events) - len(new)})
    fresh = list(
        {e.data.encounter_id: (e.data, e.correlation_id) for e in events if e.data.encounter_id in new}.values()
    )
    if fresh:
        await bill_encounters(session, fresh, await db.patients(session, {c.patient_id for c, _ in fresh}), deps)


async def bill_encounters(
    session: AsyncSession,
    waiting: list[tuple[EncounterCodedV1, str]],
    patients: Mapping[UUID, PatientRegisteredV1],
    deps: Deps,
) -> None:
    """Claims for the waiting encounters (with their correlation ids) whose patient is known; the
    others keep waiting. The open claims they may join are locked until the commit."""
    billing = deps.billing(await db.inactive_coverages(session, {coded.patient_id for coded, _ in waiting}))
    arrivals = grouping.arrivals(waiting, patients, billing)
    plan = grouping.plan(arrivals, await db.open_claims(session, grouping.keys(arrivals)), billing)
    for bill in plan.held:
        log.info(
            "claim held", extra={"claim_id": str(bill.claim_id), "reasons": [f.code for f in bill.assembly.findings]}
        )
    await db.store_plan(session, plan)


async def on_corrections_requested(
    session: AsyncSession, events: list[Event[ClaimCorrectionRequestedV1]], deps: Deps
) -> None:
    for event in events:
        request = event.data
        kind, claim_id = follow_up.correction_target(request)
        if await _already_made(session, claim_id, kind):
            continue
        original = await db.claim(session, request.claim_id)
        made = follow_up.corrected(request, db.sent_claim(original), deps.chargemaster, date.today())
        _store_follow_up(session, made, original, request.claim_id, event.correlation_id)


async def on_secondaries_requested(
    session: AsyncSession, events: list[Event[SecondaryClaimRequestedV1]], deps: Deps
) -> None:
    for event in events:
        request = event.data
        if await _already_made(session, follow_up.secondary_target(request), "secondary"):
            continue
        original = await db.claim(session, request.claim_id)
        sent = db.sent_claim(original)
        patient = await db.patient(session, original.patient_id) if original and sent else None
        on = original.date_of_service if original else None
        made = follow_up.to_secondary(request, sent, patient, on, date.today())
        _store_follow_up(session, made, original, request.claim_id, event.correlation_id)


async def _already_made(session: AsyncSession, claim_id: UUID, kind: str) -> bool:
    """A follow-up's id is derived from its request: a repeated request finds it made and changes nothing."""
    if await db.claim(session, claim_id) is None:
        return False
    log.info("follow-up claim already made; ignored", extra={"claim_id": str(claim_id), "kind": kind})
    return True


def _store_follow_up(
    session: AsyncSession, made: follow_up.FollowUp, original: db.Claim | None, original_id: UUID, correlation_id: str
) -> None:
    db.add_follow_up(session, made, original, original_id, correlation_id)
    log.info("follow-up claim", extra={"claim_id": str(made.claim_id), "kind": made.kind, "held": made.held})
