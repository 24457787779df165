"""Coding's HTTP API: the outcome of an encounter and overall counts."""

from fastapi import APIRouter, HTTPException, Request

from services.coding import db

router = APIRouter(prefix="/v1")


@router.get("/encounters/{encounter_id}")
async def get_outcome(encounter_id: str, request: Request) -> dict:
    async with request.app.state.service.sessions() as session:
        outcome = await session.get(db.CodingOutcome, encounter_id)
    if outcome is None:
        raise HTTPException(404, "no such encounter")
    return outcome.model_dump(mode="json")


@router.get("/stats")
async def stats(request: Request) -> dict[str, int]:
    async with request.app.state.service.sessions() as session:
        return await db.counts_by_status(session)
