"""Claims' HTTP API: a claim with its status, hold reasons and acknowledgement; the work queue
(claims held before sending or rejected after); counts by status and by acknowledgement. Who may
call each route is PERMISSIONS; reading a claim is in the audit trail (shared/audit.py)."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query

from services.claims import db
from shared.api import SessionDep
from shared.audit import TrailDep
from shared.security import ANALYTICS_READER, AR_SPECIALIST, BILLER, OVERSIGHT, permissions

router = APIRouter(prefix="/v1")
# Billers fix held and rejected claims; A/R reads a claim it follows up; the analysts' jobs read counts.
COUNTS = OVERSIGHT | {BILLER, ANALYTICS_READER}
PERMISSIONS = permissions({
    "GET /v1/claims/{claim_id}": OVERSIGHT | {BILLER, AR_SPECIALIST},
    "GET /v1/stats": COUNTS,
    "GET /v1/stats/encounters": COUNTS,
    "GET /v1/work-queue": OVERSIGHT | {BILLER},
    "GET /v1/acknowledgements": COUNTS,
})  # fmt: skip


@router.get("/claims/{claim_id}")
async def get_claim(claim_id: UUID, session: SessionDep, trail: TrailDep) -> dict[str, Any]:
    claim = await db.claim(session, claim_id)
    if claim is None:
        raise HTTPException(404, "no such claim")
    await trail.read(session, "Claim", claim_id, claim.patient_id)
    return claim.model_dump(mode="json", exclude={"content"})


@router.get("/stats")
async def stats(session: SessionDep) -> dict[str, int]:
    return await db.counts_by_status(session)


@router.get("/stats/encounters")
async def encounter_stats(session: SessionDep) -> dict[str, int]:
    """Coded encounters by the status of the claim that bills them (several may share one claim);
    `waiting` ones have no claim yet (their patient is not known)."""
    return await db.encounters_by_claim_status(session)


@router.get("/work-queue")
async def work_queue(
    session: SessionDep, trail: TrailDep, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)
) -> dict[str, Any]:
    """Claims someone must fix: held by the scrubber (never sent) or rejected by a 999 or 277CA."""
    total, claims = await db.work_queue(session, limit, offset)
    await trail.search(session, "Claim", [(c.claim_id, c.patient_id) for c in claims])
    items = [
        dict(
            claim_id=str(c.claim_id),
            encounter_id=c.encounter_id,
            payer_id=c.payer_id,
            kind=c.kind,
            task="fix before sending" if c.status == "held" else "resolve the rejection",
            findings=c.findings,
            rejection=c.ack_reasons if c.acknowledgement == "rejected" else [],
        )
        for c in claims
    ]
    return {"total": total, "items": items}


@router.get("/acknowledgements")
async def acknowledgements(session: SessionDep) -> dict[str, int]:
    """Submitted claims by what the clearinghouse and payers said: accepted, rejected, or awaiting."""
    return await db.acknowledgement_counts(session)
