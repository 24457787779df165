"""Claims' HTTP API: a claim with its status, hold reasons and acknowledgement; the work queue
(claims held before sending or rejected after); counts by status and by acknowledgement."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query

from services.claims import db
from shared.api import SessionDep

router = APIRouter(prefix="/v1")


@router.get("/claims/{claim_id}")
async def get_claim(claim_id: UUID, session: SessionDep) -> dict[str, Any]:
    claim = await db.claim(session, claim_id)
    if claim is None:
        raise HTTPException(404, "no such claim")
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
    session: SessionDep, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)
) -> dict[str, Any]:
    """Claims someone must fix: held by the scrubber (never sent) or rejected by a 999 or 277CA."""
    total, claims = await db.work_queue(session, limit, offset)
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
