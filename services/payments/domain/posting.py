"""One 835 file as a posting plan, and one claim payment as a posting: amounts by category, lines
matched to our claim lines, and the checks that every cent is accounted for. Pure: no I/O.

The plan says, for a parsed file and the claims payments knows: the claim payment records to store
(each with its posting id, computed once here), and, once the store says which of them are new,
the payment.posted events to publish, the work items a person must look at, and the re-issues to
record (payments the store already had from another check or another copy of the file).

A claim payment's identity is the payment, not the envelope or the check that carries it: the payer
(TRN03), CLP01, CLP07, CLP02, the claim's amounts and dates and its lines' dates, the number of
reversals of that CLP01 before it in its remittance (a reversal and correction repost the claim), and
its ordinal among identical payments of its remittance (two identical payments in one ERA both post).
A re-issued check (same payments, new TRN02) or a re-sent file (new ISA13) moves no money again."""

import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from shared.contracts.events import AmountsByCategory, ClaimKind, PaymentPostedV1
from x12.remittance import Adjustment as X12Adjustment
from x12.remittance import ClaimPayment, Interchange835, Remittance, ServicePayment

ZERO = Decimal("0.00")
POSTING_NAMESPACE = uuid.UUID("0b9f6a5c-3f2e-4c1d-9e8a-7d6c5b4a3f21")  # posting ids before 0004 (kept)
IDENTITY_NAMESPACE = uuid.UUID("5f0c2d7e-8b1a-4e6f-9c3d-2a7b8e9f0c14")


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
    date_of_service: date
    line_numbers: frozenset[int]
    lines: tuple[ClaimLine, ...] = ()  # for payers that drop REF*6R
    correlation_id: str = ""  # the claim's journey: its payment.posted continues it
    kind: ClaimKind = "original"  # as claim.submitted says: payment.posted passes these on to analysts
    original_claim_id: uuid.UUID | None = None
    encounter_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedPayment:
    """One claim payment with its posting id and our claim (None while payments does not know it)."""

    posting_id: uuid.UUID
    remittance: Remittance
    payment: ClaimPayment
    claim: KnownClaim | None


@dataclass(frozen=True)
class PaymentRecord:
    """A claim payment as stored: whole (an unmatched one is posted when its claim becomes known)."""

    posting_id: uuid.UUID
    payment_identity: uuid.UUID  # unique: the same payment is stored once (the posting id, for new ones)
    patient_control_number: str
    claim_id: uuid.UUID | None
    status: Literal["posted", "unmatched"]
    paid: Decimal
    claim_payment: str  # x12 ClaimPayment, as JSON
    remittance_header: str  # x12 Remittance without its claims, as JSON (the same text for a remittance's claims)
    posted_at: datetime | None
    patient_responsibility: Decimal


@dataclass(frozen=True)
class NewWorkItem:
    """What a person must look at: a payment whose claim is not known, a line that matched none of ours.
    The detail names codes and positions, never patient data."""

    kind: Literal["unmatched_claim", "unmatched_line"]
    posting_id: uuid.UUID
    patient_control_number: str
    detail: str
    claim_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Posting:
    event: PaymentPostedV1
    correlation_id: str


@dataclass
class Postings:
    """What newly stored payments make: the events to publish (in file order: a reversal before its
    correction) and the work items to open."""

    events: list[Posting] = field(default_factory=list)
    work_items: list[NewWorkItem] = field(default_factory=list)

    @property
    def unmatched(self) -> int:
        return sum(1 for item in self.work_items if item.kind == "unmatched_claim")


@dataclass(frozen=True)
class Received:
    """Where the store already had a payment from: its file and the check or EFT it came on."""

    era_id: int
    trace_number: str


@dataclass(frozen=True)
class Reissue:
    """Payments of one check of this file that an earlier file carried already: a re-issued check (another
    trace number) or the same check sent again. Recorded, never posted again."""

    trace_number: str
    prior_era_id: int
    prior_trace_number: str
    claim_payments: int
    paid: Decimal

    @property
    def kind(self) -> Literal["reissued_check", "resent"]:
        return "resent" if self.trace_number == self.prior_trace_number else "reissued_check"


