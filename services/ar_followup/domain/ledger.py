"""The claim ledger. Every amount lands in exactly one kind of entry; a claim's balances are sums:
charge = paid + adjusted + patient responsibility + insurance balance. Pure: no I/O."""

from dataclasses import dataclass
from decimal import Decimal

from shared.contracts.events import PaymentPostedV1

ZERO = Decimal("0.00")
INSURANCE_REDUCERS = ("payment", "contractual", "other_adjustment")
PATIENT_KINDS = ("deductible", "coinsurance", "copay", "other_patient")


def posting_entries(posting: PaymentPostedV1) -> list[tuple[str, Decimal]]:
    amounts = posting.amounts
    entries = [
        ("payment", amounts.paid),
        ("contractual", amounts.contractual),
        ("other_adjustment", amounts.other_adjustments),
        ("deductible", amounts.deductible),
        ("coinsurance", amounts.coinsurance),
        ("copay", amounts.copay),
        ("other_patient", amounts.other_patient_responsibility),
    ]
    return [(kind, amount) for kind, amount in entries if amount != ZERO]


@dataclass(frozen=True)
class Balances:
    charge: Decimal
    paid: Decimal
    adjusted: Decimal
    patient_responsibility: Decimal
    insurance_balance: Decimal  # what insurance has neither paid nor adjusted nor passed to the patient


def balances(totals: dict[str, Decimal]) -> Balances:
    def get(kind: str) -> Decimal:
        return totals.get(kind, ZERO)

    charge, paid = get("charge"), get("payment")
    adjusted = get("contractual") + get("other_adjustment")
    patient = sum((get(k) for k in PATIENT_KINDS), ZERO)
    return Balances(charge, paid, adjusted, patient, charge - paid - adjusted - patient)


def status(submitted: bool, adjudicated: bool, denied: bool, balance: Balances) -> str:
    if not submitted:
        return "awaiting_claim"  # a payment arrived before the claim event
    if not adjudicated:
        return "open"
    if denied:
        return "denied"
    if balance.insurance_balance < ZERO:
        return "overpaid"  # more came off the charge than it was: a refund or a reversal is due
    return "paid" if balance.insurance_balance == ZERO else "partially_paid"
