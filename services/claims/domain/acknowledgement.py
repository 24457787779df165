"""What a 999 or a 277CA says about our claims: per transaction set we sent (999) or per claim (277CA). Pure.

The messages are our own short categories (X12's code descriptions are not ours to ship)."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.contracts.events import AckReason
from x12.x277 import ClaimAcknowledgment
from x12.x837p import claim_numbers_by_set
from x12.x999 import Ack999, AckError, ElementError, GroupAck, TransactionAck

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
SEGMENT_ERRORS = {  # IK304
    "1": "unrecognized segment",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop repeated too often",
    "5": "segment repeated too often",
    "6": "segment not in this transaction set",
    "7": "segment out of order",
    "8": "has element errors",
    "I4": "segment the guide does not use",
    "I6": "situational segment missing",
    "I7": "loop repeated too few times",
    "I8": "segment used too few times",
    "I9": "situational segment present where the guide says not to",
}
ELEMENT_ERRORS = {  # IK403
    "1": "required element missing",
    "2": "conditional element missing",
    "3": "too many elements",
    "4": "too short",
    "5": "too long",
    "6": "invalid character",
    "7": "invalid code",
    "8": "invalid date",
    "9": "invalid time",
    "10": "excluded by another element",
    "12": "repeated too often",
    "13": "too many components",
    "I6": "code the guide does not use",
    "I9": "situational element present where the guide says not to",
    "I10": "element the guide does not use",
    "I11": "repeated too few times",
    "I12": "does not match the guide's pattern",
    "I13": "situational element missing",
}
SET_ERRORS = {  # IK502-IK506
    "1": "transaction set not supported",
    "2": "trailer missing",
    "3": "control numbers of header and trailer differ",
    "4": "segment count wrong",
    "5": "segments in error",
    "6": "transaction set identifier missing or invalid",
    "7": "control number missing or invalid",
    "23": "control number not unique in the group",
}
REJECTED_STATUSES = frozenset("RMWX")  # IK501 / AK901 codes of a rejection (M, W, X: for security reasons)


@dataclass(frozen=True)
class SetOutcome:
    """A 999's verdict on one transaction set we sent (AK2 and its IK5): accepted (A, E) sets go on to
    adjudication, rejected ones (R, M, W, X) do not, with their IK3/IK4 (or IK5) reasons."""

    control_number: str  # AK202: the ST02 we wrote
    accepted: bool
    reasons: list[AckReason]


@dataclass(frozen=True)
class BatchOutcome:
    """A 999's verdict on a functional group (our interchange: one per batch) and on each set it names.
    A set it does not name takes the group's verdict (AK901) when the group is accepted (A, E, P) or
    rejected as a whole (no set named); a group rejected set by set leaves it unanswered."""

    group_control_number: int
    accepted: bool
    reasons: list[AckReason]  # why the group was rejected (AK9), for the sets without their own reason
    sets: tuple[SetOutcome, ...] = ()


@dataclass(frozen=True)
class SetAnswer:
    """What the 999 says of the claims of one transaction set we sent."""

    control_number: str
    accepted: bool
    reasons: list[AckReason]
    claims: tuple[str, ...]  # their patient control numbers (CLM01)


@dataclass(frozen=True)
class ClaimOutcome:
    """A 277CA line: one claim accepted into adjudication or rejected by the payer's front end."""

    patient_control_number: str
    batch_reference: str
    accepted: bool
    reasons: list[AckReason]
    payer_claim_control_number: str | None


def batch_outcomes(ack: Ack999) -> list[BatchOutcome]:
    return [_batch_outcome(group) for group in ack.groups]


def _batch_outcome(group: GroupAck) -> BatchOutcome:
    accepted = group.status not in REJECTED_STATUSES
    reasons = [] if accepted else [_group_reason(group)]
    sets = tuple(_set_outcome(ts, reasons) for ts in group.transactions)
    return BatchOutcome(group.group_control_number, accepted, reasons, sets)


