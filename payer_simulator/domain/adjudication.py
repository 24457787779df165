"""Pure claim adjudication: a claim, a contract and the member's deductible in; a payment out.

billed charge -> allowed (fee schedule, never above the charge) -> CO-45 for the rest;
of the allowed: PR-3 copay (office visits), else PR-1 deductible then PR-2 coinsurance;
paid = allowed - patient responsibility. Every line balances: charge = paid + adjustments.
"""

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from payer_simulator.domain.contracts import Contract
from x12.claim import Claim, ServiceLine
from x12.remittance import Adjustment, ClaimPayment, Patient, ServicePayment

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
OFFICE_VISITS = frozenset(f"992{n:02d}" for n in range(2, 16))  # 99202-99215
DENIAL_ONE_IN = 15
# CARC codes for the occasional denial: missing information, not medically necessary, bundled, timely filing
DENIAL_REASONS = ("16", "50", "97", "29")
BUNDLED = "97"


@dataclass(frozen=True)
class Adjudication:
    payment: ClaimPayment
    deductible_met: Decimal  # the member's accumulator after this claim


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def denial_reason(patient_control_number: str) -> str | None:
    """About one claim in 15 is denied, chosen by a stable hash so every run denies the same claims."""
    digest = int.from_bytes(hashlib.sha256(patient_control_number.encode()).digest()[:8], "big")
    if digest % DENIAL_ONE_IN:
        return None
    return DENIAL_REASONS[digest // DENIAL_ONE_IN % len(DENIAL_REASONS)]


def adjudicate(claim: Claim, contract: Contract, deductible_met: Decimal, payer_claim_control_number: str) -> Adjudication:
    reason = denial_reason(claim.patient_control_number)
    # A bundled procedure is one line folded into the others; any other denial is the whole claim.
    bundled_line = claim.lines[-1] if reason == BUNDLED and len(claim.lines) > 1 else None
    whole_claim_denied = reason is not None and bundled_line is None
    copay_due = True
    services = []
    for line in claim.lines:
        if whole_claim_denied or line is bundled_line:
            services.append(_denied(line, reason))
            continue
        service, deductible_met, copay_taken = _priced(line, contract, deductible_met, copay_due)
        copay_due = copay_due and not copay_taken
        services.append(service)
    payment = ClaimPayment(
        patient_control_number=claim.patient_control_number,
        status="4" if whole_claim_denied else "1",
        charge=claim.total_charge,
        paid=sum((s.paid for s in services), ZERO),
        patient_responsibility=sum((a.amount for s in services for a in s.adjustments if a.group == "PR"), ZERO),
        claim_filing_indicator=contract.claim_filing_indicator,
        payer_claim_control_number=payer_claim_control_number,
        place_of_service=claim.place_of_service,
        frequency_code=claim.frequency_code,
        patient=Patient(last_name=claim.subscriber.last_name, first_name=claim.subscriber.first_name,
                        member_id=claim.subscriber.member_id),
        services=tuple(services),
    )
    return Adjudication(payment, deductible_met)


def _service(line: ServiceLine, paid: Decimal, adjustments: list[Adjustment], allowed: Decimal | None) -> ServicePayment:
    return ServicePayment(
        procedure_code=line.procedure_code, modifiers=line.modifiers, charge=line.charge, paid=paid,
        units=line.units, service_date=line.service_date, adjustments=tuple(adjustments),
        control_number=line.control_number, allowed=allowed,
    )


def _denied(line: ServiceLine, reason: str) -> ServicePayment:
    adjustments = [Adjustment(group="CO", reason=reason, amount=line.charge)] if line.charge else []
    return _service(line, ZERO, adjustments, allowed=None)


def _priced(
    line: ServiceLine, contract: Contract, deductible_met: Decimal, copay_due: bool
) -> tuple[ServicePayment, Decimal, bool]:
    """The priced line, the deductible met after it, and whether it took the claim's copay."""
    fee = contract.fee_schedule.get(line.procedure_code)
    scheduled = fee * line.units if fee is not None else line.charge * contract.default_allowed_percent
    allowed = min(line.charge, cents(scheduled))
    copay = deductible = coinsurance = ZERO
    copay_taken = copay_due and line.procedure_code in OFFICE_VISITS and contract.office_visit_copay > 0
    if copay_taken:
        copay = min(contract.office_visit_copay, allowed)  # an office visit pays the copay instead
    else:
        deductible = min(allowed, max(ZERO, contract.annual_deductible - deductible_met))
        coinsurance = cents((allowed - deductible) * contract.coinsurance_rate)
    adjustments = [
        Adjustment(group=group, reason=reason, amount=value)
        for group, reason, value in (
            ("CO", "45", line.charge - allowed),
            ("PR", "1", deductible),
            ("PR", "2", coinsurance),
            ("PR", "3", copay),
        )
        if value
    ]
    paid = allowed - deductible - coinsurance - copay
    return _service(line, paid, adjustments, allowed), deductible_met + deductible, copay_taken
