"""From a parsed 837P to the payer's 835s: adjudicate every claim and group the payments.

One 835 interchange per payer; inside it, one transaction set per billing provider (payee).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from payer_simulator.domain.adjudication import adjudicate
from payer_simulator.domain.contracts import Contract
from payer_simulator.store import AccumulatorKey
from x12.claim import Claim, Interchange837
from x12.remittance import ClaimPayment, Interchange835, Payee, Payment, Remittance
from x12.x835 import render_835


@dataclass(frozen=True)
class Remittances:
    by_payer: dict[str, str]  # payer id -> 835 text
    deductibles: dict[AccumulatorKey, Decimal]  # the accumulators after this interchange
    claims: int
    paid: Decimal


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
) -> Remittances:
    """Pay every claim of the interchange (all its payers must be in `contracts`).

    `deductibles` holds what each member has met so far; members missing from it start at zero.
    """
    deductibles = dict(deductibles)
    # payer id -> billing provider NPI -> claim payments, in file order
    payments: dict[str, dict[str, list[ClaimPayment]]] = {}
    payees: dict[str, Payee] = {}
    for batch in interchange.transactions:
        bp = batch.billing_provider
        payees[bp.npi] = Payee(name=bp.organization_name, npi=bp.npi, tax_id=bp.tax_id)
        for claim in batch.claims:
            key = accumulator_key(claim)
            result = adjudicate(
                claim, contracts[claim.payer.id], deductibles.get(key, Decimal(0)), _claim_number(interchange, claim)
            )
            deductibles[key] = result.deductible_met
            payments.setdefault(claim.payer.id, {}).setdefault(bp.npi, []).append(result.payment)
    texts = {}
    for offset, (payer_id, by_payee) in enumerate(payments.items()):
        contract = contracts[payer_id]
        control_number = (first_control_number + offset - 1) % 999_999_999 + 1
        remittances = tuple(
            _remittance(contract, payees[npi], claims, f"{payer_id}{control_number:09d}{n}", now)
            for n, (npi, claims) in enumerate(by_payee.items())
        )
        texts[payer_id] = render_835(Interchange835(
            sender_id=interchange.receiver_id, receiver_id=interchange.sender_id, control_number=control_number,
            group_control_number=control_number, created=now, usage=interchange.usage, remittances=remittances,
        ))
    paid = sum((p.paid for by_payee in payments.values() for ps in by_payee.values() for p in ps), Decimal(0))
    return Remittances(texts, deductibles, len(interchange.claims), paid)


def _claim_number(interchange: Interchange837, claim: Claim) -> str:
    """The payer's claim control number: stable for a given submission of a given claim."""
    source = f"{interchange.sender_id}|{interchange.control_number}|{claim.patient_control_number}"
    return "SIM" + hashlib.sha256(source.encode()).hexdigest()[:15].upper()


def _remittance(contract: Contract, payee: Payee, claims: list[ClaimPayment], trace: str, now: datetime) -> Remittance:
    total = sum((c.paid for c in claims), Decimal(0))
    payment = Payment(amount=total, method="CHK" if total else "NON", date=now.date(), trace_number=trace,
                      payer_tax_id=contract.tax_id)
    return Remittance(payment=payment, payer=contract.payer, payee=payee, claims=tuple(claims))
