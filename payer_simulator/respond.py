"""From a read 837P to the payer's answers: a 277CA per payer (each claim accepted into
adjudication or rejected by the front end) and an 835 per payer for the accepted claims.

One 835 interchange per payer; inside it, one transaction set per billing provider (payee). A
secondary claim (SBR01 S/T with the primary's payment in loop 2320) is paid by coordination of benefits.
A claim the reader found a business rule broken in (NPI check digit, ICD-9 after 2015-10-01, CLM02
not the sum of its lines...) and a claim for a payer nobody here answers for are rejected on the
277CA; the other claims of the file are adjudicated as usual.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from payer_simulator.domain.adjudication import adjudicate, coordinate, deductible_taken, reversal
from payer_simulator.domain.contracts import Contract
from payer_simulator.store import AccumulatorKey
from x12.claim import BillingProvider, Claim, Interchange837
from x12.remittance import ClaimPayment, Interchange835, Payee, Payment, ProviderAdjustment, Remittance
from x12.x277 import ClaimAcknowledgment, ClaimStatus, ProviderStatuses, render_277ca
from x12.x835 import render_835
from x12.x837p import ReadClaim, Reading837

FrontEndStatus = tuple[str, str, str | None]  # STC01: category, status code, entity in error
WRONG_PAYER: FrontEndStatus = ("A3", "116", "PR")  # returned: claim submitted to the incorrect payer


@dataclass(frozen=True)
class Batch:
    """One billing provider's claims as received: each a claim to adjudicate, or one the reader refused."""

    name: str
    npi: str
    payee: Payee | None  # None when the billing provider itself was refused (then so is every claim)
    claims: tuple[Claim | ReadClaim, ...]


@dataclass(frozen=True)
class Inbound:
    """An 837P interchange as the payer answers it."""

    sender_id: str
    receiver_id: str
    control_number: int
    usage: str
    submitter_name: str
    submitter_id: str
    batches: tuple[Batch, ...]

    @classmethod
    def of_interchange(cls, interchange: Interchange837) -> "Inbound":
        batches = tuple(
            Batch(
                b.billing_provider.organization_name,
                b.billing_provider.npi or "",
                payee_of(b.billing_provider),
                b.claims,
            )
            for b in interchange.transactions
        )
        sub = interchange.submitter
        return cls(
            interchange.sender_id,
            interchange.receiver_id,
            interchange.control_number,
            interchange.usage,
            sub.name,
            sub.id,
            batches,
        )

    @classmethod
    def of_reading(cls, reading: Reading837) -> "Inbound":
        """The transaction sets the 999 accepted; each claim as read (refused ones with their findings)."""
        accepted = [s for s in reading.sets if s.accepted]
        batches = tuple(
            Batch(
                p.name,
                p.npi,
                payee_of(p.billing_provider) if p.billing_provider else None,
                tuple(_as_read(c) for c in p.claims),
            )
            for s in accepted
            for p in s.providers
        )
        envelope, first = reading.interchange, accepted[0].raw.root.child("1000A") if accepted else None
        nm1 = first.opener if first is not None else None
        return cls(
            envelope.sender_id,
            envelope.receiver_id,
            envelope.control_number,
            envelope.usage,
            nm1[3] if nm1 is not None else "",
            nm1[9] if nm1 is not None else "",
            batches,
        )

    @property
    def claims(self) -> int:
        return sum(len(b.claims) for b in self.batches)


def _as_read(read: ReadClaim) -> Claim | ReadClaim:
    return read.claim if read.accepted and read.claim is not None else read


def payee_of(provider: BillingProvider) -> Payee:
    """The 835 payee: the billing provider by NPI, or by tax id when it has none."""
    if provider.npi:
        return Payee(name=provider.organization_name, npi=provider.npi, tax_id=provider.tax_id_digits)
    return Payee(name=provider.organization_name, id_qualifier="FI", tax_id=provider.tax_id_digits)


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
    remitted: tuple[ClaimPayment, ...] = ()  # every claim payment of the 835s, in their order (reversals too)

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


def remit(
    interchange: Interchange837,
    contracts: dict[str, Contract],
    deductibles: dict[AccumulatorKey, Decimal],
    first_control_number: int,
    now: datetime,
    earlier: dict[str, ClaimPayment] | None = None,
) -> Remittances:
    """Answer every claim of an interchange built or read whole (see `respond`)."""
    return respond(Inbound.of_interchange(interchange), contracts, deductibles, first_control_number, now, earlier)


