"""What people do with the work queue and the accounts: resolve a work item (correct, appeal,
write off, close), request and approve write-offs, post patient payments, set up payment plans.
Each runs in one transaction with the ledger entries and the events it causes. The person is the
caller's token (`by`: subject and display name), never a name the request carries."""

import uuid
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import SOURCE, db
from services.ar_followup.domain.ledger import balances
from services.ar_followup.domain.write_offs import WriteOffLimits, needs_approval
from shared import outbox
from shared.auth import Principal
from shared.contracts import topics
from shared.contracts.events import ClaimChanges, ClaimCorrectionRequestedV1
from shared.envelope import Event

ZERO = Decimal("0.00")


class Refused(ValueError):
    """The request contradicts the state of the account (HTTP 409)."""


class NotAllowed(PermissionError):
    """This caller may not do this to this record, whatever their roles (HTTP 403)."""


def same_person(subject: str, other: str | None) -> bool:
    """Subjects are compared without case: two accounts that differ only so are refused, never confused."""
    return other is not None and subject.casefold() == other.casefold()


async def _claim(session: AsyncSession, claim_id: UUID) -> db.ArClaim:
    claim = (await db.lock_claims(session, {claim_id}))[claim_id]
    if claim.submitted_at is None:
        raise Refused("the claim is not known to A/R yet")
    return claim


async def resolve(
    session: AsyncSession,
    item_id: UUID,
    action: str,
    by: Principal,
    note: str,
    now: datetime,
    limits: WriteOffLimits,
    changes: ClaimChanges | None = None,
) -> db.WorkItem:
    """`changes` (a correction only) travel to claims on the request and stay on the item as its record."""
    if changes is not None and action != "correct":
        raise ValueError("only a correction carries changes")
    item = await db.work_item_for_update(session, item_id)
    if item is None:
        raise LookupError("no such work item")
    if item.status != "open":
        raise Refused("the work item is already resolved")
    claim = await _claim(session, item.claim_id)
    if action in ("correct", "void", "appeal"):
        _reconsider(session, claim, item, action, by, now, changes)
    elif action == "write_off":
        reason = item.category or item.kind
        await request_write_off(
            session, claim.claim_id, "insurance", item.amount, reason, by, note, now, limits, source=item.item_id
        )
    elif action != "close":
        raise Refused(f"unknown action {action!r}")
    item.status, item.resolution, item.resolved_at = "resolved", f"{action} by {by.display_name}: {note}"[:300], now
    item.resolved_by, item.resolved_by_name = by.subject, by.display_name
    if changes is not None:
        item.changes = changes.model_dump(mode="json", exclude_defaults=True)
    await db.refresh_statuses(session, {claim.claim_id: claim})
    return item


def _reconsider(
    session: AsyncSession,
    claim: db.ArClaim,
    item: db.WorkItem,
    action: str,
    by: Principal,
    now: datetime,
    changes: ClaimChanges | None,
) -> None:
    """A correction, void or appeal: a denial's write-off is undone while the payer reconsiders, and
    claims is asked for the replacement (7) or the void (8)."""
    if action in ("correct", "void") and not claim.payer_claim_control_number and item.kind != "rejection":
        raise Refused("the payer's claim control number is unknown: a replacement cannot reference it")
    if item.kind == "denial":
        db.add_entries(session, claim.claim_id, item.item_id, [("denial_reversal", -item.amount)])
        claim.adjudicated, claim.denied = False, False
    if action not in ("correct", "void"):
        return
    request = ClaimCorrectionRequestedV1(
        claim_id=claim.claim_id,
        frequency_code="7" if action == "correct" else "8",
        # a claim the payer never accepted (a rejection) is known by our own control number
        payer_claim_control_number=claim.payer_claim_control_number or claim.patient_control_number,
        reason=f"{item.kind} {item.category or ''} {item.reason}".strip()[:300],
        requested_by=by.subject,
        requested_at=now,
        changes=changes,
        requested_by_name=by.display_name,
    )
    event = Event(request, str(claim.claim_id), SOURCE, str(claim.claim_id))
    outbox.stage(session, topics.CLAIM_CORRECTION_REQUESTED, event)


