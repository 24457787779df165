"""From a parsed 837P to the payer's answers: a 277CA per payer (each claim accepted into
adjudication or rejected by the front end) and an 835 per payer for the accepted claims.

One 835 interchange per payer; inside it, one transaction set per billing provider (payee). A
secondary claim (SBR01 S/T with the primary's payment in loop 2320) is paid by coordination of benefits.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from payer_simulator.domain.adjudication import adjudicate, coordinate, deductible_taken, reversal
from payer_simulator.domain.contracts import Contract
from payer_simulator.store import AccumulatorKey
from x12.claim import Claim, Interchange837
from x12.remittance import ClaimPayment, Interchange835, Payee, Payment, ProviderAdjustment, Remittance
from x12.x277 import ClaimAcknowledgment, ClaimStatus, ProviderStatuses, render_277ca
from x12.x835 import render_835

FrontEndStatus = tuple[str, str, str | None]  # STC01: category, status code, entity in error


@dataclass(frozen=True)
class Pended:
    """A claim the payer accepted and sits on (a pended member): no 835 for it."""

    patient_control_number: str
    payer_claim_control_number: str
    charge: Decimal


@dataclass(frozen=True)
class Remittances:
    by_payer: dict[str, str]  # payer id -> 835 text
    deductibles: dict[AccumulatorKey, Decimal]  # the accumulators after this interchange
    claims: int
    paid: Decimal
    acknowledgments: dict[str, str]  # payer id -> 277CA text
    rejected: int  # claims the front ends rejected (no 835 for them)
    pended: tuple[Pended, ...] = ()  # claims accepted and left unadjudicated (no 835 for them either)
    adjudicated: dict[str, ClaimPayment] | None = None  # payer claim number -> this interchange's payments
    reversed: tuple[str, ...] = ()  # payer claim numbers of earlier payments taken back (by 7 or 8)

    @property
    def isa_used(self) -> int:
        return len(self.by_payer) + len(self.acknowledgments)


def front_end_rejection(claim: Claim, contract: Contract) -> FrontEndStatus | None:
    """What the payer's front end rejects before adjudication (277CA), or None."""
    if claim.subscriber.member_id.upper().startswith(contract.unknown_member_prefixes):
        return "A7", "164", "IL"  # the member id is not one of ours
    if claim.payer_responsibility != "P" and all(o.paid is None for o in claim.other_payers):
        return "A7", "21", "PR"  # a secondary claim must say what the prior payer paid
    return None


def accumulator_key(claim: Claim) -> AccumulatorKey:
    return claim.payer.id, claim.subscriber.member_id, claim.lines[0].service_date.year


def unknown_payers(interchange: Interchange837, contracts: dict[str, Contract]) -> set[str]:
    return {claim.payer.id for claim in interchange.claims} - contracts.keys()


