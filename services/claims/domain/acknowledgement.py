"""What a 999 or a 277CA says about our claims, as outcomes per batch or per claim. Pure.

The messages are our own short categories (X12's code descriptions are not ours to ship)."""

from dataclasses import dataclass

from shared.contracts.events import AckReason
from x12.x277 import ClaimAcknowledgment
from x12.x999 import Ack999

CATEGORIES = {
    "A0": "forwarded",
    "A1": "received",
    "A2": "accepted for adjudication",
    "A3": "returned as unprocessable",
    "A4": "not found",
    "A5": "split",
    "A6": "rejected: missing information",
    "A7": "rejected: invalid information",
    "A8": "rejected: relational field in error",
}
ENTITIES = {
    "IL": "subscriber",
    "QC": "patient",
    "PR": "payer",
    "85": "billing provider",
    "82": "rendering provider",
    "DN": "referring provider",
    "41": "submitter",
    "40": "receiver",
}


@dataclass(frozen=True)
class BatchOutcome:
    """A 999: whether the functional group (our interchange) passed the clearinghouse's syntax checks."""

    group_control_number: int
    accepted: bool
    reasons: list[AckReason]


@dataclass(frozen=True)
class ClaimOutcome:
    """A 277CA line: one claim accepted into adjudication or rejected by the payer's front end."""

    patient_control_number: str
    batch_reference: str
    accepted: bool
    reasons: list[AckReason]
    payer_claim_control_number: str | None


def batch_outcomes(ack: Ack999) -> list[BatchOutcome]:
    outcomes = []
    for group in ack.groups:
        reasons = [
            AckReason(
                code=error.code,
                segment=error.segment_id,
                message=f"segment {error.segment_id} at position {error.position}"
                + (f" of loop {error.loop_id}" if error.loop_id else "")
                + " has errors",
            )
            for ts in group.transactions
            for error in ts.errors
        ]
        if not group.accepted and not reasons:
            reasons = [AckReason(code=f"AK9:{group.status}", message="the clearinghouse rejected the whole file")]
        # Partially accepted groups (P) still reject their failed transaction sets; ours hold one set per
        # billing provider, so a rejected set rejects its claims: treat the group as rejected when any set is.
        accepted = group.accepted and all(ts.accepted for ts in group.transactions)
        outcomes.append(BatchOutcome(group.group_control_number, accepted, reasons))
    return outcomes


def claim_outcomes(ack: ClaimAcknowledgment) -> list[ClaimOutcome]:
    outcomes = []
    for status in ack.claims:
        reasons = []
        if not status.accepted:
            what = CATEGORIES.get(status.category, "rejected")
            about = f" ({ENTITIES.get(status.entity, status.entity)})" if status.entity else ""
            code = ":".join(c for c in (status.category, status.status_code, status.entity) if c)
            reasons.append(AckReason(code=code, message=f"{what}{about}; status code {status.status_code}"))
        outcomes.append(
            ClaimOutcome(
                status.patient_control_number,
                ack.batch_reference,
                status.accepted,
                reasons,
                status.payer_claim_control_number,
            )
        )
    return outcomes
