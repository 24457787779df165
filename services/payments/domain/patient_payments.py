"""Patient payments: applying money to a patient's open claim balances, and refunds. Pure: no I/O."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

ZERO = Decimal("0.00")


class PatientPaymentError(ValueError):
    """The request cannot be honoured as asked (the message names the field, never patient data)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class OpenBalance:
    claim_id: UUID
    date_of_service: date
    balance: Decimal  # patient responsibility still unpaid


def apply_payment(
    amount: Decimal, balances: list[OpenBalance], claim_id: UUID | None = None
) -> list[tuple[UUID, Decimal]]:
    """Split a payment over open balances: to the chosen claim only, or oldest date of service first.
    What is left over stays with the patient as credit (the caller's `amount - sum(applied)`)."""
    if claim_id is not None:
        chosen = [b for b in balances if b.claim_id == claim_id]
        if not chosen:
            raise PatientPaymentError("claim_id", "not an open claim of this patient")
        balances = chosen
    applied, left = [], amount
    for open_balance in sorted(balances, key=lambda b: (b.date_of_service, str(b.claim_id))):
        if left <= ZERO:
            break
        part = min(left, open_balance.balance)
        if part > ZERO:
            applied.append((open_balance.claim_id, part))
            left -= part
    return applied


def plan_refund(
    amount: Decimal, refundable: Decimal, credit: Decimal, applied: list[tuple[UUID, Decimal]]
) -> list[tuple[UUID, Decimal]]:
    """A refund of `amount` from one payment: first from its unapplied credit, then taken back from
    the claims it paid, latest application first. Returns the (negative) applications to record."""
    if amount > refundable:
        raise PatientPaymentError("amount", "more than what is left of the payment to refund")
    left = amount - min(amount, credit)
    taken = []
    for claim_id, part in reversed(applied):
        if left <= ZERO:
            break
        back = min(left, part)
        if back > ZERO:
            taken.append((claim_id, -back))
            left -= back
    return taken


def refundable_and_credit(
    amount: Decimal, refunded: Decimal, net_applied: list[tuple[UUID, Decimal]]
) -> tuple[Decimal, Decimal, list[tuple[UUID, Decimal]]]:
    """(refundable, unapplied credit, what is still applied per claim) of a payment of `amount`,
    given what was refunded of it (negative) and its money per claim net of refunds."""
    applied = [(claim_id, part) for claim_id, part in net_applied if part > 0]
    refundable = amount + refunded
    return refundable, refundable - sum((part for _, part in applied), ZERO), applied
