"""A/R aging: open balances in buckets of days since the date of service or since submission. Pure."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")
BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")


def bucket(days: int) -> str:
    for limit, name in ((30, "0-30"), (60, "31-60"), (90, "61-90"), (120, "91-120")):
        if days <= limit:
            return name
    return "120+"


@dataclass(frozen=True)
class OpenBalance:
    group: str  # the payer id, or the patient id, the report is grouped by
    since: date  # date of service or submission date
    amount: Decimal


def aging(balances: Iterable[OpenBalance], today: date) -> dict[str, dict[str, str]]:
    """{group: {bucket: amount, ..., "total": amount}}, amounts as 2-place strings; zero balances skipped."""
    report: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys((*BUCKETS, "total"), ZERO))
    for item in balances:
        if item.amount == ZERO:
            continue
        row = report[item.group]
        row[bucket(max(0, (today - item.since).days))] += item.amount
        row["total"] += item.amount
    return {group: {k: str(v) for k, v in row.items()} for group, row in sorted(report.items())}
