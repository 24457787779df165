"""X12 270 eligibility, coverage or benefit inquiry (005010X279A1).

Written: one subscriber, one inquiry. Read on the guide (x12/guides/x279.py): every subscriber (HL 22)
and dependent (HL 23) asked about, each an EligibilityRequest. pyx12 has no 270/271 map: the guide
walk, round trips and the conformance corpus check these. Names are upper-cased ASCII as the 5010
basic character set needs."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from x12.envelope import DEFAULT, Element, Envelope, Separators, render_segment
from x12.errors import X12Error
from x12.guides.x279 import INQUIRY
from x12.reading import Loop, envelope_of, read_sets, refuse_on

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
    birth_date: date | None  # a 270 about a dependent may leave the subscriber's out
    sex: str  # M, F, U


@dataclass(frozen=True)
class Dependent:
    """A dependent (HL 23) asked about: known to the payer through the subscriber's member id."""

    first_name: str
    last_name: str
    birth_date: date | None
    sex: str


@dataclass(frozen=True)
class EligibilityRequest:
    trace_number: str  # TRN02: echoed in the 271, how the answer finds its question
    payer: Party
    provider: Party
    subscriber: Subscriber
    service_date: date | None  # DTP*291; a payer answers for today without it
    service_type: str = "30"  # health benefit plan coverage
    dependent: Dependent | None = None


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
    birth = f"{subscriber.birth_date:%Y%m%d}" if subscriber.birth_date else ""
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
        ["DMG", "D8", birth, SEX_CODES.get(subscriber.sex, "U")] if birth else [],
    ]


def render_270(request: EligibilityRequest, env: Envelope) -> str:
    segments = header_segments("13", request.trace_number, env.created, request.payer, request.provider)
    segments.append(["TRN", "1", request.trace_number, "9" + request.provider.identifier[:9]])
    segments += [s for s in subscriber_segments(request.subscriber) if s]
    if request.service_date:
        segments.append(["DTP", "291", "D8", f"{request.service_date:%Y%m%d}"])
    segments.append(["EQ", request.service_type])
    return render_transaction(segments, "270", "HS", env)


def parse_dates(text: str, segment_id: str) -> date:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise X12Error(f"{segment_id}: not a CCYYMMDD date", segment_id) from None


def parse_270(text: str) -> tuple[Envelope, EligibilityRequest]:
    """The first inquiry of a 270 and its envelope (what the payer simulator answers)."""
    envelope, requests = read_270(text)
    if not requests:
        raise X12Error("the 270 asks about no one (no EQ)", "EQ")
    return envelope, requests[0]


def read_270(text: str) -> tuple[Envelope, list[EligibilityRequest]]:
    """Every subscriber and dependent a 270 asks about (an EQ in 2110C or 2110D); X12Error naming
    every issue when it does not follow the guide."""
    interchange, sets = read_sets(text, INQUIRY)
    refuse_on(sets)
    requests = [
        request
        for read in sets
        for source in read.root.children("2000A")
        for receiver in source.children("2000B")
        for request in _inquiries(read.root, source, receiver)
    ]
    return envelope_of(interchange, interchange.groups[0]), requests


def _inquiries(root: Loop, source: Loop, receiver: Loop) -> list[EligibilityRequest]:
    payer, provider = _party(source, "2100A"), _party(receiver, "2100B")
    bht = root.seg("BHT")
    reference = bht[3] if bht else ""
    requests = []
    for subscriber_level in receiver.children("2000C"):
        name = subscriber_level.child("2100C")
        assert name is not None  # required by the guide
        subscriber = Subscriber(name.opener[9], name.opener[4], name.opener[3], *_demographics(name))
        asked = [(subscriber_level, name, None)] + [
            (level, level.child("2100D"), Dependent(n.opener[4], n.opener[3], *_demographics(n)))
            for level in subscriber_level.children("2000D")
            if (n := level.child("2100D")) is not None
        ]
        for level, member, dependent in asked:
            inquiry = next(iter(level.children("2110C") + level.children("2110D")), None)
            if inquiry is None or member is None:
                continue
            trace = level.seg("TRN", "1") or subscriber_level.seg("TRN", "1")
            service = member.seg("DTP", "291") or inquiry.seg("DTP", "291")
            requests.append(
                EligibilityRequest(
                    trace_number=trace[2] if trace else reference,
                    payer=payer,
                    provider=provider,
                    subscriber=subscriber,
                    service_date=parse_dates(service[3][:8], "DTP") if service else None,
                    service_type=inquiry.opener[1] or "30",
                    dependent=dependent,
                )
            )
    return requests


def _party(level: Loop, name_loop: str) -> Party:
    name = level.child(name_loop)
    assert name is not None  # required by the guide
    return Party(name.opener[3], name.opener[9])


def _demographics(member: Loop) -> tuple[date | None, str]:
    dmg = member.seg("DMG")
    if dmg is None:
        return None, "U"
    return parse_dates(dmg[2], "DMG") if dmg[2] else None, dmg[3] or "U"
