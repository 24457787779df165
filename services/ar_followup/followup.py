"""The follow-up cycle, run by a background loop and on demand (POST /v1/cycle): claims with no
answer get a status request, deadlines near their limit raise an alert, statements go out.
Everything runs as of the service's clock (`ar_now`) or the `as_of` the caller gives."""

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import db
from services.ar_followup.domain.ledger import balances
from services.ar_followup.handlers import open_work
from services.ar_followup.settings import ArSettings
from services.ar_followup.statements import issue_statements

ZERO = Decimal("0.00")


async def no_response(session: AsyncSession, settings: ArSettings, now: datetime) -> list[db.ArClaim]:
    """Claims submitted long enough ago with no adjudication: open 'no_response' work for each."""
    cutoff = now - timedelta(days=settings.ar_no_response_days)
    claims = (
        (
            await session.execute(
                select(db.ArClaim)
                .where(
                    db.ArClaim.root_claim_id.is_(None),
                    db.ArClaim.adjudicated.is_(False),
                    db.ArClaim.submitted_at <= cutoff,
                )
                .order_by(db.ArClaim.claim_id)
            )
        )
        .scalars()
        .all()
    )
    totals = await db.totals_by_claim(session, [c.claim_id for c in claims])
    for claim in claims:
        await open_work(
            session,
            claim,
            "no_response",
            balances(totals[claim.claim_id]).insurance_balance,
            now=now,
            action="status_request",
            reason=f"no answer {settings.ar_no_response_days}+ days after submission",
        )
    return list(claims)


async def timely_filing_alerts(session: AsyncSession, settings: ArSettings, now: datetime) -> int:
    """Claims the payer has not paid whose filing limit is near: resubmit or appeal before it passes."""
    horizon = now.date() + timedelta(days=settings.ar_timely_filing_alert_days)
    claims = (
        (
            await session.execute(
                select(db.ArClaim)
                .where(
                    db.ArClaim.root_claim_id.is_(None),
                    db.ArClaim.filing_deadline <= horizon,
                    (db.ArClaim.adjudicated.is_(False))
                    | (db.ArClaim.denied.is_(True))
                    | (db.ArClaim.rejected.is_(True)),
                )
                .order_by(db.ArClaim.claim_id)
            )
        )
        .scalars()
        .all()
    )
    totals = await db.totals_by_claim(session, [c.claim_id for c in claims])
    count = 0
    for claim in claims:
        balance = balances(totals[claim.claim_id])
        at_stake = (
            balance.insurance_balance
            if not claim.denied
            else balance.charge - balance.paid - balance.patient_responsibility
        )
        if at_stake <= ZERO:
            continue
        passed = claim.filing_deadline < now.date()
        await open_work(
            session,
            claim,
            "timely_filing",
            at_stake,
            now=now,
            action="write_off" if passed else "resubmit",
            reason=f"filing limit {'passed' if passed else 'on'} {claim.filing_deadline.isoformat()}",
        )
        count += 1
    return count


async def run_cycle(service, now: datetime | None = None) -> dict:
    settings: ArSettings = service.settings
    now = now or settings.now()
    desk = getattr(service, "status_desk", None)
    async with service.sessions() as session, session.begin():
        answers = await desk.read_answers(session, now) if desk else []
        waiting = await no_response(session, settings, now)
        alerts = await timely_filing_alerts(session, settings, now)
        statements = await issue_statements(session, settings.ar_statements_dir, now)
        requests = await desk.request(session, waiting, now) if desk else 0
    if desk:
        desk.file_away(answers)  # after the commit: a rolled-back cycle reads them again
        await desk.write_pending(service.sessions, now)  # and 276s only for committed requests
    return {
        "as_of": now.isoformat(),
        "no_response": len(waiting),
        "status_requests": requests,
        "status_answers": len(answers),
        "timely_filing_alerts": alerts,
        "statements": len(statements),
    }
