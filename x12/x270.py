"""X12 270 eligibility, coverage or benefit inquiry (005010X279A1): one subscriber, one inquiry.

pyx12 has no 270/271 map: these are tested by round trip and by structure (envelope counts,
hierarchy, required segments). Names are upper-cased ASCII as the 5010 basic character set needs."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from x12.envelope import DEFAULT, Element, Envelope, Separators, element, read_interchange, render_segment
from x12.errors import X12Error

VERSION = "005010X279A1"
SEX_CODES = {"M": "M", "F": "F", "U": "U"}
UNDECOMPOSABLE = str.maketrans(
    {
        "Ø": "O",
        "ø": "o",
        "Æ": "AE",
        "æ": "ae",
        "ß": "ss",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Þ": "TH",
        "þ": "th",
        "Œ": "OE",
        "œ": "oe",
    }
)


def x12_text(value: str, limit: int) -> str:
    """Letters without accents, upper case, no separator characters: what every payer accepts."""
    plain = unicodedata.normalize("NFKD", value.translate(UNDECOMPOSABLE)).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.upper() if c.isalnum() or c in " -.,'&/")[:limit].strip()


@dataclass(frozen=True)
class Party:
    name: str  # organization name (payer, provider)
    identifier: str  # payer id (PI) or NPI (XX)


@dataclass(frozen=True)
class Subscriber:
    member_id: str
    first_name: str
    last_name: str
    birth_date: date
    sex: str  # M, F, U


@dataclass(frozen=True)
class EligibilityRequest:
    trace_number: str  # TRN02: echoed in the 271, how the answer finds its question
    payer: Party
    provider: Party
    subscriber: Subscriber
    service_date: date
    service_type: str = "30"  # health benefit plan coverage


def render_transaction(
    segments: Sequence[Sequence[Element]],
    set_id: str,
    functional_id: str,
    env: Envelope,
    sep: Separators = DEFAULT,
    version: str = VERSION,
) -> str:
    """ISA/GS/ST..SE/GE/IEA around one transaction set (x12.envelope knows only 837/835/999)."""
    for label, value in (("sender id", env.sender_id), ("receiver id", env.receiver_id)):
        if not value or len(value) > 15:
            raise X12Error(f"interchange {label} must be 1 to 15 characters")
    if not 0 < env.control_number < 10**9:
        raise X12Error("control numbers must have 1 to 9 digits")
    lines = [
        (
            f"ISA*00*{'':10}*00*{'':10}*ZZ*{env.sender_id:<15}*ZZ*{env.receiver_id:<15}"
            f"*{env.created:%y%m%d}*{env.created:%H%M}*^*00501*{env.control_number:09d}*0*{env.usage}*:~"
        ),
        render_segment(
            [
                "GS",
                functional_id,
                env.sender_id,
                env.receiver_id,
                f"{env.created:%Y%m%d}",
                f"{env.created:%H%M}",
                str(env.group_control_number),
                "X",
                version,
            ]
        ),
        render_segment(["ST", set_id, "0001", version]),
        *(render_segment(s) for s in segments),
        render_segment(["SE", str(len(segments) + 2), "0001"]),
        render_segment(["GE", "1", str(env.group_control_number)]),
        render_segment(["IEA", "1", f"{env.control_number:09d}"]),
    ]
    return "\n".join(lines) + "\n"


def header_segments(bht02: str, reference: str, created: datetime, payer: Party, provider: Party) -> list[list[str]]:
    return [
        ["BHT", "0022", bht02, reference[:50], f"{created:%Y%m%d}", f"{created:%H%M}"],
        ["HL", "1", "", "20", "1"],
        ["NM1", "PR", "2", x12_text(payer.name, 60), "", "", "", "", "PI", payer.identifier],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "1P", "2", x12_text(provider.name, 60), "", "", "", "", "XX", provider.identifier],
        ["HL", "3", "2", "22", "0"],
    ]


def subscriber_segments(subscriber: Subscriber) -> list[list[str]]:
    return [
        [
            "NM1",
            "IL",
            "1",
            x12_text(subscriber.last_name, 60),
            x12_text(subscriber.first_name, 35),
            "",
            "",
            "",
            "MI",
            subscriber.member_id,
        ],
        ["DMG", "D8", f"{subscriber.birth_date:%Y%m%d}", SEX_CODES.get(subscriber.sex, "U")],
    ]


def render_270(request: EligibilityRequest, env: Envelope) -> str:
    segments = header_segments("13", request.trace_number, env.created, request.payer, request.provider)
    segments.append(["TRN", "1", request.trace_number, "9" + request.provider.identifier[:9]])
    segments += subscriber_segments(request.subscriber)
    segments += [["DTP", "291", "D8", f"{request.service_date:%Y%m%d}"], ["EQ", request.service_type]]
    return render_transaction(segments, "270", "HS", env)


def single_transaction(text: str, set_id: str) -> tuple[Envelope, list[list[str]]]:
    _, env = read_interchange(text)
    if len(env.transactions) != 1 or env.transactions[0].set_id != set_id:
        raise X12Error(f"expected one {set_id} transaction set", "ST")
    return env, [list(s) for s in env.transactions[0].segments]


def find(segments: list[list[str]], segment_id: str, qualifier: str | None = None) -> list[str]:
    for segment in segments:
        if segment[0] == segment_id and (qualifier is None or element(segment, 1) == qualifier):
            return segment
    raise X12Error(f"{segment_id}{'*' + qualifier if qualifier else ''} segment is missing", segment_id)


def parse_dates(text: str, segment_id: str) -> date:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise X12Error(f"{segment_id}: not a CCYYMMDD date", segment_id) from None


def parse_270(text: str) -> tuple[Envelope, EligibilityRequest]:
    env, segments = single_transaction(text, "270")
    levels = [element(s, 3) for s in segments if s[0] == "HL"]
    if levels != ["20", "21", "22"]:
        raise X12Error("270 must hold the hierarchy payer (20), provider (21), subscriber (22)", "HL")
    payer, provider, member = find(segments, "NM1", "PR"), find(segments, "NM1", "1P"), find(segments, "NM1", "IL")
    demographics, trace = find(segments, "DMG"), find(segments, "TRN")
    service = find(segments, "DTP", "291")
    return env, EligibilityRequest(
        trace_number=element(trace, 2),
        payer=Party(element(payer, 3), element(payer, 9)),
        provider=Party(element(provider, 3), element(provider, 9)),
        subscriber=Subscriber(
            element(member, 9),
            element(member, 4),
            element(member, 3),
            parse_dates(element(demographics, 2), "DMG"),
            element(demographics, 3) or "U",
        ),
        service_date=parse_dates(element(service, 3), "DTP"),
        service_type=element(find(segments, "EQ"), 1) or "30",
    )
