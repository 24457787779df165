"""X12 271 eligibility, coverage or benefit information (005010X279A1): the answer to a 270.

What is read and written: active or inactive coverage (EB01 1 / 6), plan name, the office-visit
copay (EB01 B), the deductible remaining (EB01 C with EB06 29) and coinsurance (EB01 A), or a
request rejection (AAA with its reason code, e.g. 72 invalid member id, and follow-up action).

Read on the guide (x12/guides/x279.py), one answer per member answered (subscriber HL 22 or dependent
HL 23), and one for a request the payer could not take at all (AAA at 2000A/2100A/2000B/2100B): that
answer names no member and carries the 270's BHT03 (`reference`) for finding its question."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from x12.envelope import Envelope, amount
from x12.errors import X12Error
from x12.guides.x279 import RESPONSE
from x12.reading import Loop, Segment, read_sets, refuse_on
from x12.x270 import (
    EligibilityRequest,
    header_segments,
    render_transaction,
    subscriber_segments,
    x12_text,
)

ACTIVE = frozenset("12345")  # EB01: active coverage (and its capitation variants)
INACTIVE = frozenset("678")  # inactive, inactive pending eligibility update, inactive pending investigation
_LEVELS = {"2000A": "20", "2000B": "21", "2000C": "22", "2000D": "23"}


@dataclass(frozen=True)
class EligibilityResponse:
    trace_number: str  # TRN02 of the member's level: the 270's trace ("" when the request was refused whole)
    payer_id: str
    member_id: str
    active: bool
    plan_name: str | None = None
    copay: Decimal | None = None
    deductible_remaining: Decimal | None = None
    coinsurance: Decimal | None = None  # a fraction: 0.2 is 20%
    rejection_code: str | None = None  # AAA03 when the payer could not answer for this member
    rejection_action: str | None = None  # AAA04: C correct and resubmit, N do not resubmit, R resubmit...
    level: str = "22"  # the HL level answered: 20 source, 21 receiver (request refused whole), 22, 23
    reference: str = ""  # BHT03: the 270's own reference


def render_271(request: EligibilityRequest, response: EligibilityResponse, env: Envelope) -> str:
    segments = header_segments("11", request.trace_number, env.created, request.payer, request.provider)
    segments.append(["TRN", "2", response.trace_number, "9" + request.provider.identifier[:9]])
    member, demographics = subscriber_segments(request.subscriber)
    segments.append(member)
    if response.rejection_code:  # the payer does not know this member: no benefits, no DMG echoed
        segments.append(["AAA", "N", "", response.rejection_code, "C"])
    else:
        segments.append(demographics)
        segments.append(
            ["EB", "1" if response.active else "6", "IND", "30", "", x12_text(response.plan_name or "", 50)]
        )
        if response.active and response.copay is not None:
            segments.append(["EB", "B", "IND", "98", "", "", "27", amount(response.copay)])
        if response.active and response.deductible_remaining is not None:
            segments.append(["EB", "C", "IND", "30", "", "", "29", amount(response.deductible_remaining)])
        if response.active and response.coinsurance is not None:
            segments.append(["EB", "A", "IND", "30", "", "", "", "", f"{response.coinsurance.normalize():f}"])
    return render_transaction(segments, "271", "HB", env)


def parse_271(text: str) -> EligibilityResponse:
    """The first answer of a 271."""
    answers = read_271(text)
    if not answers:
        raise X12Error("the 271 answers for no member (no EB, no AAA)", "EB")
    return answers[0]


def read_271(text: str) -> list[EligibilityResponse]:
    """Every answer of a 271 (see the module doc); X12Error naming every issue when it does not follow
    the guide."""
    _, sets = read_sets(text, RESPONSE)
    refuse_on(sets)
    answers: list[EligibilityResponse] = []
    for read in sets:
        bht = read.root.seg("BHT")
        reference = bht[3] if bht else ""
        for source in read.root.children("2000A"):
            answers += _answers(source, reference)
    return answers


def _answers(source: Loop, reference: str) -> list[EligibilityResponse]:
    """The members' answers under one information source; the request's rejection when there are none."""
    name = source.child("2100A")
    payer_id = name.opener[9] if name else ""
    answers: list[EligibilityResponse] = []
    refusal: Segment | None = None
    refused_at = "20"
    for level in [source, *source.children("2000B")]:
        rejection = _rejection(level, f"2100{level.id[-1] if level.id else 'A'}")
        if rejection is not None and refusal is None:
            refusal, refused_at = rejection, _LEVELS.get(level.id or "", "20")
    for receiver in source.children("2000B"):
        for subscriber in receiver.children("2000C"):
            for level in [subscriber, *subscriber.children("2000D")]:
                answer = _member_answer(level, subscriber, payer_id, reference)
                if answer is not None:
                    answers.append(answer)
    if not answers and refusal is not None:
        return [
            EligibilityResponse(
                "",
                payer_id,
                "",
                False,
                rejection_code=refusal[3] or "unknown",
                rejection_action=refusal[4] or None,
                level=refused_at,
                reference=reference,
            )
        ]
    return answers


def _rejection(level: Loop, name_loop: str) -> Segment | None:
    name = level.child(name_loop)
    return level.seg("AAA") or (name.seg("AAA") if name else None)


def _member_answer(level: Loop, subscriber: Loop, payer_id: str, reference: str) -> EligibilityResponse | None:
    """One member's answer: an AAA for the member (or every benefit's), else the coverage its EBs say.
    A level with neither (a subscriber whose dependents are the ones answered) answers nothing. A
    dependent is known by the subscriber's member id, and may share the subscriber's trace."""
    suffix = level.id[-1] if level.id else "C"
    name = level.child(f"2100{suffix}")
    benefits = level.children(f"2110{suffix}")
    # TRN*2 echoes the 270's trace; a TRN*1 is the payer's own (used when nothing is echoed)
    trace = next((t for t in _traces(level) + _traces(subscriber) if t), None)
    holder = subscriber.child("2100C")
    member_id = (name.opener[9] if name else "") or (holder.opener[9] if holder else "")
    base = EligibilityResponse(
        trace[2] if trace else "",
        payer_id,
        member_id,
        False,
        level=_LEVELS.get(level.id or "", "22"),
        reference=reference,
    )
    eb = [b.opener for b in benefits]
    status = next((s for s in eb if s[1] in ACTIVE | INACTIVE), None)
    rejection = (name.seg("AAA") if name else None) or next((b.seg("AAA") for b in benefits if b.seg("AAA")), None)
    if status is None and rejection is not None:
        return replace(base, rejection_code=rejection[3] or "unknown", rejection_action=rejection[4] or None)
    if status is None:
        return None
    return replace(
        base,
        active=status[1] in ACTIVE,
        plan_name=status[5] or None,
        copay=_money(eb, "B"),
        deductible_remaining=_money(eb, "C", "29"),
        coinsurance=next((Decimal(s[8]) for s in eb if s[1] == "A" and s[8]), None),
    )


def _traces(level: Loop) -> list[Segment | None]:
    return [level.seg("TRN", "2"), level.seg("TRN")]


def _money(benefits: list[Segment], code: str, period: str | None = None) -> Decimal | None:
    """The first EB07 amount of benefit `code` (and time period EB06) that has one: numbers the guide
    layer checked."""
    for s in benefits:
        if s[1] == code and (period is None or s[6] == period) and s[7]:
            return Decimal(s[7])
    return None
