"""Payments' HTTP API: received 835 files and the payments waiting for a claim."""

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from services.payments import db

router = APIRouter(prefix="/v1")


@router.get("/stats")
async def stats(request: Request) -> dict:
    async with request.app.state.service.sessions() as session:
        files = dict((await session.execute(select(db.EraFile.status, func.count()).group_by(db.EraFile.status))).all())
        payments = dict(
            (await session.execute(
                select(db.ClaimPaymentRecord.status, func.count()).group_by(db.ClaimPaymentRecord.status))).all()
        )
        posted = (await session.execute(
            select(func.coalesce(func.sum(db.ClaimPaymentRecord.paid), 0)).where(db.ClaimPaymentRecord.status == "posted")
        )).scalar_one()
    return {"era_files": files, "claim_payments": payments, "total_posted": str(posted)}
