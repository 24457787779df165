"""A batch's view of A/R's ledgers, kept in memory while the batch is decided: the claims it touches
(rows locked by the caller), each ledger's totals by kind, and what the batch books, opens, closes and
dates. The handlers change it event by event; db.py reads it in one pass and writes it back with one
statement per table. Pure: no I/O."""

from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.ar_followup.domain.ledger import balances
from services.ar_followup.domain.ledger import status as claim_status
from services.ar_followup.domain.posting import LedgerFacts
from services.ar_followup.domain.work import OWNERS, NewWork

Entry = tuple[str, Decimal]


@dataclass
class Claim:
    """A/R's row of a claim (ar_claim) as the consumers change it."""

    claim_id: UUID
    status: str = "awaiting_claim"
    patient_id: UUID | None = None
    payer_id: str | None = None
    payer_name: str | None = None
    date_of_service: date | None = None
    submitted_at: datetime | None = None
    adjudicated: bool = False
    denied: bool = False
    encounter_id: str | None = None
    root_claim_id: UUID | None = None
    role: str = "primary"
    secondary_pending: bool = False
    secondary_payer_id: str | None = None
    payer_claim_control_number: str | None = None
    submissions: int = 0
    rejected: bool = False
    first_pass_paid: bool | None = None
    denial_codes: list[str] = field(default_factory=list)
    first_paid_on: date | None = None
    filing_deadline: date | None = None
    pending_postings: list[dict[str, Any]] = field(default_factory=list)
    patient_control_number: str | None = None

    def facts(self) -> LedgerFacts:
        """What the posting rules read of the claim whose ledger the money books onto."""
        return LedgerFacts(
            claim_id=self.claim_id,
            payer_id=self.payer_id,
            adjudicated=self.adjudicated,
            denied=self.denied,
            secondary_pending=self.secondary_pending,
            secondary_payer_id=self.secondary_payer_id,
            payer_claim_control_number=self.payer_claim_control_number,
            first_pass_paid=self.first_pass_paid,
            denial_codes=tuple(self.denial_codes),
            first_paid_on=self.first_paid_on,
        )

    def take(self, facts: LedgerFacts) -> None:
        """The posting rules' facts onto the row."""
        for name in (f.name for f in fields(facts)):
            value = getattr(facts, name)
            setattr(self, name, list(value) if isinstance(value, tuple) else value)


COLUMNS = tuple(f.name for f in fields(Claim))


@dataclass
class WorkRow:
    """A work item the batch opens (and maybe resolves again before it ends)."""

    claim_id: UUID
    patient_id: UUID | None
    work: NewWork
    due_date: date | None
    created_at: datetime
    owner: str
    resolution: str | None = None
    resolved_at: datetime | None = None