def answer(
    reading: Reading837,
    contracts: dict[str, Contract],
    deductibles: dict[AccumulatorKey, Decimal],
    first_control_number: int,
    now: datetime,
    earlier: dict[str, ClaimPayment] | None = None,
) -> Remittances:
    """Answer the claims of the transaction sets the 999 accepted (see `respond`)."""
    return respond(Inbound.of_reading(reading), contracts, deductibles, first_control_number, now, earlier)


class _Answers:
    """What one interchange's claims come to, gathered claim by claim, by payer and billing provider."""

    def __init__(self, deductibles: dict[AccumulatorKey, Decimal], earlier: dict[str, ClaimPayment] | None):
        self.deductibles, self.earlier = dict(deductibles), dict(earlier or {})
        self.adjudicated: dict[str, ClaimPayment] = {}
        self.reversed: list[str] = []
        self.payments: dict[str, dict[str, list[ClaimPayment]]] = {}  # payer id -> provider -> payments
        self.statuses: dict[str, dict[str, list[ClaimStatus]]] = {}  # payer id -> provider -> statuses
        self.payer_names: dict[str, str] = {}  # payer id -> the name the 837 gave it
        self.rejected = 0
        self.pended: list[Pended] = []

    def status(self, payer_id: str, provider: str, status: ClaimStatus) -> None:
        self.statuses.setdefault(payer_id, {}).setdefault(provider, []).append(status)
        self.rejected += not status.accepted

    def pay_out(self, payer_id: str, provider: str, payment: ClaimPayment) -> None:
        self.payments.setdefault(payer_id, {}).setdefault(provider, []).append(payment)

    def adjudicate(self, claim: Claim, contract: Contract, number: str, provider: str, now: datetime) -> None:
        """Reverse what a replacement or void names, then pay the claim (primary or by coordination)."""
        key = accumulator_key(claim)
        if claim.frequency_code in ("7", "8") and (
            taken_back := self.earlier.pop(claim.payer_claim_control_number or "", None)
        ):
            self.pay_out(claim.payer.id, provider, reversal(taken_back))
            self.reversed.append(claim.payer_claim_control_number or "")
            met = self.deductibles.get(key, Decimal(0)) - deductible_taken(taken_back)
            self.deductibles[key] = max(Decimal(0), met)
        if claim.frequency_code == "8":
            return
        pay = adjudicate if claim.payer_responsibility == "P" else coordinate
        result = pay(claim, contract, self.deductibles.get(key, Decimal(0)), number, now.date())
        self.deductibles[key] = result.deductible_met
        self.pay_out(claim.payer.id, provider, result.payment)
        self.adjudicated[number] = result.payment


def respond(
    inbound: Inbound,
    contracts: dict[str, Contract],
    deductibles: dict[AccumulatorKey, Decimal],
    first_control_number: int,
    now: datetime,
    earlier: dict[str, ClaimPayment] | None = None,
) -> Remittances:
    """Answer every claim: a 277CA status each, an 835 payment for those accepted and adjudicated.

    `deductibles` holds what each member has met so far; members missing from it start at zero.
    `earlier` holds the payments not yet reversed, by payer claim number: a replacement (7) or a
    void (8) naming one reverses it first (CLP02 22); a void is paid nothing else.
    """
    answers = _Answers(deductibles, earlier)
    payees = {}
    for batch in inbound.batches:
        provider = batch.npi or batch.name
        if batch.payee is not None:
            payees[provider] = batch.payee
        for item in batch.claims:
            if isinstance(item, ReadClaim):
                answers.payer_names.setdefault(item.summary.payer_id, item.summary.payer_name)
                answers.status(item.summary.payer_id, provider, _refused_status(item))
                continue
            answers.payer_names.setdefault(item.payer.id, item.payer.name)
            _front_end(item, inbound, contracts, answers, provider, now)
    texts = _remittances(inbound, contracts, answers, payees, first_control_number, now)
    acknowledgments = _acknowledgments(inbound, contracts, answers, first_control_number + len(texts), now)
    paid = sum((p.paid for by_payee in answers.payments.values() for ps in by_payee.values() for p in ps), Decimal(0))
    return Remittances(
        texts,
        answers.deductibles,
        inbound.claims,
        paid,
        acknowledgments,
        answers.rejected,
        tuple(answers.pended),
        answers.adjudicated,
        tuple(answers.reversed),
        tuple(p for by_payee in answers.payments.values() for ps in by_payee.values() for p in ps),
    )


