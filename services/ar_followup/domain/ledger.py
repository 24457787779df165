"""The claim ledger. Every amount lands in exactly one kind of entry; a claim's balances are sums:
charge = paid + adjusted + patient responsibility + insurance balance, and the patient's part is
patient responsibility - patient payments - patient write-offs. Pure: no I/O."""

from dataclasses import dataclass
from decimal import Decimal

from services.ar_followup.domain.denials import ROUTINE
from shared.contracts.events import PaymentPostedV1

ZERO = Decimal("0.00")
INSURANCE_REDUCERS = ("payment", "contractual", "other_adjustment")
PATIENT_KINDS = ("deductible", "coinsurance", "copay", "other_patient")
# A/R's own entries: approved write-offs (insurance side), the reversal of a denial's write-off when
# the claim is corrected or appealed, what a secondary payer adjusted, and the patient's side.
ADJUSTMENT_KINDS = ("contractual", "other_adjustment", "write_off", "denial_reversal", "secondary_adjustment")
PARTIES = ("primary", "secondary", "patient")


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


def patient_parts(posting: PaymentPostedV1) -> dict[str, Decimal]:
    amounts = posting.amounts
    return {
        "deductible": amounts.deductible,
        "coinsurance": amounts.coinsurance,
        "copay": amounts.copay,
        "other_patient": amounts.other_patient_responsibility,
    }


def secondary_entries(posting: PaymentPostedV1, primary_patient: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
    """A secondary payer's posting against what the primary left to the patient: its payment, the
    patient's new responsibility in place of the primary's, and the rest adjusted by the secondary."""
    owed_before = sum(primary_patient.values(), ZERO)
    after = patient_parts(posting)
    entries = [("payment", posting.amounts.paid)]
    entries += [(kind, after[kind] - primary_patient.get(kind, ZERO)) for kind in PATIENT_KINDS]
    entries.append(("secondary_adjustment", owed_before - posting.amounts.paid - sum(after.values(), ZERO)))
    return [(kind, amount) for kind, amount in entries if amount != ZERO]


def reopened_denial_reversed(posting: PaymentPostedV1, reopened: Decimal) -> Decimal:
    """What of a payer's reversal (CLP02 22) A/R has already booked itself. When A/R reopened a denial
    for a correction or an appeal it undid the denial's write-off (denial_reversal entries, `reopened`
    their total, negative); the payer's reversal of that denial undoes the same write-off again. The
    returned amount cancels A/R's entry up to the refusal the payer reversed, so it counts once."""
    if posting.outcome != "reversed" or reopened >= ZERO:
        return ZERO
    adjustments = [*posting.claim_adjustments, *(a for line in posting.lines for a in line.adjustments)]
    refusal_reversed = -sum(
        (
            a.amount
            for a in adjustments
            if a.group_code in ("CO", "OA", "PI") and a.reason_code not in ROUTINE and a.amount < ZERO
        ),
        ZERO,
    )
    return min(-reopened, refusal_reversed)


@dataclass(frozen=True)
class Balances:
    charge: Decimal
    paid: Decimal
    adjusted: Decimal
    patient_responsibility: Decimal
    insurance_balance: Decimal  # what insurance has neither paid nor adjusted nor passed to the patient
    patient_paid: Decimal = ZERO
    patient_written_off: Decimal = ZERO
    patient_balance: Decimal = ZERO  # what the patient still owes


def balances(totals: dict[str, Decimal]) -> Balances:
    def get(kind: str) -> Decimal:
        return totals.get(kind, ZERO)

    charge, paid = get("charge"), get("payment")
    adjusted = sum((get(k) for k in ADJUSTMENT_KINDS), ZERO)
    patient = sum((get(k) for k in PATIENT_KINDS), ZERO)
    patient_paid, patient_written_off = get("patient_payment"), get("patient_write_off")
    return Balances(
        charge,
        paid,
        adjusted,
        patient,
        charge - paid - adjusted - patient,
        patient_paid,
        patient_written_off,
        patient - patient_paid - patient_written_off,
    )


def by_party(balance: Balances, insurer: str, secondary_pending: bool) -> dict[str, Decimal]:
    """Who owes the open balance: the payer the claim is with (primary or secondary), and the
    patient's part, held by the secondary payer until it has adjudicated."""
    parties = dict.fromkeys(PARTIES, ZERO)
    parties[insurer] += balance.insurance_balance
    parties["secondary" if secondary_pending else "patient"] += balance.patient_balance
    return parties


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


def follow_on_role(kind: str, same_payer: bool) -> str:
    """The role of a claim whose money books onto an earlier claim's ledger: the next payer's claim
    (secondary), or the same payer's replacement."""
    return "secondary" if kind == "secondary" or not same_payer else "replacement"
