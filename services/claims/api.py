"""Claims' HTTP API: a claim with its status, hold reasons and acknowledgement; the work queue
(claims held before sending or rejected after); counts by status and by acknowledgement."""

from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import func, or_, select

from services.claims import db

router = APIRouter(prefix="/v1")


@router.get("/claims/{claim_id}")
async def get_claim(claim_id: UUID, request: Request) -> dict:
    async with request.app.state.service.sessions() as session:
        claim = await session.get(db.Claim, claim_id)
    if claim is None:
        raise HTTPException(404, "no such claim")
    return claim.model_dump(mode="json", exclude={"content"})


@router.get("/stats")
async def stats(request: Request) -> dict[str, int]:
    async with request.app.state.service.sessions() as session:
        return await db.counts_by_status(session)


@router.get("/stats/encounters")
async def encounter_stats(request: Request) -> dict[str, int]:
    """Coded encounters by the status of the claim that bills them (several may share one claim);
    `waiting` ones have no claim yet (their patient is not known)."""
    async with request.app.state.service.sessions() as session:
        return await db.encounters_by_claim_status(session)


@router.get("/work-queue")
async def work_queue(request: Request, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> dict:
    """Claims someone must fix: held by the scrubber (never sent) or rejected by a 999 or 277CA."""
    waiting = or_(db.Claim.status == "held", db.Claim.acknowledgement == "rejected")
    async with request.app.state.service.sessions() as session:
        total = (await session.execute(select(func.count()).where(waiting))).scalar_one()
        rows = (
            (
                await session.execute(
                    select(db.Claim)
                    .where(waiting)
                    .order_by(db.Claim.created_at, db.Claim.claim_id)
                    .limit(limit)
                    .offset(offset)
                )
            )
            .scalars()
            .all()
        )
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
        for c in rows
    ]
    return {"total": total, "items": items}


@router.get("/acknowledgements")
async def acknowledgements(request: Request) -> dict[str, int]:
    """Submitted claims by what the clearinghouse and payers said: accepted, rejected, or awaiting."""
    async with request.app.state.service.sessions() as session:
        rows = await session.execute(
            select(func.coalesce(db.Claim.acknowledgement, "awaiting"), func.count())
            .where(db.Claim.status == "submitted")
            .group_by(db.Claim.acknowledgement)
        )
        return {state: count for state, count in rows.all()}
