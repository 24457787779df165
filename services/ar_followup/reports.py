"""Read models over A/R's tables for the API and the KPI command: aging and KPI facts."""

from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import db
from services.ar_followup.domain.aging import OpenBalance, aging
from services.ar_followup.domain.kpis import ClaimFacts, kpis
from services.ar_followup.domain.ledger import balances, by_party

ZERO = Decimal("0.00")


def parties(claim: db.ArClaim, totals: dict[str, Decimal]) -> dict[str, Decimal]:
    return by_party(balances(totals), "primary", claim.secondary_pending)


async def aging_report(session: AsyncSession, by: str, basis: str, today: date) -> dict:
    items = []
    for claim, totals in await db.ledgers(session):
        since = claim.date_of_service if basis == "service" else claim.submitted_at.date()
        owed = parties(claim, totals)
        if by == "payer":
            items.append(OpenBalance(claim.payer_id or "?", since, owed["primary"]))
            if owed["secondary"]:
                items.append(OpenBalance(claim.secondary_payer_id or "secondary", since, owed["secondary"]))
        else:
            items.append(OpenBalance(str(claim.patient_id), since, owed["patient"]))
    return aging(items, today)


async def kpi_report(session: AsyncSession, start: date, end: date, today: date) -> dict:
    facts = []
    for claim, totals in await db.ledgers(session):
        balance = balances(totals)
        facts.append(
            ClaimFacts(
                payer_id=claim.payer_id or "?",
                date_of_service=claim.date_of_service,
                submitted_on=claim.submitted_at.date(),
                charge=balance.charge,
                paid=balance.paid + balance.patient_paid,
                contractual=totals.get("contractual", ZERO),
                open_balance=max(balance.insurance_balance, ZERO) + balance.patient_balance,
                adjudicated=claim.first_pass_paid is not None,
                rejected=claim.rejected,
                first_pass_paid=bool(claim.first_pass_paid),
                denial_codes=tuple(claim.denial_codes),
                first_paid_on=claim.first_paid_on,
            )
        )
    return kpis(facts, start, end, today)
