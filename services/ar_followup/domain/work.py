"""The typed work queue: what kind of follow-up an open dollar needs, by when, and how urgent it is.
Timely-filing deadlines and underpayments against the practice's contracted rates. Pure."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from services.ar_followup.domain.denials import ROUTINE
from services.ar_followup.domain.ledger import Balances
from shared.contracts.events import AckReason, PaymentPostedV1

ZERO = Decimal("0.00")
KINDS = ("no_response", "rejection", "denial", "secondary", "underpayment", "timely_filing")
# Who works each kind unless someone takes an item: every open dollar has an owner.
OWNERS = {
    "no_response": "claims-follow-up",
    "rejection": "billing",
    "denial": "denials",
    "secondary": "billing",
    "underpayment": "contracts",
    "timely_filing": "claims-follow-up",
}
DEFAULT_TIMELY_FILING_DAYS = 90


@dataclass(frozen=True)
class NewWork:
    """A work item to open on a claim, unless one of its kind is open there already."""

    kind: str
    amount: Decimal  # the money the follow-up is about
    action: str = "review"
    reason: str = ""
    category: str | None = None  # a denial's CARC category


def filing_deadline(date_of_service: date, timely_filing_days: int | None) -> date:
    return date_of_service + timedelta(days=timely_filing_days or DEFAULT_TIMELY_FILING_DAYS)


def urgency(due: date | None, today: date) -> int:
    """3 within a week of the deadline (or past it), 2 within a month, else 1."""
    if due is None:
        return 1
    days = (due - today).days
    return 3 if days <= 7 else 2 if days <= 30 else 1


def priority(amount: Decimal, due: date | None, today: date) -> Decimal:
    """Money weighted by the deadline: a $40 claim a week from its filing limit before a $100 one with months left."""
    return amount * urgency(due, today)


def no_response(submitted_on: date, today: date, after_days: int) -> bool:
    return (today - submitted_on).days >= after_days


def allowed_by_line(posting: PaymentPostedV1) -> list[tuple[str, int, Decimal]]:
    """(procedure code, line number, what the payer allowed) for each paid line: charge less the routine CO cuts."""
    result = []
    for line in posting.lines:
        cuts = sum((a.amount for a in line.adjustments if a.group_code == "CO" and a.reason_code in ROUTINE), ZERO)
        denied = any(a.group_code == "CO" and a.reason_code not in ROUTINE for a in line.adjustments)
        if not denied and line.line_number is not None:
            result.append((line.procedure_code, line.line_number, line.charge - cuts))
    return result


def underpayment(posting: PaymentPostedV1, expected: dict[str, Decimal], tolerance: Decimal) -> Decimal:
    """How much less than the contract the payer allowed over the claim's lines (0 if none or unknown)."""
    if posting.denied or not expected:
        return ZERO
    short = ZERO
    for code, _, allowed in allowed_by_line(posting):
        contracted = expected.get(code)
        if contracted is not None and contracted - allowed > tolerance:
            short += contracted - allowed
    return short


def rejection(source: str, reasons: list[AckReason], charge: Decimal) -> NewWork:
    """A claim the clearinghouse (999) or the payer's front end (277CA) rejected: correct and resend it."""
    why = "; ".join(f"{r.code} {r.segment or ''}".strip() for r in reasons) or "rejected"
    return NewWork("rejection", charge, "correct", f"{source}: {why}")


def unanswered(balance: Balances, after_days: int) -> NewWork:
    """A claim with no answer long after submission: ask the payer for its status (276)."""
    return NewWork(
        "no_response", balance.insurance_balance, "status_request", f"no answer {after_days}+ days after submission"
    )


def timely_filing(balance: Balances, denied: bool, deadline: date, today: date) -> NewWork | None:
    """A claim near (or past) its filing limit with money still at stake: resubmit or appeal in time,
    or write it off once the limit has passed. A denied claim's stake is what the denial wrote off."""
    at_stake = (
        balance.insurance_balance if not denied else balance.charge - balance.paid - balance.patient_responsibility
    )
    if at_stake <= ZERO:
        return None
    passed = deadline < today
    return NewWork(
        "timely_filing",
        at_stake,
        "write_off" if passed else "resubmit",
        f"filing limit {'passed' if passed else 'on'} {deadline.isoformat()}",
    )
