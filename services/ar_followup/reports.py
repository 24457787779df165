"""Read models over A/R's tables for the API and the KPI command: aging, KPI facts and the office's dashboard."""

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import db
from services.ar_followup.domain.aging import BUCKETS, OpenBalance, aging, bucket
from services.ar_followup.domain.denials import category
from services.ar_followup.domain.kpis import ClaimFacts, kpis
from services.ar_followup.domain.ledger import ADJUSTMENT_KINDS, balances, by_party

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


class Fresh:
    """The office's dashboard, computed at most once per `seconds` in a process: a page asking after that
    gets the last figures at once while one fresh computation runs behind it (stale-while-revalidate);
    only the first page after a start waits for it. Office-wide figures, the same for everyone who may
    read them: at 100,000 claims one computation takes seconds, a page must not."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._kept: dict[Hashable, tuple[float, dict]] = {}
        self._running: dict[Hashable, asyncio.Task[dict]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[dict]]) -> dict:
        kept = self._kept.get(key)
        if kept is not None and time.monotonic() - kept[0] < self.seconds:
            return kept[1]
        task = self._running.get(key)
        if task is None:
            task = self._running[key] = asyncio.create_task(self._compute(key, compute))
        return kept[1] if kept is not None else await asyncio.shield(task)

    async def _compute(self, key: Hashable, compute: Callable[[], Awaitable[dict]]) -> dict:
        try:
            figures = await compute()
            self._kept[key] = (time.monotonic(), figures)
            return figures
        finally:
            self._running.pop(key, None)


DASHBOARDS = Fresh(seconds=60.0)


def _months_back(today: date, count: int) -> list[date]:
    """The first days of the last `count` months, oldest first (this month last)."""
    months, first = [], today.replace(day=1)
    for _ in range(count):
        months.insert(0, first)
        first = (first - timedelta(days=1)).replace(day=1)
    return months


async def dashboard(session: AsyncSession, today: date, months: int) -> dict:
    """The office's figures for its home page, each from one set-wise query (no claim is loaded, so a
    hundred thousand claims cost what a hundred do): the KPIs of the last 90 days as domain/kpis.py
    defines them (GET /v1/kpis computes the same claim by claim), open A/R by age (days since the date of
    service: insurance and patient), the denial rate by CARC category, insurance and patient collections
    by payer per month, and days in A/R at each month's end (open A/R then / the average daily charges of
    the three months ending then)."""
    shown, start = _months_back(today, months), today - timedelta(days=89)
    aging_rows = await db.owed_by_service_date(session)
    ledger = await db.ledger_by_month(session, _months_back(today, months + 2)[0])
    adjudicated, denied = await db.denial_codes_of_period(session, start, today)
    return {
        "as_of": today.isoformat(),
        "computed_at": datetime.now(UTC).isoformat(),
        "kpis": await _kpis(session, start, today, sum(n for _, n in denied)),
        "aging": _aging_buckets(aging_rows, today),
        "denials": _denial_rates(adjudicated, denied),
        "collections": _collections(ledger, shown),
        "days_in_ar": _days_in_ar(ledger, shown, today),
    }


async def _kpis(session: AsyncSession, start: date, end: date, denied: int) -> dict:
    open_ar = await db.open_ar(session)
    claims, money = await db.period_claims(session, start, end), await db.period_money(session, start, end)
    charges, days = money.get("charge", ZERO), (end - start).days + 1
    paid = money.get("payment", ZERO) + money.get("patient_payment", ZERO)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat(), "claims": claims["claims"]},
        "open_ar": str(open_ar),
        "days_in_ar": str((open_ar / (charges / days)).quantize(Decimal("0.1"))) if charges else None,
        "clean_claim_rate": _percent(claims["claims"] - claims["rejected"], claims["claims"]),
        "first_pass_resolution_rate": _percent(claims["first_pass"], claims["adjudicated"]),
        "denial_rate": _percent(denied, claims["adjudicated"]),
        "net_collection_rate": _percent(paid, charges - money.get("contractual", ZERO)),
    }


def _aging_buckets(rows: list[tuple[date, Decimal, Decimal]], today: date) -> list[dict]:
    sums = {name: [ZERO, ZERO] for name in BUCKETS}
    for day, insurance, patient in rows:
        name = bucket(max(0, (today - day).days)) if day else BUCKETS[-1]
        sums[name][0] += insurance
        sums[name][1] += patient
    return [{"bucket": name, "insurance": str(i), "patient": str(p)} for name, (i, p) in sums.items()]


def _denial_rates(adjudicated: int, denied: list[tuple[list, int]]) -> dict:
    by_category: dict[str, int] = defaultdict(int)
    for codes, count in denied:
        for name in {category(code) for code in codes}:
            by_category[name] += count
    rate = {name: _percent(n, adjudicated) for name, n in sorted(by_category.items(), key=lambda kv: -kv[1])}
    return {"adjudicated": adjudicated, "denied": sum(n for _, n in denied), "by_category": rate}


def _percent(part: int | Decimal, whole: int | Decimal) -> str | None:
    """As domain/kpis.py rounds a rate: one decimal, half up."""
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)) if whole else None


def _collections(ledger: list[tuple[date, str | None, str, Decimal]], shown: list[date]) -> dict:
    """Money in per month: each payer's payments, and the patients' as one more series."""
    series: dict[str, dict[date, Decimal]] = defaultdict(lambda: dict.fromkeys(shown, ZERO))
    for month, payer, kind, amount in ledger:
        if month in shown and kind in ("payment", "patient_payment"):
            name = "patients" if kind == "patient_payment" else payer or "?"
            series[name][month] += amount
    return {"months": [m.isoformat() for m in shown],
            "series": {name: [str(v) for v in by_month.values()] for name, by_month in sorted(series.items())}}  # fmt: skip


def _days_in_ar(ledger: list[tuple[date, str | None, str, Decimal]], shown: list[date], today: date) -> list[dict]:
    booked: dict[date, Decimal] = defaultdict(lambda: ZERO)  # what each month added to open A/R
    charged: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for month, _, kind, amount in ledger:
        booked[month] += _owed(kind) * amount
        if kind == "charge":
            charged[month] += amount
    points, months = [], sorted(booked)
    for end in shown:
        open_ar = sum((booked[m] for m in months if m <= end), ZERO)
        window = _months_back(end, 3)
        last_day = min(today, (end + timedelta(days=32)).replace(day=1) - timedelta(days=1))
        days = (last_day - window[0]).days + 1
        charges = sum((charged[m] for m in window), ZERO)
        value = (open_ar / (charges / days)).quantize(Decimal("0.1")) if charges > 0 else None
        points.append({"month": end.isoformat(), "open_ar": str(open_ar), "days_in_ar": str(value) if value else None})
    return points


def _owed(kind: str) -> int:
    """How an entry of this kind moves what is owed (insurance and patient together): +1, -1 or 0."""
    if kind == "charge":
        return 1
    if kind in ("payment", "patient_payment", "patient_write_off", *ADJUSTMENT_KINDS):
        return -1
    return 0  # the patient's part moves from insurance to the patient: owed all the same
