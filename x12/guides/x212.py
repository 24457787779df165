"""276 claim status request and 277 claim status response, 005010X212.

Levels: information source, the payer (HL 20) > information receiver (21) > service provider (19) >
subscriber (22) > dependent (23). A claim is a 2200D (subscriber is the patient) or 2200E loop: its
TRN, references, and in the 277 its STC statuses; lines (2210/2220) below it."""

from x12.reading import MANY, Guide, LoopRule, SegmentRule, Usage, el, loop, req, seg

VERSION = "005010X212"

_TRN = (req(1, "trace type code", "ID", "1 2"), req(2, "trace number"))
_DTP = (req(2, "date time period format qualifier", "ID", "D8 RD8"), req(3, "date time period", "PERIOD"))
_DMG = (
    req(1, "date time period format qualifier", "ID", "D8"),
    req(2, "birth date", "DT"),
    el(3, "gender", "ID", "F M U"),
)
_STC = (
    req(1, "health care claim status category code", component=1),
    req(1, "health care claim status code", component=2),
    req(2, "status information effective date", "DT"),
    el(4, "total claim charge amount", "R"),
    el(5, "claim payment amount", "R"),
)
_SVC = (
    req(1, "product or service id qualifier", "ID", "AD ER HC HP IV N4 NU WK", component=1),
    req(1, "procedure code", component=2),
    req(2, "line item charge amount", "R"),
    el(3, "line item provider payment amount", "R"),
)
_CLAIM_REFERENCES = (
    ("1K", "payer claim control number"),
    ("BLT", "institutional bill type identification"),
    ("EA", "medical record identification"),
    ("EJ", "patient control number"),
    ("XZ", "pharmacy prescription number"),
    ("VV", "voucher identifier"),
    ("D9", "claim identification number for clearinghouses"),
)


def _hl(level: str, name: str) -> SegmentRule:
    return seg(f"HL*{level}", name, "R", 1, req(1, "hierarchical id number"), req(3, "level code", "ID", level), at=3)


def _name(qualifiers: str, name: str) -> SegmentRule:
    return seg(f"NM1*{qualifiers}", name, "R", 1, req(2, "entity type qualifier", "ID", "1 2"))


def _references() -> tuple[SegmentRule, ...]:
    return tuple(seg(f"REF*{q}", name, "S", 1, req(2, "reference identification")) for q, name in _CLAIM_REFERENCES)


def _claim(level: str, request: bool, usage: Usage) -> LoopRule:
    line = loop(
        f"22{'1' if request else '2'}0{level}",
        "service line information",
        "S",
        MANY,
        seg("SVC", "service line information", "R", 1, *_SVC),
        *(() if request else (seg("STC", "service line level status information", "R", MANY, *_STC),)),
        seg("REF*FJ", "service line item identification", "S", 1, req(2, "line item control number")),
        seg("DTP*472", "service line date", "S" if request else "R", 1, *_DTP),
    )
    status: tuple[SegmentRule, ...] = (
        () if request else (seg("STC", "claim level status information", "R", MANY, *_STC),)
    )
    amount: tuple[SegmentRule, ...] = (seg("AMT*T3", "claim submitted charges", "S", 1, req(2, "claim charge", "R")),)
    return loop(
        f"2200{level}",
        "claim status tracking number",
        usage,
        MANY,
        seg("TRN", "claim status tracking number", "R", 1, *_TRN),
        *status,
        *_references(),
        *(amount if request else ()),
        seg("DTP*472", "claim service date", "S", 1, *_DTP),
        line,
    )


def _trace_status(level: str) -> LoopRule:
    """2200B/2200C of a 277: a trace and the status of a whole level (situational)."""
    return loop(
        f"2200{level}",
        "trace identifier",
        "S",
        1,
        seg("TRN", "trace identifier", "R", 1, *_TRN),
        seg("STC", "status information", "R", MANY, *_STC),
    )


def _demographics(who: str, request: bool) -> tuple[SegmentRule, ...]:
    return (seg("DMG", f"{who} demographic information", "S", 1, *_DMG),) if request else ()


def _patients(request: bool) -> LoopRule:
    """2000D, the subscriber, with the claims asked about or answered, and 2000E dependents with theirs."""
    dependent = loop(
        "2000E",
        "dependent level",
        "S",
        MANY,
        _hl("23", "dependent level"),
        *_demographics("dependent", request),
        loop("2100E", "dependent name", "R", 1, _name("QC", "dependent name")),
        _claim("E", request, "R"),
    )
    usage: Usage = "R" if request else "S"
    return loop(
        "2000D",
        "subscriber level",
        usage,
        MANY,
        _hl("22", "subscriber level"),
        *_demographics("subscriber", request),
        loop("2100D", "subscriber name", "R", 1, _name("IL", "subscriber name")),
        _claim("D", request, "S"),
        dependent,
    )


def _guide(set_id: str, functional_id: str, purposes: str, request: bool) -> Guide:
    usage: Usage = "R" if request else "S"
    provider_name = loop("2100C", "provider name", "R", 2, _name("1P", "provider name"))
    provider_status = () if request else (_trace_status("C"),)
    provider = loop(
        "2000C",
        "service provider level",
        usage,
        MANY,
        _hl("19", "service provider level"),
        provider_name,
        *provider_status,
        _patients(request),
    )
    receiver_name = loop("2100B", "information receiver name", "R", 1, _name("41", "information receiver name"))
    receiver_status = () if request else (_trace_status("B"),)
    receiver = loop(
        "2000B",
        "information receiver level",
        "R",
        MANY,
        _hl("21", "information receiver level"),
        receiver_name,
        *receiver_status,
        provider,
    )
    payer_contact: tuple[SegmentRule, ...] = () if request else (seg("PER*IC", "payer contact information", "S", 1),)
    payer = loop("2100A", "payer name", "R", 1, _name("PR", "payer name"), *payer_contact)
    source = loop(
        "2000A", "information source level", "R", MANY, _hl("20", "information source level"), payer, receiver
    )
    header = seg(
        "BHT",
        "beginning of hierarchical transaction",
        "R",
        1,
        req(1, "hierarchical structure code", "ID", "0010"),
        req(2, "transaction set purpose code", "ID", purposes),
        req(4, "date", "DT"),
        el(5, "time", "TM"),
    )
    return Guide(VERSION, set_id, functional_id, (header, source))


REQUEST = _guide("276", "HR", "13", request=True)
RESPONSE = _guide("277", "HN", "08", request=False)