def remit(
    interchange: Interchange837,
    contracts: dict[str, Contract],
    deductibles: dict[AccumulatorKey, Decimal],
    first_control_number: int,
    now: datetime,
    earlier: dict[str, ClaimPayment] | None = None,
) -> Remittances:
    """Pay every claim of the interchange (all its payers must be in `contracts`).

    `deductibles` holds what each member has met so far; members missing from it start at zero.
    `earlier` holds the payments not yet reversed, by payer claim number: a replacement (7) or a
    void (8) naming one reverses it first (CLP02 22); a void is paid nothing else.
    """
    deductibles, earlier = dict(deductibles), dict(earlier or {})
    adjudicated: dict[str, ClaimPayment] = {}
    reversed_numbers: list[str] = []
    # payer id -> billing provider NPI -> claim payments, in file order
    payments: dict[str, dict[str, list[ClaimPayment]]] = {}
    statuses: dict[str, dict[str, list[ClaimStatus]]] = {}
    payees: dict[str, Payee] = {}
    rejected, pended = 0, []

    def pay_out(payer_id: str, npi: str, payment: ClaimPayment) -> None:
        payments.setdefault(payer_id, {}).setdefault(npi, []).append(payment)

    for batch in interchange.transactions:
        bp = batch.billing_provider
        payees[bp.npi] = Payee(name=bp.organization_name, npi=bp.npi, tax_id=bp.tax_id)
        for claim in batch.claims:
            contract, number = contracts[claim.payer.id], _claim_number(interchange, claim)
            rejection = front_end_rejection(claim, contract)
            statuses.setdefault(claim.payer.id, {}).setdefault(bp.npi, []).append(
                _status(claim, rejection, None if rejection else number)
            )
            if rejection:
                rejected += 1
                continue
            if claim.subscriber.member_id.upper().startswith(contract.pended_member_prefixes):
                pended.append(Pended(claim.patient_control_number, number, claim.total_charge))
                continue
            key = accumulator_key(claim)
            if claim.frequency_code in ("7", "8") and (
                taken_back := earlier.pop(claim.payer_claim_control_number, None)
            ):
                pay_out(claim.payer.id, bp.npi, reversal(taken_back))
                reversed_numbers.append(claim.payer_claim_control_number)
                deductibles[key] = max(Decimal(0), deductibles.get(key, Decimal(0)) - deductible_taken(taken_back))
            if claim.frequency_code == "8":
                continue
            pay = adjudicate if claim.payer_responsibility == "P" else coordinate
            result = pay(claim, contract, deductibles.get(key, Decimal(0)), number, now.date())
            deductibles[key] = result.deductible_met
            pay_out(claim.payer.id, bp.npi, result.payment)
            adjudicated[number] = result.payment
    texts = {}
    for offset, (payer_id, by_payee) in enumerate(payments.items()):
        contract = contracts[payer_id]
        control_number = (first_control_number + offset - 1) % 999_999_999 + 1
        remittances = tuple(
            _remittance(contract, payees[npi], claims, f"{payer_id}{control_number:09d}{n}", now)
            for n, (npi, claims) in enumerate(by_payee.items())
        )
        texts[payer_id] = render_835(
            Interchange835(
                sender_id=interchange.receiver_id,
                receiver_id=interchange.sender_id,
                control_number=control_number,
                group_control_number=control_number,
                created=now,
                usage=interchange.usage,
                remittances=remittances,
            )
        )
    acknowledgments = {}
    for offset, (payer_id, by_provider) in enumerate(statuses.items(), start=len(texts)):
        contract = contracts[payer_id]
        acknowledgments[payer_id] = render_277ca(
            ClaimAcknowledgment(
                sender_id=interchange.receiver_id,
                receiver_id=interchange.sender_id,
                control_number=(first_control_number + offset - 1) % 999_999_999 + 1,
                created=now,
                usage=interchange.usage,
                payer_name=contract.payer.name,
                payer_id=payer_id,
                submitter_name=interchange.submitter.name,
                submitter_id=interchange.submitter.id,
                batch_reference=str(interchange.control_number),
                received=now.date(),
                providers=tuple(
                    ProviderStatuses(name=payees[npi].name, npi=npi, claims=tuple(claims))
                    for npi, claims in by_provider.items()
                ),
            )
        )
    paid = sum((p.paid for by_payee in payments.values() for ps in by_payee.values() for p in ps), Decimal(0))
    return Remittances(
        texts,
        deductibles,
        len(interchange.claims),
        paid,
        acknowledgments,
        rejected,
        tuple(pended),
        adjudicated,
        tuple(reversed_numbers),
    )


def _status(claim: Claim, rejection: FrontEndStatus | None, payer_claim_number: str | None) -> ClaimStatus:
    category, code, entity = rejection or ("A2", "20", None)  # A2:20 accepted for processing
    person = claim.patient or claim.subscriber
    return ClaimStatus(
        patient_control_number=claim.patient_control_number,
        category=category,
        status_code=code,
        entity=entity,
        total_charge=claim.total_charge,
        service_date=min(line.service_date for line in claim.lines),
        patient_last_name=person.last_name,
        patient_first_name=person.first_name,
        member_id=claim.subscriber.member_id,
        payer_claim_control_number=payer_claim_number,
    )


def _claim_number(interchange: Interchange837, claim: Claim) -> str:
    """The payer's claim control number: stable for a given submission of a given claim."""
    source = f"{interchange.sender_id}|{interchange.control_number}|{claim.patient_control_number}"
    return "SIM" + hashlib.sha256(source.encode()).hexdigest()[:15].upper()


def _remittance(contract: Contract, payee: Payee, claims: list[ClaimPayment], trace: str, now: datetime) -> Remittance:
    total = sum((c.paid for c in claims), Decimal(0))
    # Reversals can take back more than this 835 pays: the payer pays nothing and carries the rest
    # forward to a later payment (PLB FB, a negative provider adjustment), as payers do.
    carried = (
        (
            ProviderAdjustment(
                provider_id=payee.npi,
                fiscal_period_end=date(now.year, 12, 31),
                reason="FB",
                reference=trace,
                amount=total,
            ),
        )
        if total < 0
        else ()
    )
    paid = max(total, Decimal(0))
    payment = Payment(
        amount=paid, method="CHK" if paid else "NON", date=now.date(), trace_number=trace, payer_tax_id=contract.tax_id
    )
    return Remittance(
        payment=payment, payer=contract.payer, payee=payee, claims=tuple(claims), provider_adjustments=carried
    )
