"""Claims' consumers. Each loads what it needs (db), asks the domain what to do, and stores it:
- patient.registered -> claims' own copy of the patient;
- eligibility.checked -> each coverage's latest eligibility answer (an inactive one holds its claims);
- encounter.coded -> a claim, built as soon as both the coded encounter and its patient are known
  (they arrive on different topics); which claim bills which encounter is domain/grouping.py; the
  EHR's later version of an encounter (correct or void) makes an unsent claim again, or has a sent
  one replaced (7) or voided (8);
- claim.correction-requested, claim.secondary-requested -> a follow-up claim (domain/follow_up.py).
Each batch is handled set-wise: a few statements per batch, not per event."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims import db
from services.claims.built import BuiltClaims
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
    are billed together, the payers that want a claim per encounter instead, and each payer's claim
    filing indicator (SBR09) from the payer directory; the claims built here, for the submission loop
    of this process to take without reading their JSON back into models."""

    chargemaster: Mapping[str, Decimal]
    group_encounters: bool = True
    billed_each: frozenset[str] = frozenset()
    filing_indicators: Mapping[str, str] = field(default_factory=dict)
    built: BuiltClaims = field(default_factory=BuiltClaims, compare=False)  # for the submission loop

    def billing(self, inactive: set[grouping.InactiveCoverage]) -> grouping.Billing:
        return grouping.Billing(
            self.chargemaster, date.today(), inactive, self.group_encounters, self.billed_each, self.filing_indicators
        )


async def on_eligibility_checked(session: AsyncSession, events: list[Event[EligibilityCheckedV1]], deps: Deps) -> None:
    # a claim being built waits for, or sees, the answer
    await db.lock_patients(session, {e.data.patient_id for e in events})
    await db.record_eligibility(session, latest_answers(e.data for e in events))


async def on_patients_registered(session: AsyncSession, events: list[Event[PatientRegisteredV1]], deps: Deps) -> None:
    await db.lock_patients(session, {e.data.patient_id for e in events})
    stored = {}
    for event in events:
        if await db.upsert_patient(session, event.data):
            stored[event.data.patient_id] = event.data  # newer than what we held
    if stored:
        await bill_encounters(session, await db.waiting_encounters(session, set(stored)), stored, deps)


async def on_encounters_coded(session: AsyncSession, events: list[Event[EncounterCodedV1]], deps: Deps) -> None:
    received_for = await db.patients_of_encounters(session, {e.data.encounter_id for e in events})
    await db.lock_patients(session, received_for | {e.data.patient_id for e in events})
    new = await db.receive_encounters(session, events)
    latest = {e.data.encounter_id: e for e in sorted(events, key=lambda e: e.data.version)}
    fresh = [
        (e.data, e.correlation_id) for e in latest.values() if e.data.encounter_id in new and e.data.action != "void"
    ]
    if fresh:
        patients = await db.patients(session, {c.patient_id for c, _ in fresh})
        await bill_encounters(session, fresh, patients, deps, coded_at=_newest_coded_at(events))
    if later := [e for e in events if e.data.encounter_id not in new]:
        await revise_encounters(session, later, deps)


def _newest_coded_at(events: list[Event[EncounterCodedV1]]) -> datetime:
    """When the newest of the encounters was coded (a time without an offset is taken as UTC)."""
    return max(e.data.coded_at if e.data.coded_at.tzinfo else e.data.coded_at.replace(tzinfo=UTC) for e in events)


async def revise_encounters(session: AsyncSession, events: list[Event[EncounterCodedV1]], deps: Deps) -> None:
    """Encounters received before: a later version (the EHR's correction or void) revises what was
    billed; the same or an older version is a repeat and changes nothing."""
    rows = await db.encounters_for_update(session, {e.data.encounter_id for e in events})
    for event in sorted(events, key=lambda e: e.data.version):
        row = rows[event.data.encounter_id]
        if event.data.version <= int(row.content.get("version", 1)) or row.status == "voided":
            log.info("encounter version already received; ignored", extra={"encounter_id": row.encounter_id})
            continue
        row.content, row.correlation_id = event.data.model_dump(mode="json"), event.correlation_id
        await revise(session, row, deps)


async def revise(session: AsyncSession, row: db.CodedEncounter, deps: Deps) -> None:
    """Apply an encounter's newer version: before its claim is sent, the claim is made again; after,
    the payer gets a replacement or a void of it (domain/follow_up.py)."""
    voided = row.content.get("action") == "void"
    claim = await db.claim_for_update(session, row.claim_id) if row.claim_id else None
    if claim is None:  # still waiting for its patient
        row.status = "voided" if voided else "waiting"
        return
    if claim.status in ("ready", "held") and claim.kind != "original":  # an earlier revision not sent yet
        claim = await _withdraw(session, claim)
    if claim.status in ("ready", "held"):
        await _bill_again(session, claim, row, deps)
    else:
        await revise_billed(session, claim, row, deps)


