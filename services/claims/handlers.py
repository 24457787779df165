"""patient.registered -> the claims service's own patient copy; encounter.coded -> a claim, built
as soon as both the coded encounter and its patient are known (they arrive on different topics).
Each batch is handled set-wise: a few statements per batch, not per event."""

import logging
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims import db
from services.claims.domain.assembly import (
    Assembly,
    assemble,
    claim_id_for,
    correction,
    correction_claim_id,
    coverage_of,
    derived_claim_id,
    fits_one_claim,
    grouping_key,
    secondary,
)
from services.claims.domain.scrubber import scrub
from shared.contracts import topics
from shared.contracts.events import (
    ClaimCorrectionRequestedV1,
    EligibilityCheckedV1,
    EncounterCodedV1,
    Finding,
    PatientRegisteredV1,
    SecondaryClaimRequestedV1,
)
from shared.envelope import Event
from shared.service import Service
from x12.claim import Claim

log = logging.getLogger(__name__)
INACTIVE_COVERAGE = Finding(
    field="coverages[primary]",
    code="eligibility.inactive",
    message="the payer's latest eligibility answer (271) says this coverage is not active; "
    "fix: verify the coverage with the patient, update the registration and re-check eligibility",
)


@dataclass(eq=False)
class Bill:
    """A claim being made or grown in this batch, and the encounters it bills."""

    claim_id: UUID
    encounters: list[EncounterCodedV1]
    assembly: Assembly | None  # None for a stored claim until this batch grows it
    correlation_id: str
    key: str | None
    row: db.Claim | None = None  # a ready claim already stored (grown by this batch), else a new one


def _claim_row(bill: Bill) -> dict:
    claim, first = bill.assembly.claim, bill.encounters[0]
    return dict(
        claim_id=bill.claim_id,
        patient_control_number=claim.patient_control_number if claim else bill.claim_id.hex[:20].upper(),
        encounter_id=first.encounter_id,
        encounter_ids=[coded.encounter_id for coded in bill.encounters],
        grouping_key=bill.key if claim else None,
        patient_id=first.patient_id,
        payer_id=claim.payer.id if claim else "",
        payer_name=bill.assembly.payer_name,
        date_of_service=first.date_of_service,
        total_charge=claim.total_charge if claim else 0,
        status="ready" if claim else "held",
        findings=[f.model_dump() for f in bill.assembly.findings],
        content=claim.model_dump(mode="json") if claim else None,
        correlation_id=bill.correlation_id,
    )


