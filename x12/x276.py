"""X12 276 health care claim status request (005010X212): one claim, asked about by the provider
when the payer has not answered it. The payer finds the claim by the patient control number (TRN02
is the trace its 277 echoes; REF*1K the payer's own number when known), the charge and the dates.

Tested by round trip and by structure, like the 270 (pyx12 has no 276 map)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from x12.envelope import Envelope, amount, element, to_decimal
from x12.errors import X12Error
from x12.x270 import Party, find, parse_dates, render_transaction, single_transaction, x12_text

VERSION = "005010X212"


@dataclass(frozen=True)
class StatusRequest:
    trace_number: str  # TRN02: echoed in the 277, how the answer finds its question
    payer: Party
    provider: Party  # the billing provider, also the information receiver
    member_id: str
    last_name: str
    first_name: str
    patient_control_number: str  # CLM01 of the claim asked about
    charge: Decimal
    service_from: date
    service_to: date
    payer_claim_control_number: str | None = None


def request_segments(bht02: str, request: StatusRequest, created: datetime) -> list[list[str]]:
    """BHT and the four levels: payer (20), information receiver (21), provider (19), subscriber (22)."""
    return [
        ["BHT", "0010", bht02, request.trace_number[:50], f"{created:%Y%m%d}", f"{created:%H%M}"],
        ["HL", "1", "", "20", "1"],
        ["NM1", "PR", "2", x12_text(request.payer.name, 60), "", "", "", "", "PI", request.payer.identifier],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "41", "2", x12_text(request.provider.name, 60), "", "", "", "", "46", request.provider.identifier],
        ["HL", "3", "2", "19", "1"],
        ["NM1", "1P", "2", x12_text(request.provider.name, 60), "", "", "", "", "XX", request.provider.identifier],
        ["HL", "4", "3", "22", "0"],
        [
            "NM1",
            "IL",
            "1",
            x12_text(request.last_name, 60),
            x12_text(request.first_name, 35),
            "",
            "",
            "",
            "MI",
            request.member_id,
        ],
    ]


def claim_segments(trace_type: str, request: StatusRequest) -> list[list[str]]:
    segments = [["TRN", trace_type, request.trace_number]]
    if request.payer_claim_control_number:
        segments.append(["REF", "1K", request.payer_claim_control_number])
    segments.append(["REF", "EJ", request.patient_control_number])
    return segments


def render_276(request: StatusRequest, env: Envelope) -> str:
    if not request.trace_number or not request.patient_control_number:
        raise X12Error("a 276 needs a trace number and the patient control number", "TRN")
    segments = request_segments("13", request, env.created) + claim_segments("1", request)
    segments += [
        ["AMT", "T3", amount(request.charge)],
        ["DTP", "472", "RD8", f"{request.service_from:%Y%m%d}-{request.service_to:%Y%m%d}"],
    ]
    return render_transaction(segments, "276", "HR", env, version=VERSION)


def read_request(segments: list[list[str]], trace_type: str) -> StatusRequest:
    """The parts a 276 and a 277 share: the levels, the trace and the claim's references."""
    levels = [element(s, 3) for s in segments if s[0] == "HL"]
    if levels != ["20", "21", "19", "22"]:
        raise X12Error("expected the hierarchy payer (20), receiver (21), provider (19), subscriber (22)", "HL")
    payer, provider, member = find(segments, "NM1", "PR"), find(segments, "NM1", "1P"), find(segments, "NM1", "IL")
    trace = find(segments, "TRN", trace_type)
    references = {element(s, 1): element(s, 2) for s in segments if s[0] == "REF"}
    if not element(trace, 2) or not references.get("EJ"):
        raise X12Error(f"TRN*{trace_type} and REF*EJ (the patient control number) are required", "TRN")
    return StatusRequest(
        trace_number=element(trace, 2),
        payer=Party(element(payer, 3), element(payer, 9)),
        provider=Party(element(provider, 3), element(provider, 9)),
        member_id=element(member, 9),
        last_name=element(member, 3),
        first_name=element(member, 4),
        patient_control_number=references["EJ"],
        charge=Decimal("0.00"),
        service_from=date.min,
        service_to=date.min,
        payer_claim_control_number=references.get("1K") or None,
    )


def parse_276(text: str) -> tuple[Envelope, StatusRequest]:
    env, segments = single_transaction(text, "276")
    request = read_request(segments, "1")
    period = element(find(segments, "DTP", "472"), 3).split("-")
    if len(period) != 2:
        raise X12Error("DTP*472 must be a range CCYYMMDD-CCYYMMDD", "DTP")
    charge = to_decimal(element(find(segments, "AMT", "T3"), 2), "AMT02 charge", "AMT")
    return env, StatusRequest(
        **{
            **request.__dict__,
            "charge": charge,
            "service_from": parse_dates(period[0], "DTP"),
            "service_to": parse_dates(period[1], "DTP"),
        }
    )
