"""patient.registered -> the claims service's own patient copy; encounter.coded -> a claim, built
as soon as both the coded encounter and its patient are known (they arrive on different topics).
Each batch is handled set-wise: a few statements per batch, not per event."""

import logging
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims import db
from services.claims.domain.assembly import (
    Assembly, assemble, claim_id_for, correction, coverage_of, derived_claim_id, secondary,
)
from services.claims.domain.scrubber import scrub
from shared.contracts import topics
from shared.contracts.events import (
    ClaimCorrectionRequestedV1, EligibilityCheckedV1, EncounterCodedV1, Finding, PatientRegisteredV1, SecondaryClaimRequestedV1,
)
from x12.claim import Claim
from shared.envelope import Event
from shared.service import Service

log = logging.getLogger(__name__)
INACTIVE_COVERAGE = Finding(
    field="coverages[primary]", code="eligibility.inactive",
    message="the payer's latest eligibility answer (271) says this coverage is not active; "
            "fix: verify the coverage with the patient, update the registration and re-check eligibility",
)


def register(service: Service, chargemaster: dict) -> None:
    async def build_claims(session: AsyncSession, waiting: list[tuple[EncounterCodedV1, str]],
                           patients: dict) -> None:
        """Claims for coded encounters whose patient is known; the rest keep waiting."""
        rows, claimed, held = [], [], []
        inactive = await db.inactive_coverages(session, {coded.patient_id for coded, _ in waiting})
        for coded, correlation_id in waiting:
            patient = patients.get(coded.patient_id)
            if patient is None:
                continue
            assembly = assemble(coded, patient, chargemaster)
            if assembly.claim and (coded.patient_id, "primary", assembly.claim.payer.id) in inactive:
                assembly = Assembly(None, assembly.payer_name, [INACTIVE_COVERAGE])
            if assembly.claim and (edits := scrub(assembly.claim, date.today())):
                assembly = Assembly(None, assembly.payer_name, edits)  # held: never sent with a known defect
            claim_id, claim = claim_id_for(coded.encounter_id), assembly.claim
            rows.append(dict(
                claim_id=claim_id,
                patient_control_number=claim.patient_control_number if claim else claim_id.hex[:20].upper(),
                encounter_id=coded.encounter_id,
                patient_id=coded.patient_id,
                payer_id=claim.payer.id if claim else "",
                payer_name=assembly.payer_name,
                date_of_service=coded.date_of_service,
                total_charge=claim.total_charge if claim else 0,
                status="ready" if claim else "held",
                findings=[f.model_dump() for f in assembly.findings],
                content=claim.model_dump(mode="json") if claim else None,
                correlation_id=correlation_id,
            ))
            (claimed if claim else held).append(coded.encounter_id)
            if not claim:
                log.info("claim held", extra={"claim_id": str(claim_id), "reasons": [f.code for f in assembly.findings]})
        if rows:
            await session.execute(insert(db.Claim.__table__), rows)
        for status, ids in (("claimed", claimed), ("held", held)):
            if ids:
                await session.execute(
                    update(db.CodedEncounter).where(db.CodedEncounter.encounter_id.in_(ids)).values(status=status)
                )

    @service.consumes(topics.ELIGIBILITY_CHECKED, EligibilityCheckedV1)
    async def on_eligibility_checked(session: AsyncSession, events: list[Event[EligibilityCheckedV1]]) -> None:
        await db.lock_join(session)  # a claim being built waits for, or sees, the answer
        latest: dict[tuple, EligibilityCheckedV1] = {}
        for check in sorted((e.data for e in events), key=lambda c: c.checked_at):
            latest[(check.patient_id, check.coverage_rank, check.payer_id)] = check
        await db.record_eligibility(session, [
            dict(patient_id=c.patient_id, coverage_rank=c.coverage_rank, payer_id=c.payer_id, active=c.active,
                 check_id=c.check_id, checked_at=c.checked_at)
            for c in latest.values()
        ])

    @service.consumes(topics.PATIENT_REGISTERED, PatientRegisteredV1)
    async def on_patients_registered(session: AsyncSession, events: list[Event[PatientRegisteredV1]]) -> None:
        await db.lock_join(session)
        stored = {}
        for event in events:
            patient = event.data
            if await db.upsert_patient(session, patient.patient_id, patient.version, patient.model_dump(mode="json")):
                stored[patient.patient_id] = patient  # newer than what we held
        if not stored:
            return
        waiting = await session.execute(
            select(db.CodedEncounter).where(
                db.CodedEncounter.patient_id.in_(stored), db.CodedEncounter.status == "waiting"
            )
        )
        await build_claims(
            session,
            [(EncounterCodedV1.model_validate(e.content), e.correlation_id) for e in waiting.scalars()],
            stored,
        )

    @service.consumes(topics.ENCOUNTER_CODED, EncounterCodedV1)
    async def on_encounters_coded(session: AsyncSession, events: list[Event[EncounterCodedV1]]) -> None:
        await db.lock_join(session)
        table = db.CodedEncounter.__table__
        inserted = await session.execute(
            insert(table).on_conflict_do_nothing().returning(table.c.encounter_id),
            [dict(encounter_id=e.data.encounter_id, patient_id=e.data.patient_id, status="waiting",
                  content=e.data.model_dump(mode="json"), correlation_id=e.correlation_id)
             for e in {e.data.encounter_id: e for e in events}.values()],
        )
        new = set(inserted.scalars())
        if len(new) < len(events):
            log.info("encounters already received; ignored", extra={"count": len(events) - len(new)})
        fresh = list({e.data.encounter_id: (e.data, e.correlation_id) for e in events
                      if e.data.encounter_id in new}.values())
        found = await session.execute(
            select(db.ClaimPatient).where(db.ClaimPatient.patient_id.in_({coded.patient_id for coded, _ in fresh}))
        )
        patients = {p.patient_id: PatientRegisteredV1.model_validate(p.content) for p in found.scalars()}
        await build_claims(session, fresh, patients)

    async def follow_up(session: AsyncSession, original_id, claim_id, kind: str, build, correlation_id: str) -> None:
        """A claim that follows another (replacement, void, secondary), made once per request:
        the id is derived from the original and the purpose, so a repeated request changes nothing."""
        if await session.get(db.Claim, claim_id) is not None:
            log.info("follow-up claim already made; ignored", extra={"claim_id": str(claim_id), "kind": kind})
            return
        original = await session.get(db.Claim, original_id)
        findings: list[Finding] = []
        claim = None
        if original is None or original.content is None:
            findings = [Finding(field="claim_id", code="original.unknown",
                                message="no sent claim with this id; fix: check the claim id of the request")]
        else:
            claim, findings = await build(Claim.model_validate(original.content), original)
            if claim:
                findings = scrub(claim, date.today())
        session.add(db.Claim(
            claim_id=claim_id,
            patient_control_number=claim.patient_control_number if claim else claim_id.hex[:20].upper(),
            encounter_id=original.encounter_id if original else "", patient_id=original.patient_id if original else
            original_id, payer_id=claim.payer.id if claim else "", payer_name=claim.payer.name if claim else "",
            date_of_service=original.date_of_service if original else date.today(),
            total_charge=claim.total_charge if claim else 0, status="held" if findings else "ready",
            findings=[f.model_dump() for f in findings], content=claim.model_dump(mode="json") if claim and not
            findings else None, correlation_id=correlation_id, kind=kind, original_claim_id=original_id,
        ))
        log.info("follow-up claim", extra={"claim_id": str(claim_id), "kind": kind, "held": bool(findings)})

    @service.consumes(topics.CLAIM_CORRECTION_REQUESTED, ClaimCorrectionRequestedV1)
    async def on_corrections_requested(session: AsyncSession, events: list[Event[ClaimCorrectionRequestedV1]]) -> None:
        for event in events:
            request = event.data
            kind = "replacement" if request.frequency_code == "7" else "void"
            claim_id = derived_claim_id(request.claim_id, f"{kind}:{request.payer_claim_control_number}")

            async def build(original: Claim, _row, request=request, claim_id=claim_id):
                return correction(original, claim_id, request.frequency_code, request.payer_claim_control_number), []

            await follow_up(session, request.claim_id, claim_id, kind, build, event.correlation_id)

    @service.consumes(topics.CLAIM_SECONDARY_REQUESTED, SecondaryClaimRequestedV1)
    async def on_secondaries_requested(session: AsyncSession, events: list[Event[SecondaryClaimRequestedV1]]) -> None:
        for event in events:
            request = event.data
            claim_id = derived_claim_id(request.claim_id, "secondary")

            async def build(original: Claim, row: db.Claim, request=request, claim_id=claim_id):
                stored = await session.get(db.ClaimPatient, row.patient_id)
                patient = PatientRegisteredV1.model_validate(stored.content) if stored else None
                coverage = coverage_of(patient, "secondary", row.date_of_service) if patient else None
                if coverage is None:
                    return None, [Finding(field="coverages[secondary]", code="coverage.no_secondary",
                                          message="no secondary coverage active on the date of service; "
                                                  "fix: register the secondary coverage or bill the patient")]
                return secondary(original, claim_id, patient, coverage, request.primary_paid,
                                 request.primary_adjustments, request.primary_paid_date,
                                 request.primary_payer_claim_control_number), []

            await follow_up(session, request.claim_id, claim_id, "secondary", build, event.correlation_id)