@dataclass(frozen=True)
class PostingPlan:
    payments: tuple[PlannedPayment, ...]  # every claim payment of the file, in file order
    claim_payments: int  # every claim payment of the file
    total_paid: Decimal  # what the file's checks and EFTs pay in all
    now: datetime

    def records(self) -> list[PaymentRecord]:
        remittances = {id(p.remittance): p.remittance for p in self.payments}  # each header dumped once, not per claim
        # JSON text straight from pydantic-core (model_dump(mode="json") builds the same data as Python objects
        # at about twice the cost, and the driver would serialize them again)
        headers = {key: remittance.model_dump_json(exclude={"claims"}) for key, remittance in remittances.items()}
        return [_record(p, headers[id(p.remittance)], self.now) for p in self.payments]

    def repeats(self, stored: Collection[uuid.UUID]) -> list[uuid.UUID]:
        """The identities of the payments the store did not take: it had them already."""
        return [p.posting_id for p in self.payments if p.posting_id not in stored]

    def reissues(self, stored: Collection[uuid.UUID], received: Mapping[uuid.UUID, Received]) -> list[Reissue]:
        """The repeated payments, by this file's check and the earlier file and check they came on."""
        groups: dict[tuple[str, int, str], list[PlannedPayment]] = {}
        for planned in self.payments:
            prior = received.get(planned.posting_id)
            if planned.posting_id not in stored and prior is not None:
                key = (planned.remittance.payment.trace_number, prior.era_id, prior.trace_number)
                groups.setdefault(key, []).append(planned)
        return [
            Reissue(trace, era_id, prior_trace, len(group), sum((p.payment.paid for p in group), ZERO))
            for (trace, era_id, prior_trace), group in groups.items()
        ]

    def postings(self, stored: Collection[uuid.UUID]) -> Postings:
        """The postings of the payments the store took as new (a payment already posted from
        another file is not new); a claim payment that does not balance refuses the whole file."""
        result = Postings()
        for planned in self.payments:
            if planned.posting_id not in stored:
                continue
            if planned.claim is None:
                result.work_items.append(_unmatched_claim(planned))
            else:
                _post(result, planned, planned.claim, self.now)
        return result


def plan_posting(interchange: Interchange835, claims: Mapping[str, KnownClaim], now: datetime) -> PostingPlan:
    """The plan of one 835: `claims` are ours by patient control number (CLP01). Every claim payment
    is planned, each under its own identity (see posting_ids)."""
    planned = [
        PlannedPayment(number, remittance, payment, claims.get(payment.patient_control_number))
        for remittance in interchange.remittances
        for number, payment in zip(posting_ids(remittance), remittance.claims, strict=True)
    ]
    total = sum((r.payment.amount for r in interchange.remittances), ZERO)
    return PostingPlan(tuple(planned), len(planned), total, now)


def post_late(waiting: Iterable[PlannedPayment], now: datetime) -> Postings:
    """Payments that arrived before their claim, now that it is known (each with its claim)."""
    result = Postings()
    for planned in waiting:
        if planned.claim is not None:
            _post(result, planned, planned.claim, now)
    return result


def _record(planned: PlannedPayment, header: str, now: datetime) -> PaymentRecord:
    payment, claim = planned.payment, planned.claim
    return PaymentRecord(
        posting_id=planned.posting_id,
        payment_identity=planned.posting_id,
        patient_control_number=payment.patient_control_number,
        claim_id=claim.claim_id if claim else None,
        status="posted" if claim else "unmatched",
        paid=payment.paid,
        claim_payment=payment.model_dump_json(),
        remittance_header=header,
        posted_at=now if claim else None,
        patient_responsibility=patient_share(payment),
    )


