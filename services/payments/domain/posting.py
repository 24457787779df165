"""Turns one 835 claim payment into a posting: amounts by category, lines matched to our claim
lines, and the checks that every cent is accounted for. Pure: no I/O."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.contracts.events import Adjustment, AmountsByCategory, PaymentPostedV1, PostedLine
from x12.remittance import Adjustment as X12Adjustment
from x12.remittance import ClaimPayment, Remittance

ZERO = Decimal("0.00")
POSTING_NAMESPACE = uuid.UUID("0b9f6a5c-3f2e-4c1d-9e8a-7d6c5b4a3f21")


class PostingError(ValueError):
    """The remittance does not add up: nothing of it may be posted."""


@dataclass(frozen=True)
class KnownClaim:
    claim_id: uuid.UUID
    payer_id: str
    payer_name: str
    date_of_service: object
    line_numbers: frozenset[int]


def posting_id(remittance: Remittance, payment: ClaimPayment) -> uuid.UUID:
    """The same payment of the same claim on the same check is one posting, however often it arrives."""
    key = "|".join((remittance.payer.id, remittance.payment.trace_number, payment.patient_control_number,
                    payment.payer_claim_control_number, payment.status, f"{payment.paid:.2f}"))
    return uuid.uuid5(POSTING_NAMESPACE, key)


def categorize(adjustments: list[X12Adjustment], charge: Decimal, paid: Decimal) -> AmountsByCategory:
    totals = dict.fromkeys(("contractual", "deductible", "coinsurance", "copay", "other_pr", "other"), ZERO)
    for adjustment in adjustments:
        if adjustment.group == "CO":
            totals["contractual"] += adjustment.amount
        elif adjustment.group == "PR":
            kind = {"1": "deductible", "2": "coinsurance", "3": "copay"}.get(adjustment.reason, "other_pr")
            totals[kind] += adjustment.amount
        else:
            totals["other"] += adjustment.amount
    return AmountsByCategory(
        charge=charge, paid=paid, contractual=totals["contractual"], deductible=totals["deductible"],
        coinsurance=totals["coinsurance"], copay=totals["copay"],
        other_patient_responsibility=totals["other_pr"], other_adjustments=totals["other"],
    )


def _contract(adjustments) -> list[Adjustment]:
    return [Adjustment(group_code=a.group, reason_code=a.reason, amount=a.amount) for a in adjustments]


def build_posting(remittance: Remittance, payment: ClaimPayment, claim: KnownClaim, now: datetime) -> PaymentPostedV1:
    every_adjustment = list(payment.adjustments) + [a for s in payment.services for a in s.adjustments]
    if payment.charge != payment.paid + sum((a.amount for a in every_adjustment), ZERO):
        raise PostingError("claim does not balance: charge != paid + adjustments")
    lines = []
    for service in payment.services:
        if service.charge != service.paid + sum((a.amount for a in service.adjustments), ZERO):
            raise PostingError("service line does not balance: charge != paid + adjustments")
        number = int(service.control_number) if (service.control_number or "").isdigit() else None
        lines.append(PostedLine(
            line_number=number if number in claim.line_numbers else None,
            procedure_code=service.procedure_code,
            modifiers=list(service.modifiers),
            charge=service.charge,
            paid=service.paid,
            adjustments=_contract(service.adjustments),
        ))
    return PaymentPostedV1(
        posting_id=posting_id(remittance, payment),
        claim_id=claim.claim_id,
        payer_id=claim.payer_id,
        payer_name=claim.payer_name,
        claim_status_code=payment.status,
        denied=payment.status == "4",
        payer_claim_control_number=payment.payer_claim_control_number,
        payment_method=remittance.payment.method,
        check_or_eft_number=remittance.payment.trace_number,
        payment_date=remittance.payment.date,
        date_of_service=claim.date_of_service,
        amounts=categorize(every_adjustment, payment.charge, payment.paid),
        claim_adjustments=_contract(payment.adjustments),
        lines=lines,
        carc_codes=sorted({a.reason for a in every_adjustment}),
        posted_at=now,
    )
