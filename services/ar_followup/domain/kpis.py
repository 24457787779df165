"""Revenue-cycle KPIs over a period, from one row of facts per claim. Pure.

- days in A/R: open A/R / average daily charges of the period
- % of A/R over 90 days (by date of service)
- clean claim rate: claims of the period never rejected by the clearinghouse or payer front end
- first-pass resolution rate: adjudicated claims paid on their first adjudication, no denial
- denial rate, and by CARC: claims denied (in whole or part) / adjudicated claims
- net collection rate: payments / (charges - contractual adjustments)
- average days to pay, by payer: submission to the first payment date
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ClaimFacts:
    payer_id: str
    date_of_service: date
    submitted_on: date
    charge: Decimal
    paid: Decimal  # by every payer and the patient
    contractual: Decimal
    open_balance: Decimal  # insurance + patient, as of now
    adjudicated: bool
    rejected: bool
    first_pass_paid: bool  # the first adjudication paid without a denial
    denial_codes: tuple[str, ...]
    first_paid_on: date | None


def _rate(part: int | Decimal, whole: int | Decimal) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def kpis(claims: list[ClaimFacts], start: date, end: date, today: date) -> dict[str, Any]:
    """`claims`: every claim with a balance or submitted in the period; the period is [start, end]."""
    period = [c for c in claims if start <= c.submitted_on <= end]
    days = (end - start).days + 1
    open_ar = sum((c.open_balance for c in claims), ZERO)
    over_90 = sum((c.open_balance for c in claims if (today - c.date_of_service).days > 90), ZERO)
    charges = sum((c.charge for c in period), ZERO)
    adjudicated = [c for c in period if c.adjudicated]
    denied = [c for c in adjudicated if c.denial_codes]
    by_reason = Counter(code for c in denied for code in c.denial_codes)
    to_pay: dict[str, list[int]] = defaultdict(list)
    for c in period:
        if c.first_paid_on is not None:
            to_pay[c.payer_id].append((c.first_paid_on - c.submitted_on).days)
    collectible = charges - sum((c.contractual for c in period), ZERO)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat(), "claims": len(period)},
        "open_ar": str(open_ar),
        "days_in_ar": str((open_ar / (charges / days)).quantize(Decimal("0.1"))) if charges else None,
        "ar_over_90_percent": _rate(over_90, open_ar),
        "clean_claim_rate": _rate(sum(1 for c in period if not c.rejected), len(period)),
        "first_pass_resolution_rate": _rate(sum(1 for c in adjudicated if c.first_pass_paid), len(adjudicated)),
        "denial_rate": _rate(len(denied), len(adjudicated)),
        "denial_rate_by_reason": {code: _rate(n, len(adjudicated)) for code, n in sorted(by_reason.items())},
        "net_collection_rate": _rate(sum((c.paid for c in period), ZERO), collectible),
        "average_days_to_pay": {
            payer: str((Decimal(sum(d)) / len(d)).quantize(Decimal("0.1"))) for payer, d in sorted(to_pay.items())
        },
    }