def _post(result: Postings, planned: PlannedPayment, claim: KnownClaim, now: datetime) -> None:
    posted = build_posting(planned.posting_id, planned.remittance, planned.payment, claim, now)
    result.events.append(Posting(posted, claim.correlation_id))
    for n, line in enumerate(posted.lines, start=1):
        if line.line_number is None:
            result.work_items.append(
                NewWorkItem(
                    kind="unmatched_line",
                    posting_id=posted.posting_id,
                    claim_id=claim.claim_id,
                    patient_control_number=planned.payment.patient_control_number,
                    detail=f"service {n} ({line.procedure_code}) matches no line of the claim",
                )
            )


def _unmatched_claim(planned: PlannedPayment) -> NewWorkItem:
    return NewWorkItem(
        kind="unmatched_claim",
        posting_id=planned.posting_id,
        patient_control_number=planned.payment.patient_control_number,
        detail=f"no claim with this patient control number (CLP02 {planned.payment.status})",
    )


Outcome = Literal["paid", "denied", "reversed", "not_our_claim", "predetermination"]
OUTCOMES: dict[str, Outcome] = {"4": "denied", "22": "reversed", "23": "not_our_claim", "25": "predetermination"}
FORWARDED = {"19", "20", "21", "23"}


def posting_ids(remittance: Remittance) -> list[uuid.UUID]:
    """The identity of each claim payment of one remittance, in order: the same payment whatever
    envelope or check carries it; a correction after a reversal, and a second identical payment of
    the same remittance, are other payments."""
    reversals: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    ids = []
    for payment in remittance.claims:
        key = identity_key(remittance, payment, reversals[payment.patient_control_number])
        ids.append(uuid.uuid5(IDENTITY_NAMESPACE, f"{key}|{seen[key]}"))
        seen[key] += 1
        if payment.status == "22":
            reversals[payment.patient_control_number] += 1
    return ids


def identity_key(remittance: Remittance, payment: ClaimPayment, reversals_before: int) -> str:
    """What makes a claim payment this payment (without its ordinal among identical ones): never the
    trace number or the interchange, which a re-issue changes. Migration 0004 keeps a copy of it."""
    lines = ",".join(f"{s.service_date or ''}/{s.service_date_to or ''}" for s in payment.services)
    return "|".join(
        (
            remittance.payment.payer_key,
            payment.patient_control_number,
            payment.payer_claim_control_number,
            payment.status,
            f"{payment.charge:.2f}",
            f"{payment.paid:.2f}",
            f"{payment.patient_responsibility:.2f}",
            str(payment.statement_from or ""),
            str(payment.statement_to or ""),
            lines,
            str(reversals_before),
        )
    )


def posting_id(remittance: Remittance, payment: ClaimPayment) -> uuid.UUID:
    """The identity of a claim payment that is the only one like it in its remittance, after no reversal."""
    return uuid.uuid5(IDENTITY_NAMESPACE, f"{identity_key(remittance, payment, 0)}|0")


def categorize(adjustments: Iterable[X12Adjustment], charge: Decimal, paid: Decimal) -> AmountsByCategory:
    return AmountsByCategory(**_amounts(adjustments, charge, paid))


_PR_KINDS = {"1": "deductible", "2": "coinsurance", "3": "copay"}


def _amounts(adjustments: Iterable[X12Adjustment], charge: Decimal, paid: Decimal) -> dict[str, Decimal]:
    """AmountsByCategory's fields: CO contractual, PR by reason (deductible, coinsurance, copay, other), the rest other."""
    totals = dict.fromkeys(("contractual", "deductible", "coinsurance", "copay", "other_pr", "other"), ZERO)
    for adjustment in adjustments:
        group = adjustment.group
        if group == "CO":
            totals["contractual"] += adjustment.amount
        elif group == "PR":
            totals[_PR_KINDS.get(adjustment.reason, "other_pr")] += adjustment.amount
        else:
            totals["other"] += adjustment.amount
    return {
        "charge": charge,
        "paid": paid,
        "contractual": totals["contractual"],
        "deductible": totals["deductible"],
        "coinsurance": totals["coinsurance"],
        "copay": totals["copay"],
        "other_patient_responsibility": totals["other_pr"],
        "other_adjustments": totals["other"],
    }


