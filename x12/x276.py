"""X12 276 health care claim status request (005010X212): claims asked about by the provider when the
payer has not answered them. The payer finds a claim by the patient control number (TRN02 is the
trace its 277 echoes; REF*1K the payer's own number when known), the charge and the dates.

Written: one claim. Read on the guide (x12/guides/x212.py): every claim (2200D for a subscriber who
is the patient, 2200E for a dependent) of every provider. pyx12 has no 276 map: the guide walk, round
trips and the conformance corpus check it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from x12.envelope import Envelope, amount
from x12.errors import X12Error
from x12.guides.x212 import REQUEST
from x12.reading import Loop, Segment, envelope_of, read_sets, refuse_on
from x12.x270 import Party, parse_dates, render_transaction, x12_text

VERSION = "005010X212"


@dataclass(frozen=True)
class StatusRequest:
    trace_number: str  # TRN02: echoed in the 277, how the answer finds its question
    payer: Party
    provider: Party  # the billing provider, also the information receiver
    member_id: str
    last_name: str
    first_name: str
    patient_control_number: str  # CLM01 of the claim asked about (REF*EJ)
    charge: Decimal | None  # AMT*T3 (situational)
    service_from: date | None  # DTP*472 (situational)
    service_to: date | None
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
    if request.charge is not None:
        segments.append(["AMT", "T3", amount(request.charge)])
    if request.service_from and request.service_to:
        segments.append(["DTP", "472", "RD8", f"{request.service_from:%Y%m%d}-{request.service_to:%Y%m%d}"])
    return render_transaction(segments, "276", "HR", env, version=VERSION)


def parse_276(text: str) -> tuple[Envelope, StatusRequest]:
    """The first claim a 276 asks about, and its envelope (what the payer simulator answers)."""
    envelope, requests = read_276(text)
    if not requests:
        raise X12Error("the 276 asks about no claim", "TRN")
    return envelope, requests[0]


def read_276(text: str) -> tuple[Envelope, list[StatusRequest]]:
    """Every claim a 276 asks about; X12Error naming every issue when it does not follow the guide."""
    interchange, sets = read_sets(text, REQUEST)
    refuse_on(sets)
    requests = [request for read in sets for request in claims_asked(read.root, _request)]
    return envelope_of(interchange, interchange.groups[0]), requests


T = TypeVar("T")


def claims_asked(root: Loop, read: Callable[[Loop, Party, Party, Loop, Loop], T]) -> list[T]:
    """Each claim loop (2200D under a subscriber, 2200E under a dependent) with its payer, provider,
    subscriber name loop and patient name loop: what a 276 and a 277 share."""
    found: list[T] = []
    for source in root.children("2000A"):
        payer = _party(source, "2100A")
        for receiver in source.children("2000B"):
            for provider_level in receiver.children("2000C"):
                provider = _party(provider_level, "2100C")
                for subscriber in provider_level.children("2000D"):
                    holder = subscriber.child("2100D")
                    assert holder is not None  # required by the guide
                    found += [read(claim, payer, provider, holder, holder) for claim in subscriber.children("2200D")]
                    for dependent in subscriber.children("2000E"):
                        patient = dependent.child("2100E") or holder
                        found += [
                            read(claim, payer, provider, holder, patient) for claim in dependent.children("2200E")
                        ]
    return found


def _party(level: Loop, name_loop: str) -> Party:
    name = level.child(name_loop)
    assert name is not None  # required by the guide
    return Party(name.opener[3], name.opener[9])


def _request(claim: Loop, payer: Party, provider: Party, holder: Loop, patient: Loop) -> StatusRequest:
    references = {s[1]: s[2] for s in claim.segs("REF")}
    amount_segment, period = claim.seg("AMT", "T3"), claim.seg("DTP", "472")
    service_from, service_to = service_period(period)
    return StatusRequest(
        trace_number=claim.opener[2],
        payer=payer,
        provider=provider,
        member_id=holder.opener[9],
        last_name=patient.opener[3],
        first_name=patient.opener[4],
        patient_control_number=references.get("EJ", ""),
        charge=Decimal(amount_segment[2]) if amount_segment else None,
        service_from=service_from,
        service_to=service_to,
        payer_claim_control_number=references.get("1K"),
    )


def service_period(dtp: Segment | None) -> tuple[date | None, date | None]:
    """DTP*472 as a (from, to) pair: D8 one day, RD8 a range (the guide layer checked the dates)."""
    if dtp is None:
        return None, None
    days = [parse_dates(day, "DTP") for day in dtp[3].split("-")]
    return days[0], days[-1]