@dataclass
class Book:
    """The claims of a batch, their ledgers' totals and the batch's writes. Claims loaded from the
    database are `stored` (their rows as loaded, to write only what changed); the others are new."""

    claims: dict[UUID, Claim] = field(default_factory=dict)
    stored: dict[UUID, Claim] = field(default_factory=dict)  # claim id -> its row as loaded
    totals: dict[UUID, dict[str, Decimal]] = field(default_factory=dict)  # with this batch's entries
    open_work: set[tuple[UUID, str]] = field(default_factory=set)  # (claim, kind) open in the database
    undated: set[UUID] = field(default_factory=set)  # claims with work items that have no due date yet
    entries: list[tuple[UUID, UUID, str, Decimal]] = field(default_factory=list)  # claim, source, kind, amount
    opened: list[WorkRow] = field(default_factory=list)
    closed: list[tuple[UUID, str, str]] = field(default_factory=list)  # claim, kind, resolution (stored items)
    dated: list[Claim] = field(default_factory=list)  # claims whose undated work takes their deadline
    # ledger -> (ledger, patient, the primary's adjudication as json, correlation): awaiting coverages
    awaiting: dict[UUID, tuple[UUID, UUID, str, str]] = field(default_factory=dict)

    # -- what is loaded ---------------------------------------------------------------------------

    def add_stored(self, claim: Claim) -> Claim:
        """A claim as loaded; one already in the book stays as the batch has changed it."""
        if claim.claim_id not in self.claims:
            self.claims[claim.claim_id] = claim
            self.stored[claim.claim_id] = replace(claim, denial_codes=list(claim.denial_codes),
                                                  pending_postings=list(claim.pending_postings))  # fmt: skip
        return self.claims[claim.claim_id]

    def add_new(self, claim_id: UUID) -> Claim:
        return self.claims.setdefault(claim_id, Claim(claim_id))

    def ledger_of(self, claim: Claim) -> Claim:
        """The claim whose ledger this claim's money books onto (itself, or the original claim)."""
        return self.claims[claim.root_claim_id] if claim.root_claim_id else claim

    def missing_roots(self) -> set[UUID]:
        return {c.root_claim_id for c in self.claims.values() if c.root_claim_id and c.root_claim_id not in self.claims}

    def totals_of(self, claim_id: UUID) -> dict[str, Decimal]:
        return self.totals.setdefault(claim_id, {})

    def charge_of(self, claim: Claim) -> Decimal:
        """What the claim's ledger charges now (the original claim's, for a follow-on claim)."""
        return balances(self.totals.get(self.ledger_of(claim).claim_id, {})).charge

    # -- what the batch does ----------------------------------------------------------------------

    def book(self, claim_id: UUID, source: UUID, entries: tuple[Entry, ...] | list[Entry]) -> None:
        """Ledger entries, one per kind of a source event (a repeated one would break the unique key)."""
        totals = self.totals_of(claim_id)
        for kind, amount in entries:
            self.entries.append((claim_id, source, kind, amount))
            totals[kind] = totals.get(kind, Decimal("0.00")) + amount

    def open(self, ledger: Claim, work: NewWork, now: datetime) -> None:
        """A work item unless one of its kind is open on the claim (stored, or opened by this batch)."""
        if (ledger.claim_id, work.kind) in self.open_work or any(
            row.claim_id == ledger.claim_id and row.work.kind == work.kind and row.resolved_at is None
            for row in self.opened
        ):
            return
        row = WorkRow(ledger.claim_id, ledger.patient_id, work, ledger.filing_deadline, now, OWNERS[work.kind])
        self.opened.append(row)

    def close(self, claim_id: UUID, kinds: tuple[str, ...], resolution: str, now: datetime) -> None:
        """Resolves the open items of these kinds; only those that exist are written."""
        for kind in kinds:
            if (claim_id, kind) in self.open_work:
                self.open_work.discard((claim_id, kind))
                self.closed.append((claim_id, kind, resolution))
        for row in self.opened:
            if row.claim_id == claim_id and row.work.kind in kinds and row.resolved_at is None:
                row.resolution, row.resolved_at = resolution, now

    def await_coverage(self, ledger: Claim, adjudication: str, correlation_id: str) -> None:
        """The primary's payment left the patient a part before A/R held the patient's coverages: the
        patient's registration decides whether a secondary payer is billed (the last payment's counts)."""
        assert ledger.patient_id is not None
        self.awaiting[ledger.claim_id] = (ledger.claim_id, ledger.patient_id, adjudication, correlation_id)

    def date_early_work(self, claim: Claim) -> None:
        """Work opened by an acknowledgement that came before the claim: its deadline, patient and (a
        rejection opened for nothing) the claim's charge."""
        if claim.claim_id in self.undated:
            self.undated.discard(claim.claim_id)
            self.dated.append(claim)

    # -- what is written --------------------------------------------------------------------------

    def refresh_statuses(self) -> None:
        """Each claim's A/R status from its own ledger as the batch leaves it."""
        for claim in self.claims.values():
            totals = balances(self.totals.get(claim.claim_id, {}))
            claim.status = claim_status(claim.submitted_at is not None, claim.adjudicated, claim.denied, totals)

    def new_claims(self) -> list[Claim]:
        return [c for c in self.claims.values() if c.claim_id not in self.stored]

    def changed_claims(self) -> list[Claim]:
        return [c for c in self.claims.values() if c.claim_id in self.stored and c != self.stored[c.claim_id]]
