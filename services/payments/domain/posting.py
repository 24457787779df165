"""Turns one 835 claim payment into a posting: amounts by category, lines matched to our claim
lines, and the checks that every cent is accounted for. Pure: no I/O."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.contracts.events import Adjustment, AmountsByCategory, PaymentPostedV1, PostedLine
from x12.remittance import Adjustment as X12Adjustment
from x12.remittance import ClaimPayment, Remittance, ServicePayment

ZERO = Decimal("0.00")
POSTING_NAMESPACE = uuid.UUID("0b9f6a5c-3f2e-4c1d-9e8a-7d6c5b4a3f21")


class PostingError(ValueError):
    """The remittance does not add up: nothing of it may be posted."""


@dataclass(frozen=True)
class ClaimLine:
    number: int
    procedure_code: str
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownClaim:
    claim_id: uuid.UUID
    payer_id: str
    payer_name: str
    date_of_service: object
    line_numbers: frozenset[int]
    lines: tuple[ClaimLine, ...] = ()  # for payers that drop REF*6R


OUTCOMES = {"4": "denied", "22": "reversed", "23": "not_our_claim", "25": "predetermination"}
FORWARDED = {"19", "20", "21", "23"}


def posting_id(remittance: Remittance, payment: ClaimPayment) -> uuid.UUID:
    """The same payment of the same claim on the same check is one posting, however often it arrives."""
    key = "|".join(
        (
            remittance.payer.id,
            remittance.payment.trace_number,
            payment.patient_control_number,
            payment.payer_claim_control_number,
            payment.status,
            f"{payment.paid:.2f}",
        )
    )
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
        charge=charge,
        paid=paid,
        contractual=totals["contractual"],
        deductible=totals["deductible"],
        coinsurance=totals["coinsurance"],
        copay=totals["copay"],
        other_patient_responsibility=totals["other_pr"],
        other_adjustments=totals["other"],
    )


def patient_share(payment: ClaimPayment) -> Decimal:
    """What the payer says the patient owes on this claim payment: its PR adjustments."""
    adjustments = list(payment.adjustments) + [a for s in payment.services for a in s.adjustments]
    return sum((a.amount for a in adjustments if a.group == "PR"), ZERO)


def match_line(service: ServicePayment, claim: KnownClaim) -> int | None:
    """Our line for a payer's line: by REF*6R; failing that by the billed code (SVC06, else SVC01)
    with its modifiers, then by the code alone when only one of our lines has it."""
    number = int(service.control_number) if (service.control_number or "").isdigit() else None
    if number in claim.line_numbers:
        return number
    code = service.original_procedure_code or service.procedure_code
    modifiers = service.original_modifiers if service.original_procedure_code else service.modifiers
    exact = [line.number for line in claim.lines if (line.procedure_code, line.modifiers) == (code, tuple(modifiers))]
    same_code = [line.number for line in claim.lines if line.procedure_code == code]
    for candidates in (exact, same_code):
        if len(candidates) == 1:
            return candidates[0]
    return None


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
        lines.append(
            PostedLine(
                line_number=match_line(service, claim),
                procedure_code=service.procedure_code,
                modifiers=list(service.modifiers),
                charge=service.charge,
                paid=service.paid,
                adjustments=_contract(service.adjustments),
                remark_codes=list(service.remark_codes),
                billed_procedure_code=service.original_procedure_code,
                service_date=service.service_date,
            )
        )
    remarks = {*payment.remark_codes, *(r for s in payment.services for r in s.remark_codes)}
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
        rarc_codes=sorted(remarks),
        posted_at=now,
        outcome=OUTCOMES.get(payment.status, "paid"),
        forwarded_to_another_payer=payment.status in FORWARDED,
        claim_frequency_code=payment.frequency_code,
        statement_from=payment.statement_from,
        statement_to=payment.statement_to,
        received_by_payer=payment.received_date,
        unmatched_lines=sum(1 for line in lines if line.line_number is None),
    )