async def _withdraw(session: AsyncSession, follow_on: db.Claim) -> db.Claim:
    """An unsent replacement withdrawn: its encounters go back to the claim it was to replace."""
    original = await db.claim_for_update(session, follow_on.original_claim_id) if follow_on.original_claim_id else None
    if original is None:
        return follow_on
    for row in await db.encounters_of(session, follow_on):
        row.claim_id = original.claim_id
    await db.unbill(session, follow_on)
    return original


async def _bill_again(session: AsyncSession, claim: db.Claim, changed: db.CodedEncounter, deps: Deps) -> None:
    """A claim never sent is made again from its encounters as they stand (a voided one left out)."""
    rows = await db.encounters_of(session, claim)
    await db.unbill(session, claim)
    for row in rows:
        row.claim_id, row.status = None, "voided" if row.content.get("action") == "void" else "waiting"
    waiting = [(EncounterCodedV1.model_validate(r.content), r.correlation_id) for r in rows if r.status == "waiting"]
    if waiting:
        await bill_encounters(session, waiting, await db.patients(session, {changed.patient_id}), deps)


async def revise_billed(session: AsyncSession, claim: db.Claim, changed: db.CodedEncounter, deps: Deps) -> None:
    """A sent claim one of whose encounters the EHR corrected or voided: a replacement (7) with the
    encounters as they stand, or a void (8) when none is left; it needs the payer's claim number
    (277CA), so until then the encounter waits as correcting."""
    if claim.payer_claim_control_number is None and claim.acknowledgement != "rejected":
        changed.status = "correcting"
        return
    rows = await db.encounters_of(session, claim)
    remaining = [EncounterCodedV1.model_validate(r.content) for r in rows if r.content.get("action") != "void"]
    version = int(changed.content.get("version", 1))
    claim_id = follow_up.revision_target(claim.claim_id, changed.encounter_id, version)
    if await _already_made(session, claim_id, "revision"):
        return
    if claim.acknowledgement == "rejected" or claim.payer_claim_control_number is None:
        made = follow_up.held_revision(claim_id)
    else:
        patient = await db.patient(session, claim.patient_id)
        sent = db.sent_claim(claim)
        if patient is None or sent is None:
            raise RuntimeError(
                "a sent claim without its patient or content"
            )  # cannot happen: both were needed to send it
        made = follow_up.revised(
            sent, claim.claim_id, claim.payer_claim_control_number, remaining, patient, deps.chargemaster, claim_id,
            date.today(),
        )  # fmt: skip
    billed = [coded.encounter_id for coded in remaining] or list(claim.encounter_ids)
    db.add_follow_up(session, made, claim, claim.claim_id, changed.correlation_id, billed)
    for row in rows:
        row.claim_id = claim_id
        row.status = "voided" if row.content.get("action") == "void" else "held" if made.held else "claimed"
    log.info("claim revised for the EHR", extra={"claim_id": str(claim_id), "kind": made.kind, "held": made.held})


async def revise_acknowledged(session: AsyncSession, claims: list[db.Claim], deps: Deps) -> None:
    """The 277CA gave claims their payer claim numbers (or rejected them): the EHR's revisions that
    waited for that are made now, one per claim with the latest version."""
    await db.lock_patients(session, {claim.patient_id for claim in claims})
    by_claim: dict[UUID, db.CodedEncounter] = {}
    for row in await db.correcting_encounters(session, [c.claim_id for c in claims]):
        if row.claim_id and (row.claim_id not in by_claim or _version(by_claim[row.claim_id]) < _version(row)):
            by_claim[row.claim_id] = row
    for claim in claims:
        if claim.claim_id in by_claim:
            await revise_billed(session, claim, by_claim[claim.claim_id], deps)


def _version(row: db.CodedEncounter) -> int:
    return int(row.content.get("version", 1))


async def bill_encounters(
    session: AsyncSession,
    waiting: list[tuple[EncounterCodedV1, str]],
    patients: Mapping[UUID, PatientRegisteredV1],
    deps: Deps,
    coded_at: datetime | None = None,
) -> None:
    """Claims for the waiting encounters (with their correlation ids) whose patient is known; the
    others keep waiting. The open claims they may join are locked until the commit. `coded_at`: when
    the newest of them was coded, if they come straight from encounter.coded (a new claim's grouping
    window opens then, db.INSERT_CLAIMS); otherwise the window opens when the claim is made."""
    await session.flush()  # a revision's changes to encounter rows first: the statements below are Core (no autoflush)
    billing = deps.billing(await db.inactive_coverages(session, {coded.patient_id for coded, _ in waiting}))
    arrivals = grouping.arrivals(waiting, patients, billing)
    plan = grouping.plan(arrivals, await db.open_claims(session, grouping.keys(arrivals)), billing)
    for bill in plan.held:
        log.info(
            "claim held", extra={"claim_id": str(bill.claim_id), "reasons": [f.code for f in bill.assembly.findings]}
        )
    await db.store_plan(session, plan, deps.built, coded_at)


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
        made = follow_up.to_secondary(request, sent, patient, on, date.today(), deps.filing_indicators)
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
