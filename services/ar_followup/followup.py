"""The follow-up cycle, run by a background loop and on demand (POST /v1/cycle): claims with no
answer get a status request, deadlines near their limit raise an alert, statements go out.
Everything runs as of the service's clock (`ar_now`) or the `as_of` the caller gives."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ar_followup import db
from services.ar_followup.deps import Deps
from services.ar_followup.domain.ledger import balances
from services.ar_followup.domain.work import timely_filing, unanswered
from services.ar_followup.settings import ArSettings
from services.ar_followup.statements import issue_statements, statements_folder
from shared import metrics


async def no_response(session: AsyncSession, settings: ArSettings, now: datetime) -> list[db.ArClaim]:
    """Claims submitted long enough ago with no adjudication: open 'no_response' work for each."""
    claims = await db.unanswered_claims(session, now - timedelta(days=settings.ar_no_response_days))
    totals = await db.totals_by_claim(session, [c.claim_id for c in claims])
    for claim in claims:
        work = unanswered(balances(totals[claim.claim_id]), settings.ar_no_response_days)
        await db.open_work(session, claim, work, now)
    return claims


async def timely_filing_alerts(session: AsyncSession, settings: ArSettings, now: datetime) -> int:
    """Claims the payer has not paid whose filing limit is near: resubmit or appeal before it passes."""
    today = now.date()
    claims = await db.claims_near_filing_limit(session, today + timedelta(days=settings.ar_timely_filing_alert_days))
    totals = await db.totals_by_claim(session, [c.claim_id for c in claims])
    count = 0
    for claim in claims:
        deadline = claim.filing_deadline  # never None here: the query selects claims by it
        work = timely_filing(balances(totals[claim.claim_id]), claim.denied, deadline, today) if deadline else None
        if work is not None:
            await db.open_work(session, claim, work, now)
            count += 1
    return count


async def run_cycle(
    sessions: async_sessionmaker[AsyncSession], deps: Deps, now: datetime | None = None
) -> dict[str, Any]:
    settings, desk = deps.settings, deps.status_desk
    now = now or settings.now()
    async with sessions() as session, session.begin():
        answers = await desk.read_answers(session, now)
        waiting = await no_response(session, settings, now)
        alerts = await timely_filing_alerts(session, settings, now)
        statements = await issue_statements(session, statements_folder(settings), now)
        requests = await desk.request(session, waiting, now)
        for_patient = await db.awaiting_coverage_age(session)
    metrics.show_waiting("payment_for_patient", *for_patient)  # a paid claim whose patient never registered
    desk.file_away(answers)  # after the commit: a rolled-back cycle reads them again
    await desk.write_pending(sessions, now)  # and 276s only for committed requests
    return {
        "as_of": now.isoformat(),
        "no_response": len(waiting),
        "status_requests": requests,
        "status_answers": len(answers),
        "timely_filing_alerts": alerts,
        "statements": len(statements),
    }