def _group_reason(group: GroupAck) -> AckReason:
    codes = f" (AK9 codes {', '.join(group.errors)})" if group.errors else ""
    return AckReason(code=f"AK9:{group.status}", message=f"the clearinghouse rejected the whole file{codes}")


def _set_outcome(ts: TransactionAck, group_reasons: list[AckReason]) -> SetOutcome:
    if ts.accepted:
        return SetOutcome(ts.control_number, True, [])
    reasons = [reason for error in ts.errors for reason in _error_reasons(error, ts.control_number)]
    reasons += [
        AckReason(code=f"IK5:{code}", message=f"transaction set {ts.control_number}: {SET_ERRORS.get(code, 'error')}")
        for code in ts.set_errors
        if not ts.errors or code not in ("5", "I5")  # 5: "segments in error", said by the IK3s already
    ]
    if not reasons:
        reasons = group_reasons or [AckReason(code=f"IK5:{ts.status}", message="the clearinghouse rejected it")]
    return SetOutcome(ts.control_number, False, reasons)


def _error_reasons(error: AckError, set_control_number: str) -> list[AckReason]:
    """One reason per IK4 (element in error), or one for the IK3 when it names no element."""
    where = f"segment {error.segment_id} at position {error.position}"
    where += f" of loop {error.loop_id}" if error.loop_id else ""
    where += (f" of claim {error.claim}" if error.claim else "") + f" in transaction set {set_control_number}"
    if not error.elements:
        what = SEGMENT_ERRORS.get(error.code, "error")
        return [AckReason(code=f"IK3:{error.code}", segment=error.segment_id, message=f"{where}: {what}"[:300])]
    return [
        AckReason(
            code=f"IK4:{element.code}",
            segment=error.segment_id,
            message=f"{_element_name(error.segment_id, element)} of {where}: "
            f"{ELEMENT_ERRORS.get(element.code, 'error')}"[:300],
        )
        for element in error.elements
    ]


def _element_name(segment_id: str, element: ElementError) -> str:
    name = f"{segment_id}{element.position:02d}" + (f"-{element.component}" if element.component else "")
    return name + (f" (data element {element.reference})" if element.reference else "")


def set_answers(outcome: BatchOutcome, sent: Mapping[str, Sequence[str]]) -> tuple[list[SetAnswer], list[str]]:
    """Each transaction set we sent (ST02 -> its claims' CLM01) with the 999's verdict on it, and the
    set control numbers the 999 names that we never sent (to be reported: they answer no claim)."""
    named = {s.control_number: s for s in outcome.sets}
    answers = []
    for control_number, claims in sent.items():
        verdict = named.get(control_number)
        if verdict is not None:
            answers.append(SetAnswer(control_number, verdict.accepted, verdict.reasons, tuple(claims)))
        elif outcome.accepted or not named:  # a group rejected set by set says nothing of a set it does not name
            answers.append(SetAnswer(control_number, outcome.accepted, outcome.reasons, tuple(claims)))
    return answers, [number for number in named if number not in sent]


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


ISA_LENGTH = 106  # the interchange header is fixed-length: element separator at 3, segment terminator last


def claims_by_set(sent: str) -> dict[str, tuple[str, ...]]:
    """The patient control numbers (CLM01) of each transaction set (ST02) of an 837 interchange we
    wrote, as a 999 answers per set. Only its ST and CLM segments are looked at: reading the whole
    file into loops cost ~35 µs a claim. A text not framed by an ISA header is left to that reader."""
    if not sent.startswith("ISA") or len(sent) < ISA_LENGTH:
        return claim_numbers_by_set(sent)
    element, terminator = re.escape(sent[3]), re.escape(sent[ISA_LENGTH - 1])
    fields = f"{element}([^{element}{terminator}]*)"
    sets: dict[str, list[str]] = {}
    numbers: list[str] = []
    for kind, first, second in re.findall(rf"{terminator}\s*(ST|CLM){fields}(?:{fields})?", sent):
        if kind == "ST":
            numbers = sets[second] = []
        else:
            numbers.append(first)
    return {control_number: tuple(claims) for control_number, claims in sets.items()}