async def request_write_off(
    session: AsyncSession,
    claim_id: UUID,
    party: str,
    amount: Decimal,
    reason_code: str,
    by: Principal,
    note: str,
    now: datetime,
    limits: WriteOffLimits,
    source: UUID | None = None,
) -> db.Adjustment:
    """Booked at once within the limits (domain/write_offs.py), else pending a second person's approval."""
    claim = await _claim(session, claim_id)
    await db.lock_requester(session, by.subject)
    open_amount = await _open_amount(session, claim, party)
    if source is None and amount > open_amount:
        raise Refused(f"the {party} balance is {open_amount}; a write-off cannot exceed it")
    claim_so_far = await db.written_off_unreviewed(session, claim_id=claim_id)
    person_today = await db.written_off_unreviewed(session, requested_by=by.subject, day=now.date())
    approved = not needs_approval(amount, claim_so_far, person_today, limits)
    adjustment = db.Adjustment(
        adjustment_id=source or uuid.uuid4(),
        claim_id=claim_id,
        party=party,
        amount=amount,
        reason_code=reason_code,
        note=note,
        requested_by=by.subject,
        requested_by_name=by.display_name,
        status="approved" if approved else "pending",
        created_at=now,
    )
    session.add(adjustment)
    if approved:
        await _book(session, adjustment, claim)
    await db.refresh_statuses(session, {claim.claim_id: claim})
    return adjustment


async def _open_amount(session: AsyncSession, claim: db.ArClaim, party: str) -> Decimal:
    """What the party still owes on the claim as this transaction sees it (the claim's row locked)."""
    balance = balances((await db.totals_by_claim(session, [claim.claim_id]))[claim.claim_id])
    return balance.patient_balance if party == "patient" else balance.insurance_balance


async def _books(session: AsyncSession, adjustment: db.Adjustment, claim: db.ArClaim) -> bool:
    """Whether the write-off moves the ledger. Writing off a denial (the whole claim's, or one line's on a
    claim paid otherwise) accepts the payer's CO adjustment, which already took the amount off the
    insurance balance: booking it again would take the balance below zero."""
    if adjustment.party != "insurance":
        return True
    if claim.denied:
        return False
    source = await session.get(db.WorkItem, adjustment.adjustment_id)  # a work item's write-off bears its id
    return source is None or source.kind != "denial"


async def _book(session: AsyncSession, adjustment: db.Adjustment, claim: db.ArClaim) -> None:
    if not await _books(session, adjustment, claim):
        return
    kind = "patient_write_off" if adjustment.party == "patient" else "write_off"
    db.add_entries(session, adjustment.claim_id, adjustment.adjustment_id, [(kind, adjustment.amount)])


async def decide(session: AsyncSession, adjustment_id: UUID, approve: bool, by: Principal) -> db.Adjustment:
    """Four eyes: the decision is a person's (not a machine's), and never the requester's. An approval
    re-checks the balance with the claim's row locked: two approvals of one balance book one at a time."""
    adjustment = await db.adjustment_for_update(session, adjustment_id)
    if adjustment is None:
        raise LookupError("no such adjustment")
    if adjustment.status != "pending":
        raise Refused("the adjustment is already decided")
    if by.machine:
        raise NotAllowed("a write-off is approved by a person, not a machine or the API key")
    if same_person(by.subject, adjustment.requested_by):
        raise NotAllowed("a write-off above the threshold needs a second person's approval")
    if approve:
        claim = await _claim(session, adjustment.claim_id)
        left = await _open_amount(session, claim, adjustment.party)
        if await _books(session, adjustment, claim) and adjustment.amount > left:
            raise Refused(f"the {adjustment.party} balance is now {left}: a write-off of {adjustment.amount} "
                          "would take it below zero (refuse it, or ask for a smaller one)")  # fmt: skip
        await _book(session, adjustment, claim)
        await db.refresh_statuses(session, {claim.claim_id: claim})
    adjustment.status = "approved" if approve else "refused"
    adjustment.decided_by, adjustment.decided_by_name = by.subject, by.display_name
    return adjustment