def patient_share(payment: ClaimPayment) -> Decimal:
    """What the payer says the patient owes on this claim payment: its PR adjustments."""
    adjustments = list(payment.adjustments) + [a for s in payment.services for a in s.adjustments]
    return sum((a.amount for a in adjustments if a.group == "PR"), ZERO)


def match_line(service: ServicePayment, claim: KnownClaim) -> int | None:
    """Our line for a payer's line: by REF*6R; failing that by the billed code (SVC06, else SVC01)
    with its modifiers, then by the code alone when only one of our lines has it."""
    control = service.control_number or ""
    number = int(control) if control.isdigit() else None
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


def _contract(adjustments: Iterable[X12Adjustment]) -> list[dict[str, Any]]:
    """Adjustments as the event's Adjustment fields (validated with the event, in one call)."""
    return [{"group_code": a.group, "reason_code": a.reason, "amount": a.amount} for a in adjustments]


def _posted_line(service: ServicePayment, claim: KnownClaim) -> dict[str, Any]:
    """A PostedLine's fields; PostingError when the line does not balance."""
    if service.charge != service.paid + sum((a.amount for a in service.adjustments), ZERO):
        raise PostingError("service line does not balance: charge != paid + adjustments")
    return {
        "line_number": match_line(service, claim),
        "procedure_code": service.procedure_code,
        "modifiers": list(service.modifiers),
        "charge": service.charge,
        "paid": service.paid,
        "adjustments": _contract(service.adjustments),
        "remark_codes": list(service.remark_codes),
        "billed_procedure_code": service.original_procedure_code,
        "service_date": service.service_date,
    }


def build_posting(
    posting: uuid.UUID, remittance: Remittance, payment: ClaimPayment, claim: KnownClaim, now: datetime
) -> PaymentPostedV1:
    """payment.posted for one claim payment of ours; PostingError when it does not balance. The event is
    built as plain data and validated whole, in one call (not a model per line and adjustment)."""
    every_adjustment = list(payment.adjustments) + [a for s in payment.services for a in s.adjustments]
    if payment.charge != payment.paid + sum((a.amount for a in every_adjustment), ZERO):
        raise PostingError("claim does not balance: charge != paid + adjustments")
    lines = [_posted_line(service, claim) for service in payment.services]
    remarks = {*payment.remark_codes, *(r for s in payment.services for r in s.remark_codes)}
    return PaymentPostedV1.model_validate(
        {
            "posting_id": posting,
            "claim_id": claim.claim_id,
            "payer_id": claim.payer_id,
            "payer_name": claim.payer_name,
            "claim_status_code": payment.status,
            "denied": payment.status == "4",
            "payer_claim_control_number": payment.payer_claim_control_number,
            "payment_method": remittance.payment.method,
            "check_or_eft_number": remittance.payment.trace_number,
            "payment_date": remittance.payment.date,
            "date_of_service": claim.date_of_service,
            "amounts": _amounts(every_adjustment, payment.charge, payment.paid),
            "claim_adjustments": _contract(payment.adjustments),
            "lines": lines,
            "carc_codes": sorted({a.reason for a in every_adjustment}),
            "rarc_codes": sorted(remarks),
            "posted_at": now,
            "outcome": OUTCOMES.get(payment.status, "paid"),
            "forwarded_to_another_payer": payment.status in FORWARDED,
            "claim_frequency_code": payment.frequency_code,
            "statement_from": payment.statement_from,
            "statement_to": payment.statement_to,
            "received_by_payer": payment.received_date,
            "unmatched_lines": sum(1 for line in lines if line["line_number"] is None),
            "claim_kind": claim.kind,
            "original_claim_id": claim.original_claim_id,
            "encounter_ids": list(claim.encounter_ids),
            "charge_is_new": claim.kind in ("original", "replacement"),  # a secondary's charge repeats the primary's
        }
    )