def register(
    service: Service, chargemaster: dict, group_encounters: bool = True, billed_each: frozenset[str] = frozenset()
) -> None:
    """`billed_each`: payers that want a claim per encounter rather than one per patient and day."""

    def key_of(coded: EncounterCodedV1, assembly: Assembly) -> str | None:
        if not (assembly.claim and group_encounters) or assembly.claim.payer.id in billed_each:
            return None
        return grouping_key(coded, assembly.claim.payer.id)

    def checked(encounters: list[EncounterCodedV1], patient: PatientRegisteredV1, inactive: set) -> Assembly:
        assembly = assemble(encounters, patient, chargemaster)
        if assembly.claim and (encounters[0].patient_id, "primary", assembly.claim.payer.id) in inactive:
            return Assembly(None, assembly.payer_name, [INACTIVE_COVERAGE])
        if assembly.claim and (edits := scrub(assembly.claim, date.today())):
            return Assembly(None, assembly.payer_name, edits)  # held: never sent with a known defect
        return assembly

    async def build_claims(session: AsyncSession, waiting: list[tuple[EncounterCodedV1, str]], patients: dict) -> None:
        """Claims for coded encounters whose patient is known; the rest keep waiting. A clean
        encounter joins the ready claim of its grouping key (this batch's or one not yet batched)
        when the two still make one clean claim; otherwise it starts its own."""
        inactive = await db.inactive_coverages(session, {coded.patient_id for coded, _ in waiting})
        bills: list[Bill] = []
        open_by_key: dict[str, Bill] = {}
        known = [(coded, c, patients[coded.patient_id]) for coded, c in waiting if coded.patient_id in patients]
        singles = [(coded, c, patient, checked([coded], patient, inactive)) for coded, c, patient in known]
        keys = {key for coded, _, _, a in singles if (key := key_of(coded, a))}
        for row, encounters in await db.open_claims(session, keys):
            open_by_key[row.grouping_key] = Bill(
                row.claim_id, encounters, None, row.correlation_id, row.grouping_key, row
            )
        for coded, correlation_id, patient, single in singles:
            key = key_of(coded, single)
            target = open_by_key.get(key) if key else None
            if target is not None and fits_one_claim(together := [*target.encounters, coded]):
                grown = checked(together, patient, inactive)
                if grown.claim is not None:
                    target.encounters, target.assembly = together, grown
                    if target not in bills:
                        bills.append(target)
                    continue
            bill = Bill(claim_id_for(coded.encounter_id), [coded], single, correlation_id, key)
            bills.append(bill)
            if key:
                open_by_key[key] = bill
            if not single.claim:
                log.info(
                    "claim held", extra={"claim_id": str(bill.claim_id), "reasons": [f.code for f in single.findings]}
                )
        if new := [_claim_row(b) for b in bills if b.row is None]:
            await session.execute(insert(db.Claim.__table__), new)
        for bill in bills:
            if bill.row is not None:  # grown: same id and control number, more lines
                row = _claim_row(bill)
                for name in ("encounter_ids", "total_charge", "content"):
                    setattr(bill.row, name, row[name])
        encounters = [
            dict(encounter_id=coded.encounter_id, claim_id=b.claim_id, status="claimed" if b.assembly.claim else "held")
            for b in bills
            for coded in b.encounters
        ]
        if encounters:
            await session.execute(update(db.CodedEncounter), encounters)

    @service.consumes(topics.ELIGIBILITY_CHECKED, EligibilityCheckedV1)
    async def on_eligibility_checked(session: AsyncSession, events: list[Event[EligibilityCheckedV1]]) -> None:
        await db.lock_join(session)  # a claim being built waits for, or sees, the answer
        latest: dict[tuple, EligibilityCheckedV1] = {}
        for check in sorted((e.data for e in events), key=lambda c: c.checked_at):
            latest[(check.patient_id, check.coverage_rank, check.payer_id)] = check
        await db.record_eligibility(
            session,
            [
                dict(
                    patient_id=c.patient_id,
                    coverage_rank=c.coverage_rank,
                    payer_id=c.payer_id,
                    active=c.active,
                    check_id=c.check_id,
                    checked_at=c.checked_at,
                )
                for c in latest.values()
            ],
        )

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
            [
                dict(
                    encounter_id=e.data.encounter_id,
                    patient_id=e.data.patient_id,
                    status="waiting",
                    content=e.data.model_dump(mode="json"),
                    correlation_id=e.correlation_id,
                )
                for e in {e.data.encounter_id: e for e in events}.values()
            ],
        )
        new = set(inserted.scalars())
        if len(new) < len(events):
            log.info("encounters already received; ignored", extra={"count": len(events) - len(new)})
        fresh = list(
            {e.data.encounter_id: (e.data, e.correlation_id) for e in events if e.data.encounter_id in new}.values()
        )
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
            findings = [
                Finding(
                    field="claim_id",
                    code="original.unknown",
                    message="no sent claim with this id; fix: check the claim id of the request",
                )
            ]
        else:
            claim, findings = await build(Claim.model_validate(original.content), original)
            if claim:
                findings = scrub(claim, date.today())
        session.add(
            db.Claim(
                claim_id=claim_id,
                patient_control_number=claim.patient_control_number if claim else claim_id.hex[:20].upper(),
                encounter_id=original.encounter_id if original else "",
                encounter_ids=original.encounter_ids if original else [],
                patient_id=original.patient_id if original else original_id,
                payer_id=claim.payer.id if claim else "",
                payer_name=claim.payer.name if claim else "",
                date_of_service=original.date_of_service if original else date.today(),
                total_charge=claim.total_charge if claim else 0,
                status="held" if findings else "ready",
                findings=[f.model_dump() for f in findings],
                content=claim.model_dump(mode="json") if claim and not findings else None,
                correlation_id=correlation_id,
                kind=kind,
                original_claim_id=original_id,
            )
        )
        log.info("follow-up claim", extra={"claim_id": str(claim_id), "kind": kind, "held": bool(findings)})

    @service.consumes(topics.CLAIM_CORRECTION_REQUESTED, ClaimCorrectionRequestedV1)
    async def on_corrections_requested(session: AsyncSession, events: list[Event[ClaimCorrectionRequestedV1]]) -> None:
        for event in events:
            request = event.data
            kind = "replacement" if request.frequency_code == "7" else "void"
            claim_id = correction_claim_id(request.claim_id, kind, request.payer_claim_control_number, request.changes)

            async def build(original: Claim, _row, request=request, claim_id=claim_id):
                return correction(
                    original,
                    claim_id,
                    request.frequency_code,
                    request.payer_claim_control_number,
                    request.changes if request.frequency_code == "7" else None,
                    chargemaster,
                )

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
                    return None, [
                        Finding(
                            field="coverages[secondary]",
                            code="coverage.no_secondary",
                            message="no secondary coverage active on the date of service; "
                            "fix: register the secondary coverage or bill the patient",
                        )
                    ]
                return secondary(
                    original,
                    claim_id,
                    patient,
                    coverage,
                    request.primary_paid,
                    request.primary_adjustments,
                    request.primary_paid_date,
                    request.primary_payer_claim_control_number,
                ), []

            await follow_up(session, request.claim_id, claim_id, "secondary", build, event.correlation_id)
