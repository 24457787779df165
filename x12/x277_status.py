"""X12 277 health care claim status response (005010X212): the payer's answer to a 276.

STC01 is category:status, e.g. F1:65 finalized and paid, F2:88 finalized and denied, A1:20 accepted
and in process, A4:35 claim not found. The answer echoes the 276's levels, its trace (TRN*2) and
the claim's references, and gives the payer's claim number (REF*1K) when it has one.

Read on the guide (x12/guides/x212.py): every claim answered (2200D, 2200E), with its first STC (the
current status) and its service lines' statuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from x12.envelope import Envelope, amount
from x12.errors import X12Error
from x12.guides.x212 import RESPONSE
from x12.reading import Loop, read_sets, refuse_on
from x12.x270 import Party, parse_dates, render_transaction
from x12.x276 import VERSION, StatusRequest, claim_segments, claims_asked, request_segments


@dataclass(frozen=True)
class LineStatus:
    """A 2220 service line's status: the procedure, its charge and its STC01 category and status."""

    procedure_code: str
    charge: Decimal
    category: str
    status: str
    control_number: str | None = None  # REF*FJ


@dataclass(frozen=True)
class ClaimStatusAnswer:
    trace_number: str
    patient_control_number: str  # REF*EJ ("" when the payer did not echo it)
    category: str  # STC01-1, e.g. F1
    status: str  # STC01-2, e.g. 65
    effective: date  # STC02
    charge: Decimal | None  # STC04
    paid: Decimal | None = None
    payer_claim_control_number: str | None = None
    entity: str | None = None  # STC01-3: who the status is about (QC patient, IL subscriber...)
    lines: tuple[LineStatus, ...] = ()

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
        amount(answer.charge) if answer.charge is not None else "",
        amount(answer.paid) if answer.paid is not None else "",
    ]
    segments = request_segments("08", echoed, env.created) + [trace, stc, *references]
    return render_transaction(segments, "277", "HN", env, version=VERSION)


def parse_277_status(text: str) -> ClaimStatusAnswer:
    """The first claim a 277 answers."""
    answers = read_277_status(text)
    if not answers:
        raise X12Error("the 277 answers no claim", "TRN")
    return answers[0]


def read_277_status(text: str) -> list[ClaimStatusAnswer]:
    """Every claim a 277 answers; X12Error naming every issue when it does not follow the guide."""
    _, sets = read_sets(text, RESPONSE)
    refuse_on(sets)
    return [answer for read in sets for answer in claims_asked(read.root, _answer)]


def _answer(claim: Loop, payer: Party, provider: Party, holder: Loop, patient: Loop) -> ClaimStatusAnswer:
    stc = claim.segs("STC")[0]  # the guide requires one; the first is the current status
    references = {s[1]: s[2] for s in claim.segs("REF")}
    return ClaimStatusAnswer(
        trace_number=claim.opener[2],
        patient_control_number=references.get("EJ", ""),
        category=stc.component(1, 1),
        status=stc.component(1, 2),
        effective=parse_dates(stc[2], "STC"),
        charge=Decimal(stc[4]) if stc[4] else None,
        paid=Decimal(stc[5]) if stc[5] else None,
        payer_claim_control_number=references.get("1K"),
        entity=stc.component(1, 3) or None,
        lines=tuple(_line(line) for line in claim.loops),
    )


def _line(line: Loop) -> LineStatus:
    svc, stc = line.opener, line.segs("STC")[0]
    control = line.seg("REF", "FJ")
    return LineStatus(
        svc.component(1, 2), Decimal(svc[2]), stc.component(1, 1), stc.component(1, 2), control[2] if control else None
    )
