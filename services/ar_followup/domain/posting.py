"""A/R's posting rules: what one payer's posting (payment.posted) does to its claim's ledger. The
entries it books, the work it opens and closes (denial, underpayment, the secondary claim), whether
the secondary payer is to be billed, and the ledger's facts afterwards (adjudicated, first pass,
first payment). Pure: the handler loads the ledger, applies the plan, stores it and publishes."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.ar_followup.domain.denials import ACTIONS, Denial, denial
from services.ar_followup.domain.ledger import (
    PATIENT_KINDS,
    patient_parts,
    posting_entries,
    reopened_denial_reversed,
    secondary_entries,
)
from services.ar_followup.domain.work import NewWork, underpayment
from shared.contracts.events import PaymentPostedV1, SecondaryClaimRequestedV1

ZERO = Decimal("0.00")
Entry = tuple[str, Decimal]


@dataclass(frozen=True)
class LedgerFacts:
    """What the rules read and change of the claim whose ledger the money books onto (the
    original claim when a replacement or the secondary payer's claim is paid)."""

    claim_id: UUID
    payer_id: str | None
    adjudicated: bool = False
    denied: bool = False
    secondary_pending: bool = False  # the patient's part waits for the secondary payer
    secondary_payer_id: str | None = None
    payer_claim_control_number: str | None = None
    first_pass_paid: bool | None = None
    denial_codes: tuple[str, ...] = ()
    first_paid_on: date | None = None


@dataclass(frozen=True)
class Terms:
    """What the practice expects of payers: contracted allowed amounts and the tolerance of a shortfall."""

    contract_rates: Mapping[str, Mapping[str, Decimal]]  # payer id -> procedure code -> allowed
    underpayment_tolerance: Decimal


@dataclass(frozen=True)
class PostingPlan:
    ledger: LedgerFacts  # the ledger's facts after the posting
    entries: tuple[Entry, ...]
    close: tuple[tuple[str, str], ...]  # (kind, resolution) of the open work the posting settles
    open: tuple[NewWork, ...]
    secondary_request: SecondaryClaimRequestedV1 | None  # ask claims to bill the secondary payer


def by_secondary(role: str, ledger: LedgerFacts, posting: PaymentPostedV1) -> bool:
    """The secondary payer's posting: on the secondary claim, or from another payer while the
    patient's part waits for the secondary."""
    return role == "secondary" or (ledger.secondary_pending and posting.payer_id != ledger.payer_id)


def needs_totals(secondary: bool, posting: PaymentPostedV1) -> bool:
    """Whether the plan reads the ledger's totals: the secondary's entries replace what the primary
    left to the patient, and a reversal counts A/R's own reopening of the denial once."""
    return secondary or posting.outcome == "reversed"


def plan(
    ledger: LedgerFacts,
    posting: PaymentPostedV1,
    *,
    secondary: bool,
    totals: Mapping[str, Decimal],
    coverages: Sequence[Mapping[str, Any]],
    terms: Terms,
    now: datetime,
) -> PostingPlan:
    """One posting onto its ledger; `totals` (by entry kind) are needed only when `needs_totals`."""
    close: tuple[tuple[str, str], ...]
    if secondary:
        entries = secondary_entries(posting, {kind: totals.get(kind, ZERO) for kind in PATIENT_KINDS})
        ledger = replace(ledger, secondary_pending=False)
        close = (("secondary", "secondary adjudicated"), ("no_response", "payer answered"))
    else:
        entries = _primary_entries(posting, totals)
        ledger = replace(
            ledger,
            adjudicated=True,
            denied=posting.denied,
            payer_claim_control_number=posting.payer_claim_control_number or ledger.payer_claim_control_number,
        )
        close = (("no_response", "payer answered"),)
    refused = denial(posting)
    ledger = _first_facts(ledger, posting, refused, secondary)
    work = _refusal_work(posting, refused, terms)
    request = None
    next_payer = None if secondary else bill_secondary(ledger, posting, coverages)
    if next_payer is not None:
        ledger = replace(ledger, secondary_pending=True, secondary_payer_id=next_payer)
        part = sum(patient_parts(posting).values(), ZERO)
        work.append(NewWork("secondary", part, "await_secondary", f"billed to {next_payer}"))
        request = secondary_request(ledger.claim_id, posting, now)
    return PostingPlan(ledger, tuple(entries), close, tuple(work), request)


def _primary_entries(posting: PaymentPostedV1, totals: Mapping[str, Decimal]) -> list[Entry]:
    entries = posting_entries(posting)
    # a denial A/R reopened (for a correction or an appeal) that the payer now reverses: counted once
    if offset := reopened_denial_reversed(posting, totals.get("denial_reversal", ZERO)):
        entries.append(("denial_reversal", offset))
    return entries


def _first_facts(ledger: LedgerFacts, posting: PaymentPostedV1, refused: Denial | None, secondary: bool) -> LedgerFacts:
    """The KPIs' facts, kept from the first time they are known: first-pass payment (of the first
    payer's first adjudication), the first denial's codes (by the claim's own payer: a secondary's
    CARC 23, the prior payer's adjudication, is no denial), the first payment's date."""
    if ledger.first_pass_paid is None and not secondary:
        ledger = replace(ledger, first_pass_paid=refused is None)
    if refused is not None and not ledger.denial_codes and not secondary:  # the claim's own payer (see kpis.py)
        ledger = replace(ledger, denial_codes=tuple(refused.carc_codes))
    if posting.amounts.paid > ZERO and ledger.first_paid_on is None:
        ledger = replace(ledger, first_paid_on=posting.payment_date or posting.posted_at.date())
    return ledger


def _refusal_work(posting: PaymentPostedV1, refused: Denial | None, terms: Terms) -> list[NewWork]:
    """Denial work for what the payer refused, underpayment work for an allowed amount below the contract."""
    work = []
    if refused is not None:
        action, reason = ACTIONS[refused.category], "CARC " + ",".join(refused.carc_codes)
        work.append(NewWork("denial", refused.amount, action, reason, refused.category))
    contract = terms.contract_rates.get(posting.payer_id, {})
    short = underpayment(posting, dict(contract), terms.underpayment_tolerance)
    if short > ZERO:
        work.append(NewWork("underpayment", short, "dispute", "allowed below the contracted rate"))
    return work


def secondary_payer(coverages: Sequence[Mapping[str, Any]], primary_payer: str | None) -> str | None:
    """The patient's secondary payer, unless it is the payer that already adjudicated."""
    for coverage in coverages:
        if coverage.get("rank") == "secondary" and coverage.get("payer_id") != primary_payer:
            return str(coverage["payer_id"])
    return None


def bill_secondary(ledger: LedgerFacts, posting: PaymentPostedV1, coverages: Sequence[Mapping[str, Any]]) -> str | None:
    """The secondary payer to bill after the primary's posting: once, when the primary paid (no
    denial) and left the patient a part the patient's secondary coverage may take."""
    payer = secondary_payer(coverages, ledger.payer_id)
    left_to_patient = sum(patient_parts(posting).values(), ZERO)
    if posting.denied or payer is None or left_to_patient <= ZERO or ledger.secondary_payer_id is not None:
        return None
    return payer


def awaits_coverage(ledger: LedgerFacts, posting: PaymentPostedV1, secondary: bool) -> bool:
    """Whether the patient's coverages, unknown when this payment is posted, would bill a secondary payer:
    the primary paid (no denial) and left the patient a part, and no secondary payer is billed yet."""
    left_to_patient = sum(patient_parts(posting).values(), ZERO)
    return not secondary and not posting.denied and left_to_patient > ZERO and ledger.secondary_payer_id is None


def late_secondary(ledger: LedgerFacts, patient_owes: Decimal, coverages: Sequence[Mapping[str, Any]]) -> str | None:
    """The secondary payer to bill when the patient's coverages arrive after the primary's payment: while
    that adjudication stands (adjudicated, no denial, no secondary billed) and the patient still owes."""
    if not ledger.adjudicated or ledger.denied or ledger.secondary_payer_id is not None or patient_owes <= ZERO:
        return None
    return secondary_payer(coverages, ledger.payer_id)


def secondary_request(claim_id: UUID, posting: PaymentPostedV1, now: datetime) -> SecondaryClaimRequestedV1:
    """What claims needs to bill the secondary payer: the primary's adjudication (COB)."""
    return SecondaryClaimRequestedV1(
        claim_id=claim_id,
        primary_payer_id=posting.payer_id,
        primary_payer_claim_control_number=posting.payer_claim_control_number,
        primary_paid=posting.amounts.paid,
        primary_paid_date=posting.payment_date,
        primary_adjustments=[*posting.claim_adjustments, *(a for line in posting.lines for a in line.adjustments)],
        requested_at=now,
    )
