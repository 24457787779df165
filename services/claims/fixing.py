"""A biller fixes a held claim: the changes (if any) are applied to the coded encounter it bills, and
the claim is made again from it as it now stands (the patient, coverage, eligibility and prices of
today); the scrubber decides again whether it goes out or stays held with new reasons. The person is
the token's; the fix is in the claim's history. A claim fixed by someone else meanwhile (its version,
If-Match, changed) or no longer held is refused, so two people never fix one claim twice."""

import hashlib
import json
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims import db, handlers
from services.claims.domain.fixes import fixed_encounter
from shared.auth import Principal
from shared.contracts.events import ClaimChanges, EncounterCodedV1, Finding


class CannotFix(Exception):
    def __init__(self, status: int, detail: object) -> None:
        super().__init__(str(detail))
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class Fixed:
    claim: db.Claim


def version(claim: db.Claim) -> str:
    """The claim's version as an entity tag: it changes whenever its state, findings or acknowledgement do."""
    facts = [claim.status, claim.acknowledgement, claim.created_at.isoformat() if claim.created_at else "",
             claim.findings, claim.ack_reasons, claim.batch_id]  # fmt: skip
    return '"' + hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()[:20] + '"'


async def resubmit(session: AsyncSession, claim_id: UUID, changes: ClaimChanges | None, if_match: str | None,
                   person: Principal, deps: handlers.Deps) -> Fixed:  # fmt: skip
    """In the caller's transaction; CannotFix (404, 409, 412, 422) says why not."""
    # the same turns as the handlers that bill the patient's encounters, taken before the claim's row
    await db.lock_patients(session, await db.patients_of_claims(session, claim_ids=[claim_id]))
    claim = await db.claim_for_update(session, claim_id)
    if claim is None:
        raise CannotFix(404, "no such claim")
    if if_match is not None and if_match.removeprefix("W/") != version(claim):
        raise CannotFix(412, "the claim changed since you opened it (someone fixed it or an answer came in)")
    if claim.status != "held" or claim.kind != "original":
        raise CannotFix(409, f"the claim is {claim.status} ({claim.kind}): only a held original claim is fixed here")
    rows = await db.encounters_of(session, claim)
    if changes is not None:
        await _apply(rows, changes)
    before = claim.findings
    await db.unbill(session, claim)
    for row in rows:
        row.claim_id, row.status = None, "waiting"
    waiting = [(EncounterCodedV1.model_validate(r.content), r.correlation_id) for r in rows]
    await handlers.bill_encounters(session, waiting, await db.patients(session, {claim.patient_id}), deps)
    made = await _claim_of(session, rows[0].encounter_id)
    db.add_events(session, [made], "fixed", detail=before, actor=person.subject, actor_name=person.display_name)
    return Fixed(made)


async def _apply(rows: list[db.CodedEncounter], changes: ClaimChanges) -> None:
    if len(rows) != 1:
        raise CannotFix(409, "a claim billing several encounters is never held: nothing to fix here")
    fixed, findings = fixed_encounter(EncounterCodedV1.model_validate(rows[0].content), changes)
    if fixed is None:
        raise CannotFix(422, [_as_error(f) for f in findings])
    rows[0].content = fixed.model_dump(mode="json")


async def _claim_of(session: AsyncSession, encounter_id: str) -> db.Claim:
    query = select(db.CodedEncounter.claim_id).where(db.CodedEncounter.encounter_id == encounter_id)
    claim_id = (await session.execute(query)).scalar_one()
    made = await session.get(db.Claim, claim_id, populate_existing=True)
    assert made is not None  # bill_encounters made it
    return made


def _as_error(finding: Finding) -> dict[str, object]:
    return {"loc": ["body", *finding.field.split(".")], "msg": finding.message, "type": finding.code}
