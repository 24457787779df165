"""Claims' HTTP API: a claim with its status and hold reasons; counts by status."""

from uuid import UUID

from fastapi import APIRouter, HTTPException, Request

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
