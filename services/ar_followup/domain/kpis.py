"""The revenue-cycle KPIs: their one written definition, used by A/R's `GET /v1/kpis` (facts from
its ledgers) and by the analysts' example (docs/analytics: facts folded from the topics by
`Fold`, with A/R's own posting rules). Pure.

What is counted: one CLAIM per encounter ledger, that is an original claim together with its
replacements, voids and secondary claims (claim.submitted's kind and original_claim_id), so a
charge is counted once, whichever claims billed it and however often it was paid.

- charges: the ledger's charge: the original's total, replaced by a replacement's, 0 after a void;
- period: the claims first submitted from `start` to `end` (both included); days = its length;
- open A/R: what insurance has not paid, adjusted or passed to the patient (never below 0), plus
  what the patient still owes, over every claim whatever its period;
- days in A/R = open A/R / (the period's charges / days);
- % of A/R over 90 days: the open A/R of claims whose date of service is more than 90 days ago;
- clean claim rate: the period's claims never rejected by the clearinghouse (999) or the payer's
  front end (277CA), over the period's claims;
- adjudicated: a claim its own payer has answered (a posting of the original or a replacement; a
  secondary payer's posting does not make a claim adjudicated);
- first-pass resolution rate: adjudicated claims whose first adjudication refused nothing;
- denial rate: adjudicated claims their own payer refused in whole or in part at any adjudication
  (CLP02 4, or a CO/OA/PI adjustment whose CARC is not the contract working as agreed: see
  denials.ROUTINE), over adjudicated claims; by CARC: the first refusal's reason codes;
- net collection rate: payments (every payer's and the patient's) / (charges - contractual
  adjustments of the claim's own payer);
- average days to pay, by payer: submission to the first payment (the 835's payment date).

Not on any topic, so only A/R's figures include them: write-offs and A/R's reopening of a denial
for a correction or an appeal (they change open A/R and days in A/R, nothing else)."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from services.ar_followup.domain import posting as posting_rules
from services.ar_followup.domain.ledger import balances, follow_on_role
from shared.contracts.events import (
    ClaimAcknowledgedV1,
    ClaimSubmittedV1,
    Contract,
    PatientPaymentPostedV1,
    PaymentPostedV1,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ClaimFacts:
    """One claim (encounter ledger) as the KPIs see it."""

    payer_id: str
    date_of_service: date
    submitted_on: date
    charge: Decimal
    paid: Decimal  # by every payer and the patient
    contractual: Decimal
    open_balance: Decimal  # insurance (never below 0) + patient, as of now
    adjudicated: bool
    rejected: bool
    first_pass_paid: bool  # the first adjudication paid without a denial
    denial_codes: tuple[str, ...]
    first_paid_on: date | None


def _rate(part: int | Decimal, whole: int | Decimal) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def kpis(claims: list[ClaimFacts], start: date, end: date, today: date) -> dict[str, Any]:
    """`claims`: every claim with a balance or submitted in the period; the period is [start, end]."""
    period = [c for c in claims if start <= c.submitted_on <= end]
    days = (end - start).days + 1
    open_ar = sum((c.open_balance for c in claims), ZERO)
    over_90 = sum((c.open_balance for c in claims if (today - c.date_of_service).days > 90), ZERO)
    charges = sum((c.charge for c in period), ZERO)
    adjudicated = [c for c in period if c.adjudicated]
    denied = [c for c in adjudicated if c.denial_codes]
    by_reason = Counter(code for c in denied for code in c.denial_codes)
    to_pay: dict[str, list[int]] = defaultdict(list)
    for c in period:
        if c.first_paid_on is not None:
            to_pay[c.payer_id].append((c.first_paid_on - c.submitted_on).days)
    collectible = charges - sum((c.contractual for c in period), ZERO)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat(), "claims": len(period)},
        "open_ar": str(open_ar),
        "days_in_ar": str((open_ar / (charges / days)).quantize(Decimal("0.1"))) if charges else None,
        "ar_over_90_percent": _rate(over_90, open_ar),
        "clean_claim_rate": _rate(sum(1 for c in period if not c.rejected), len(period)),
        "first_pass_resolution_rate": _rate(sum(1 for c in adjudicated if c.first_pass_paid), len(adjudicated)),
        "denial_rate": _rate(len(denied), len(adjudicated)),
        "denial_rate_by_reason": {code: _rate(n, len(adjudicated)) for code, n in sorted(by_reason.items())},
        "net_collection_rate": _rate(sum((c.paid for c in period), ZERO), collectible),
        "average_days_to_pay": {
            payer: str((Decimal(sum(d)) / len(d)).quantize(Decimal("0.1"))) for payer, d in sorted(to_pay.items())
        },
    }


# -- the same facts from the topics (what an analyst reads) ---------------------------------------

NO_TERMS = posting_rules.Terms(contract_rates={}, underpayment_tolerance=ZERO)


@dataclass
class _Ledger:
    """A claim's ledger as A/R keeps it, rebuilt from events: its facts and its totals by entry kind."""

    root: ClaimSubmittedV1
    facts: posting_rules.LedgerFacts
    totals: dict[str, Decimal] = field(default_factory=dict)
    rejected: bool = False

    def book(self, entries: Iterable[tuple[str, Decimal]]) -> None:
        for kind, amount in entries:
            self.totals[kind] = self.totals.get(kind, ZERO) + amount


