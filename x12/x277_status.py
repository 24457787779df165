"""X12 277 health care claim status response (005010X212): the payer's answer to one 276.

STC01 is category:status, e.g. F1:65 finalized and paid, F2:88 finalized and denied, A1:20 accepted
and in process, A4:35 claim not found. The answer echoes the 276's levels, its trace (TRN*2) and
the claim's references, and gives the payer's claim number (REF*1K) when it has one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from x12.envelope import Envelope, amount, element, to_decimal
from x12.errors import X12Error
from x12.x270 import find, parse_dates, render_transaction, single_transaction
from x12.x276 import VERSION, StatusRequest, claim_segments, read_request, request_segments


@dataclass(frozen=True)
class ClaimStatusAnswer:
    trace_number: str
    patient_control_number: str
    category: str  # STC01-1, e.g. F1
    status: str  # STC01-2, e.g. 65
    effective: date  # STC02
    charge: Decimal
    paid: Decimal | None = None
    payer_claim_control_number: str | None = None

    @property
    def code(self) -> str:
        return f"{self.category}:{self.status}"

    @property
    def finalized(self) -> bool:
        return self.category.startswith("F")


def render_277_status(request: StatusRequest, answer: ClaimStatusAnswer, env: Envelope) -> str:
    echoed = StatusRequest(**{**request.__dict__, "payer_claim_control_number": answer.payer_claim_control_number})
    trace, *references = claim_segments("2", echoed)
    stc = [
        "STC",
        f"{answer.category}:{answer.status}",
        f"{answer.effective:%Y%m%d}",
        "",
        amount(answer.charge),
        amount(answer.paid) if answer.paid is not None else "",
    ]
    segments = request_segments("08", echoed, env.created) + [trace, stc, *references]
    return render_transaction(segments, "277", "HN", env, version=VERSION)


def parse_277_status(text: str) -> ClaimStatusAnswer:
    _, segments = single_transaction(text, "277")
    request = read_request(segments, "2")
    stc = find(segments, "STC")
    category, _, status = element(stc, 1).partition(":")
    if not category or not status:
        raise X12Error("STC01 must be category:status", "STC")
    paid = element(stc, 5)
    return ClaimStatusAnswer(
        trace_number=request.trace_number,
        patient_control_number=request.patient_control_number,
        category=category,
        status=status,
        effective=parse_dates(element(stc, 2), "STC"),
        charge=to_decimal(element(stc, 4), "STC04 charge", "STC"),
        paid=to_decimal(paid, "STC05 paid", "STC") if paid else None,
        payer_claim_control_number=request.payer_claim_control_number,
    )