def _front_end(
    claim: Claim, inbound: Inbound, contracts: dict[str, Contract], answers: _Answers, provider: str, now: datetime
) -> None:
    """Reject (277CA), pend, or adjudicate one claim."""
    contract = contracts.get(claim.payer.id)
    number = _claim_number(inbound, claim)
    rejection = WRONG_PAYER if contract is None else front_end_rejection(claim, contract)
    answers.status(claim.payer.id, provider, _status(claim, rejection, None if rejection else number))
    if rejection or contract is None:
        return
    if claim.subscriber.member_id.upper().startswith(contract.pended_member_prefixes):
        answers.pended.append(Pended(claim.patient_control_number, number, claim.total_charge))
        return
    answers.adjudicate(claim, contract, number, provider, now)


def _control(first: int, offset: int) -> int:
    return (first + offset - 1) % 999_999_999 + 1


def _remittances(
    inbound: Inbound,
    contracts: dict[str, Contract],
    answers: _Answers,
    payees: dict[str, Payee],
    first_control_number: int,
    now: datetime,
) -> dict[str, str]:
    texts = {}
    for offset, (payer_id, by_payee) in enumerate(answers.payments.items()):
        contract, control_number = contracts[payer_id], _control(first_control_number, offset)
        remittances = tuple(
            _remittance(contract, payees[provider], claims, f"{payer_id}{control_number:09d}{n}", now)
            for n, (provider, claims) in enumerate(by_payee.items())
        )
        texts[payer_id] = render_835(
            Interchange835(
                sender_id=inbound.receiver_id,
                receiver_id=inbound.sender_id,
                control_number=control_number,
                group_control_number=control_number,
                created=now,
                usage=inbound.usage,
                remittances=remittances,
            )
        )
    return texts


def _acknowledgments(
    inbound: Inbound, contracts: dict[str, Contract], answers: _Answers, first_control_number: int, now: datetime
) -> dict[str, str]:
    """A 277CA per payer named: from the payer, or for a payer no one answers for, as the 837 named it."""
    acknowledgments = {}
    for offset, (payer_id, by_provider) in enumerate(answers.statuses.items()):
        contract = contracts.get(payer_id)
        acknowledgments[payer_id] = render_277ca(
            ClaimAcknowledgment(
                sender_id=inbound.receiver_id,
                receiver_id=inbound.sender_id,
                control_number=_control(first_control_number, offset),
                created=now,
                usage=inbound.usage,
                payer_name=contract.payer.name if contract else answers.payer_names[payer_id],
                payer_id=payer_id,
                submitter_name=inbound.submitter_name,
                submitter_id=inbound.submitter_id,
                batch_reference=str(inbound.control_number),
                received=now.date(),
                providers=tuple(
                    ProviderStatuses(name=_provider_name(inbound, provider), npi=provider, claims=tuple(claims))
                    for provider, claims in by_provider.items()
                ),
            )
        )
    return acknowledgments


def _provider_name(inbound: Inbound, provider: str) -> str:
    return next(b.name for b in inbound.batches if (b.npi or b.name) == provider)


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


def _refused_status(read: ReadClaim) -> ClaimStatus:
    """A7 (rejected for invalid information) with the first finding's status code and entity."""
    first = read.findings[0] if read.findings else None
    summary = read.summary
    return ClaimStatus(
        patient_control_number=summary.patient_control_number,
        category="A7",
        status_code=first.status if first else "21",
        entity=first.entity if first else None,
        total_charge=summary.total_charge,
        service_date=summary.service_date,
        patient_last_name=summary.patient_last_name,
        patient_first_name=summary.patient_first_name,
        member_id=summary.member_id,
    )


def _claim_number(inbound: Inbound, claim: Claim) -> str:
    """The payer's claim control number: stable for a given submission of a given claim."""
    source = f"{inbound.sender_id}|{inbound.control_number}|{claim.patient_control_number}"
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