class Fold:
    """Folds the topics' records, in the order they were read, into one ClaimFacts per claim:
    claim.submitted (which claims make one ledger), claim.acknowledged (rejections), payment.posted
    (booked by A/R's own posting rules) and patient-payment.posted. Records seen twice (the same
    ce_id) count once; postings of claims never submitted are left out, as A/R keeps them pending."""

    def __init__(self) -> None:
        self.seen: set[UUID] = set()
        self.ledgers: dict[UUID, _Ledger] = {}
        self.root_of: dict[UUID, UUID] = {}  # claim id -> its ledger's claim id
        self.role: dict[UUID, str] = {}
        self.by_encounter: dict[str, UUID] = {}
        self.submitted: list[ClaimSubmittedV1] = []
        self.postings: list[PaymentPostedV1] = []
        self.acknowledgements: list[ClaimAcknowledgedV1] = []
        self.patient_payments: list[PatientPaymentPostedV1] = []

    def add(self, event_id: UUID, data: Contract) -> None:
        if event_id in self.seen:
            return
        self.seen.add(event_id)
        if isinstance(data, ClaimSubmittedV1):
            self.submitted.append(data)
        elif isinstance(data, PaymentPostedV1):
            self.postings.append(data)
        elif isinstance(data, ClaimAcknowledgedV1):
            self.acknowledgements.append(data)
        elif isinstance(data, PatientPaymentPostedV1):
            self.patient_payments.append(data)

    def _submitted(self, claim: ClaimSubmittedV1) -> None:
        """A/R's claim.submitted: a claim following another books onto its ledger (a replacement's or
        void's charge replacing the ledger's); an original opens a ledger with its charge."""
        if claim.claim_id in self.root_of:
            return  # the same claim submitted again keeps its ledger
        named = claim.original_claim_id if claim.original_claim_id != claim.claim_id else None
        original = (named if named in self.root_of else None) if named else self.by_encounter.get(claim.encounter_id)
        if original is None:
            facts = posting_rules.LedgerFacts(claim_id=claim.claim_id, payer_id=claim.payer_id)
            self.ledgers[claim.claim_id] = _Ledger(claim, facts, {"charge": claim.total_charge})
            self.root_of[claim.claim_id], self.role[claim.claim_id] = claim.claim_id, "primary"
            self.by_encounter.setdefault(claim.encounter_id, claim.claim_id)
            return
        ledger = self.ledgers[self.root_of[original]]
        self.root_of[claim.claim_id] = ledger.root.claim_id
        self.role[claim.claim_id] = follow_on_role(claim.kind, same_payer=ledger.root.payer_id == claim.payer_id)
        if claim.kind in ("replacement", "void"):
            charge = ZERO if claim.kind == "void" else claim.total_charge
            ledger.book([("charge", charge - ledger.totals.get("charge", ZERO))])

    def facts(self) -> list[ClaimFacts]:
        """The facts of every claim. Records of different claims come from different partitions in
        any order, so they are replayed in the order they happened, as A/R saw them."""
        self.ledgers, self.root_of, self.role, self.by_encounter = {}, {}, {}, {}
        for claim in sorted(self.submitted, key=lambda c: c.submitted_at):
            self._submitted(claim)
        for posting in sorted(self.postings, key=lambda p: p.posted_at):
            self._post(posting)
        for ack in self.acknowledgements:
            if not ack.accepted and ack.claim_id in self.root_of:
                self.ledgers[self.root_of[ack.claim_id]].rejected = True
        for payment in self.patient_payments:
            for applied in payment.applications:
                if applied.claim_id in self.root_of:
                    self.ledgers[self.root_of[applied.claim_id]].book([("patient_payment", applied.amount)])
        return [_claim_facts(ledger) for ledger in self.ledgers.values()]

    def _post(self, posting: PaymentPostedV1) -> None:
        if posting.claim_id not in self.root_of:
            return
        ledger = self.ledgers[self.root_of[posting.claim_id]]
        secondary = posting_rules.by_secondary(self.role[posting.claim_id], ledger.facts, posting)
        planned = posting_rules.plan(
            ledger.facts,
            posting,
            secondary=secondary,
            totals=dict(ledger.totals),
            coverages=[],  # who bills the secondary payer is A/R's business, not a KPI's
            terms=NO_TERMS,
            now=datetime.now(UTC),
        )
        ledger.facts = planned.ledger
        ledger.book(planned.entries)


def _claim_facts(ledger: _Ledger) -> ClaimFacts:
    """The KPI facts of a ledger, the way A/R's reports make them from its own ledgers."""
    balance = balances(ledger.totals)
    facts = ledger.facts
    return ClaimFacts(
        payer_id=ledger.root.payer_id,
        date_of_service=ledger.root.date_of_service,
        submitted_on=ledger.root.submitted_at.date(),
        charge=balance.charge,
        paid=balance.paid + balance.patient_paid,
        contractual=ledger.totals.get("contractual", ZERO),
        open_balance=max(balance.insurance_balance, ZERO) + balance.patient_balance,
        adjudicated=facts.first_pass_paid is not None,
        rejected=ledger.rejected,
        first_pass_paid=bool(facts.first_pass_paid),
        denial_codes=tuple(facts.denial_codes),
        first_paid_on=facts.first_paid_on,
    )
