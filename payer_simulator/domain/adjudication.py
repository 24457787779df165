"""Pure claim adjudication: a claim, a contract and the member's deductible in; a payment out.

billed charge -> allowed (fee schedule, never above the charge) -> CO-45 for the rest;
of the allowed: PR-3 copay (office visits), else PR-1 deductible then PR-2 coinsurance;
paid = allowed - patient responsibility. Every line balances: charge = paid + adjustments.
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from payer_simulator.domain.contracts import Contract, DenialRule
from x12.claim import Claim, ServiceLine
from x12.remittance import ClaimPayment, ServicePayment

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


def denial_reason(patient_control_number: str, one_in: int = DENIAL_ONE_IN) -> str | None:
    """About one claim in `one_in` is denied, chosen by a stable hash so every run denies the same claims."""
    if not one_in:
        return None
    digest = int.from_bytes(hashlib.sha256(patient_control_number.encode()).digest()[:8], "big")
    if digest % one_in:
        return None
    return DENIAL_REASONS[digest // one_in % len(DENIAL_REASONS)]


def _breaks(rule: DenialRule, line: ServiceLine, claim: Claim, received: date | None) -> bool:
    if rule.codes and line.procedure_code not in rule.codes:
        return False
    checks = []
    if rule.without_prior_authorization:
        checks.append(claim.prior_authorization is None)
    if rule.unless_diagnosis_prefixes:
        pointed = [claim.diagnoses[p - 1] for p in line.diagnosis_pointers]
        checks.append(not any(d.startswith(rule.unless_diagnosis_prefixes) for d in pointed))
    if rule.bundled_with:
        checks.append(any(other.procedure_code in rule.bundled_with for other in claim.lines if other is not line))
    if rule.filed_after_days:
        checks.append(received is not None and (received - line.service_date).days > rule.filed_after_days)
    return all(checks)


def rule_denials(claim: Claim, contract: Contract, received: date | None) -> dict[int, str]:
    """line number -> the CARC of the first contract rule the line breaks."""
    denials = {}
    for line in claim.lines:
        if rule := next((r for r in contract.denial_rules if _breaks(r, line, claim, received)), None):
            denials[line.line_number] = rule.carc
    return denials


def adjudicate(
    claim: Claim,
    contract: Contract,
    deductible_met: Decimal,
    payer_claim_control_number: str,
    received: date | None = None,
) -> Adjudication:
    reason = denial_reason(claim.patient_control_number, contract.random_denial_one_in)
    # A bundled procedure is one line folded into the others; any other denial is the whole claim.
    bundled_line = claim.lines[-1] if reason == BUNDLED and len(claim.lines) > 1 else None
    whole_claim_denied = reason is not None and bundled_line is None
    by_rule = rule_denials(claim, contract, received)
    whole_claim_denied = whole_claim_denied or len(by_rule) == len(claim.lines)
    copay_due = True
    services = []
    for line in claim.lines:
        if whole_claim_denied or line is bundled_line or line.line_number in by_rule:
            services.append(_denied(line, by_rule.get(line.line_number, reason)))
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
        patient={  # as data, validated with the payment (as the lines' adjustments are, see _service)
            "last_name": claim.subscriber.last_name,
            "first_name": claim.subscriber.first_name,
            "member_id": claim.subscriber.member_id,
        },
        services=tuple(services),
    )
    return Adjudication(payment, deductible_met)


# A line's adjustments go to ServicePayment as data (group, reason, amount): pydantic validates them
# with the line in one call, which spares a Python __init__ per Adjustment (2% of answering a file).
AdjustmentData = dict[str, str | Decimal]


def _service(
    line: ServiceLine, paid: Decimal, adjustments: list[AdjustmentData], allowed: Decimal | None
) -> ServicePayment:
    return ServicePayment(
        procedure_qualifier=line.procedure_qualifier,
        procedure_code=line.procedure_code,
        modifiers=line.modifiers,
        charge=line.charge,
        paid=paid,
        units=line.units,
        service_date=line.service_date,
        adjustments=tuple(adjustments),
        control_number=line.control_number,
        allowed=allowed,
    )


def _denied(line: ServiceLine, reason: str) -> ServicePayment:
    adjustments: list[AdjustmentData] = (
        [{"group": "CO", "reason": reason, "amount": line.charge}] if line.charge else []
    )
    return _service(line, ZERO, adjustments, allowed=None)


def _priced(
    line: ServiceLine, contract: Contract, deductible_met: Decimal, copay_due: bool
) -> tuple[ServicePayment, Decimal, bool]:
    """The priced line, the deductible met after it, and whether it took the claim's copay."""
    # The fee schedule prices units; anesthesia minutes (SV103 MJ) are priced as a share of the charge.
    fee = contract.fee_schedule.get(line.procedure_code) if line.unit_basis == "UN" else None
    scheduled = fee * line.units if fee is not None else line.charge * contract.default_allowed_percent
    allowed = min(line.charge, cents(scheduled))
    copay = deductible = coinsurance = ZERO
    copay_taken = copay_due and line.procedure_code in OFFICE_VISITS and contract.office_visit_copay > 0
    if copay_taken:
        copay = min(contract.office_visit_copay, allowed)  # an office visit pays the copay instead
    else:
        deductible = min(allowed, max(ZERO, contract.annual_deductible - deductible_met))
        coinsurance = cents((allowed - deductible) * contract.coinsurance_rate)
    adjustments: list[AdjustmentData] = [
        {"group": group, "reason": reason, "amount": value}
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


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` split in proportion to `weights`, in cents; the rounding remainder goes to the last share."""
    whole = sum(weights, ZERO)
    if not weights:
        return []
    if not whole:
        return [ZERO] * (len(weights) - 1) + [total]
    shares = [cents(total * w / whole) for w in weights[:-1]]
    return shares + [total - sum(shares, ZERO)]


def _primary_patient_shares(claim: Claim) -> list[dict[str, Decimal]]:
    """Per line of the claim: what the primary payer left to the patient, by PR reason."""
    primary = next((o for o in claim.other_payers if o.responsibility == "P"), claim.other_payers[0])
    answered = {a.line_number: a for a in primary.lines}
    shares: list[dict[str, Decimal]] = [{} for _ in claim.lines]
    for i, line in enumerate(claim.lines):
        for adjustment in answered[line.line_number].adjustments if line.line_number in answered else ():
            if adjustment.group == "PR":
                shares[i][adjustment.reason] = shares[i].get(adjustment.reason, ZERO) + adjustment.amount
    unanswered = [i for i, line in enumerate(claim.lines) if line.line_number not in answered]
    claim_level: dict[str, Decimal] = {}
    for adjustment in primary.adjustments:
        if adjustment.group == "PR":
            claim_level[adjustment.reason] = claim_level.get(adjustment.reason, ZERO) + adjustment.amount
    targets = unanswered or list(range(len(claim.lines)))
    for reason, total in claim_level.items():  # claim-level CAS: spread over the lines by charge
        for i, share in zip(targets, allocate(total, [claim.lines[i].charge for i in targets])):
            shares[i][reason] = shares[i].get(reason, ZERO) + share
    return shares


def coordinate(
    claim: Claim,
    contract: Contract,
    deductible_met: Decimal,
    payer_claim_control_number: str,
    received: date | None = None,
) -> Adjudication:
    """A secondary claim (coordination of benefits): this payer pays what the primary left to the
    patient, never more than it would have paid as primary (its normal benefit, line by line). The
    rest of each line is OA-23 (the prior payer's adjudication) and the patient's remaining share."""
    normal = adjudicate(claim, contract, deductible_met, payer_claim_control_number, received)
    services = []
    for line, alone, owed in zip(claim.lines, normal.payment.services, _primary_patient_shares(claim)):
        left = sum(owed.values(), ZERO)
        paid = max(ZERO, min(alone.paid, left))
        remaining, to_cover = {}, paid
        for reason, value in owed.items():  # the payment covers the patient's shares in the primary's order
            covered = min(value, to_cover)
            to_cover -= covered
            remaining[reason] = value - covered
        adjustments: list[AdjustmentData] = (
            [{"group": "OA", "reason": "23", "amount": line.charge - left}] if line.charge != left else []
        )
        adjustments += [{"group": "PR", "reason": r, "amount": v} for r, v in remaining.items() if v]
        services.append(_service(line, paid, adjustments, alone.allowed))
    payment = normal.payment.model_copy(
        update={
            "status": "2",
            "paid": sum((s.paid for s in services), ZERO),
            "patient_responsibility": sum((a.amount for s in services for a in s.adjustments if a.group == "PR"), ZERO),
            "services": tuple(services),
        }
    )
    return Adjudication(payment, normal.deductible_met)


def reversal(payment: ClaimPayment) -> ClaimPayment:
    """CLP02 22: the payer takes back an earlier payment (before paying a replacement, or for a void):
    the same claim, its payer claim number and every amount negated, line by line."""

    def negated(adjustments):
        return tuple(a.model_copy(update={"amount": -a.amount}) for a in adjustments)

    services = tuple(
        s.model_copy(
            update={
                "charge": -s.charge,
                "paid": -s.paid,
                "adjustments": negated(s.adjustments),
                "allowed": -s.allowed if s.allowed is not None else None,
            }
        )
        for s in payment.services
    )
    return payment.model_copy(
        update={
            "status": "22",
            "charge": -payment.charge,
            "paid": -payment.paid,
            "patient_responsibility": -payment.patient_responsibility,
            "adjustments": negated(payment.adjustments),
            "services": services,
        }
    )


def deductible_taken(payment: ClaimPayment) -> Decimal:
    return sum(
        (a.amount for s in payment.services for a in s.adjustments if a.group == "PR" and a.reason == "1"), ZERO
    ) + sum((a.amount for a in payment.adjustments if a.group == "PR" and a.reason == "1"), ZERO)
