"""X12 271 eligibility, coverage or benefit information (005010X279A1): the answer to one 270.

What is read and written: active or inactive coverage (EB01 1 / 6), plan name, the office-visit
copay (EB01 B), the deductible remaining (EB01 C with EB06 29) and coinsurance (EB01 A), or a
request rejection (AAA with its reason code, e.g. 72 invalid member id)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from x12.envelope import Envelope, amount, element, to_decimal
from x12.errors import X12Error
from x12.x270 import (
    EligibilityRequest,
    header_segments,
    render_transaction,
    single_transaction,
    subscriber_segments,
    x12_text,
)


@dataclass(frozen=True)
class EligibilityResponse:
    trace_number: str
    payer_id: str
    member_id: str
    active: bool
    plan_name: str | None = None
    copay: Decimal | None = None
    deductible_remaining: Decimal | None = None
    coinsurance: Decimal | None = None  # a fraction: 0.2 is 20%
    rejection_code: str | None = None  # AAA03 when the payer could not answer for this member


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
    _, segments = single_transaction(text, "271")
    trace = next((s for s in segments if s[0] == "TRN" and element(s, 1) == "2"), None)
    payer = next((s for s in segments if s[0] == "NM1" and element(s, 1) == "PR"), None)
    member = next((s for s in segments if s[0] == "NM1" and element(s, 1) == "IL"), None)
    if trace is None or payer is None or member is None:
        raise X12Error("271 needs TRN*2, NM1*PR and NM1*IL", "TRN")
    common: dict[str, Any] = {
        "trace_number": element(trace, 2),
        "payer_id": element(payer, 9),
        "member_id": element(member, 9),
    }
    rejection = next((s for s in segments if s[0] == "AAA"), None)
    if rejection is not None:
        return EligibilityResponse(**common, active=False, rejection_code=element(rejection, 3) or "unknown")
    benefits = [s for s in segments if s[0] == "EB"]
    status = next((s for s in benefits if element(s, 1) in ("1", "6")), None)
    if status is None:
        raise X12Error("271 has neither an active (EB*1) nor an inactive (EB*6) coverage", "EB")

    def money(code: str, period: str | None = None) -> Decimal | None:
        for s in benefits:
            if element(s, 1) == code and (period is None or element(s, 6) == period) and element(s, 7):
                return to_decimal(element(s, 7), "EB07 amount", "EB")
        return None

    coinsurance = next(
        (to_decimal(element(s, 8), "EB08 percent", "EB") for s in benefits if element(s, 1) == "A" and element(s, 8)),
        None,
    )
    return EligibilityResponse(
        **common,
        active=element(status, 1) == "1",
        plan_name=element(status, 5) or None,
        copay=money("B"),
        deductible_remaining=money("C", "29"),
        coinsurance=coinsurance,
    )
