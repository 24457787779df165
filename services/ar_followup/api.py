"""A/R's HTTP API: the portfolio summary and one claim's ledger."""

from uuid import UUID

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import func, select

from services.ar_followup import db
from services.ar_followup.domain.ledger import balances

router = APIRouter(prefix="/v1")


@router.get("/summary")
async def summary(request: Request) -> dict:
    async with request.app.state.service.sessions() as session:
        by_status = dict((await session.execute(select(db.ArClaim.status, func.count()).group_by(db.ArClaim.status))).all())
        totals = balances(await db.totals_by_kind(session))
    return {
        "claims": sum(by_status.values()),
        "by_status": by_status,
        "charged": str(totals.charge),
        "paid": str(totals.paid),
        "adjusted": str(totals.adjusted),
        "patient_responsibility": str(totals.patient_responsibility),
        "insurance_balance": str(totals.insurance_balance),
    }


@router.get("/claims/{claim_id}")
async def claim_ledger(claim_id: UUID, request: Request) -> dict:
    async with request.app.state.service.sessions() as session:
        claim = await session.get(db.ArClaim, claim_id)
        if claim is None:
            raise HTTPException(404, "no such claim")
        totals = balances(await db.totals_by_kind(session, claim_id))
    return {**claim.model_dump(mode="json"), "balances": {k: str(v) for k, v in totals.__dict__.items()}}
