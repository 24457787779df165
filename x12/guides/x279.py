"""270 eligibility inquiry and 271 eligibility response, 005010X279A1.

The levels nest as the guide draws them: information source (HL 20) > information receiver (21) >
subscriber (22) > dependent (23). A 271 may answer at any level with AAA (request validation): at
2100A/2100B when the request could not be processed at all, at 2100C/2100D for one member."""

from x12.reading import MANY, ElementRule, Guide, LoopRule, SegmentRule, Usage, el, loop, req, seg

VERSION = "005010X279A1"
_NAME_QUALIFIERS = "24 34 46 FI II MI NI PI PP SV XV XX"


def _hl(level: str, name: str) -> SegmentRule:
    return seg(
        f"HL*{level}",
        name,
        "R",
        1,
        req(1, "hierarchical id number"),
        req(3, "hierarchical level code", "ID", level),
        el(4, "hierarchical child code", "ID", "0 1"),
        at=3,
    )


def _nm1(qualifiers: str, name: str) -> SegmentRule:
    return seg(
        f"NM1*{qualifiers}",
        name,
        "R",
        1,
        req(2, "entity type qualifier", "ID", "1 2"),
        el(8, "identification code qualifier", "ID", _NAME_QUALIFIERS),
    )


_TRN = (req(1, "trace type code", "ID", "1 2"), req(2, "reference identification"), req(3, "originating company id"))
_DTP = (req(2, "date time period format qualifier", "ID", "D8 RD8"), req(3, "date time period", "PERIOD"))
_DMG = (
    req(1, "date time period format qualifier", "ID", "D8"),
    req(2, "birth date", "DT"),
    el(3, "gender", "ID", "F M U"),
)


def _aaa(follow_ups: str = "C N R S W X Y") -> tuple[ElementRule, ...]:
    """AAA's elements; the follow-up actions allowed differ by loop (P, please resubmit the original
    transaction, is for the information source: 2000A and 2100A; W and X not at 2000A)."""
    return (
        req(1, "valid request indicator", "ID", "N Y"),
        el(3, "reject reason code"),
        el(4, "follow-up action code", "ID", follow_ups),
    )


_AAA = _aaa()
_EB = (req(1, "eligibility or benefit information code"), el(7, "benefit amount", "R"), el(8, "benefit percent", "R"))


def _member(who: str, response: bool) -> tuple[SegmentRule, ...]:
    """The segments of 2100C/2100D after NM1: address, AAA (271), provider, demographics..."""
    segments = [
        seg("REF", f"{who} additional identification", "S", 9, req(2, "reference identification")),
        seg("N3", f"{who} address", "S", 1, req(1, "address")),
        seg("N4", f"{who} city, state, ZIP code", "S", 1, req(1, "city")),
    ]
    if response:
        segments.append(seg("AAA", f"{who} request validation", "S", 9, *_AAA))
    segments += [
        seg("PRV", "provider information", "S", 1, req(1, "provider code")),
        seg("DMG", f"{who} demographic information", "S", 1, *_DMG),
        seg("INS", f"{who} relationship", "S", 1, req(1, "insured indicator", "ID", "N Y")),
        seg("HI", f"{who} health care diagnosis code", "S", 1),
        seg("DTP", f"{who} date", "S", 9 if response else 2, *_DTP),
    ]
    if response:
        segments.append(seg("MPI", f"{who} military personnel information", "S", 1))
    return tuple(segments)


def _inquiry(level: str) -> LoopRule:
    return loop(
        f"2110{level}",
        "eligibility or benefit inquiry",
        "S",
        99,
        seg("EQ", "eligibility or benefit inquiry", "R", 1),
        seg("AMT*R", "spend down amount", "S", 1, req(2, "amount", "R")),
        seg("AMT*PB", "spend down total billed amount", "S", 1, req(2, "amount", "R")),
        seg("III", "eligibility or benefit additional inquiry information", "S", 10),
        seg("REF*9F G1", "additional information identification", "S", 1, req(2, "reference identification")),
        seg("DTP*291", "eligibility or benefit date", "S", 1, *_DTP),
    )


def _benefit(level: str) -> LoopRule:
    return loop(
        f"2110{level}",
        "eligibility or benefit information",
        "S",
        MANY,
        seg("EB", "eligibility or benefit information", "R", 1, *_EB),
        seg("HSD", "health care services delivery", "S", 9),
        seg("REF", "additional identification", "S", 9, req(2, "reference identification")),
        seg("DTP", "eligibility or benefit date", "S", 20, *_DTP),
        seg("AAA", "request validation", "S", 9, *_AAA),
        seg("MSG", "message text", "S", 10, req(1, "free-form message text")),
        loop(f"2115{level}", "additional information", "S", 10, seg("III", "additional information", "R", 1)),
        seg("LS", "loop header", "S", 1, req(1, "loop identifier code", "ID", "2120")),
        loop(
            f"2120{level}",
            "benefit related entity",
            "S",
            23,
            seg("NM1", "benefit related entity name", "R", 1, req(1, "entity identifier code")),
            seg("N3", "benefit related entity address", "S", 1),
            seg("N4", "benefit related entity city, state, ZIP code", "S", 1),
            seg("PER", "benefit related entity contact information", "S", 3),
            seg("PRV", "benefit related provider information", "S", 1),
        ),
        seg("LE", "loop trailer", "S", 1, req(1, "loop identifier code", "ID", "2120")),
    )


def _members(response: bool) -> LoopRule:
    """2000C, the subscriber, with its name, inquiries (270) or benefits (271), and 2000D dependents."""
    details = _benefit if response else _inquiry
    trace = seg("TRN", "trace number", "S", 3 if response else 2, *_TRN)
    dependent_name = loop(
        "2100D", "dependent name", "R", 1, _nm1("03", "dependent name"), *_member("dependent", response)
    )
    dependent = loop(
        "2000D", "dependent level", "S", MANY, _hl("23", "dependent level"), trace, dependent_name, details("D")
    )
    subscriber_name = loop(
        "2100C", "subscriber name", "R", 1, _nm1("IL", "subscriber name"), *_member("subscriber", response)
    )
    usage: Usage = "S" if response else "R"
    return loop(
        "2000C",
        "subscriber level",
        usage,
        MANY,
        _hl("22", "subscriber level"),
        trace,
        subscriber_name,
        details("C"),
        dependent,
    )


def _receiver(response: bool) -> LoopRule:
    """2000B, the provider asking, with its name (and, in a 271, its AAA)."""
    where: tuple[SegmentRule, ...] = (
        (seg("AAA", "information receiver request validation", "S", 9, *_AAA),)
        if response
        else (
            seg("N3", "information receiver address", "S", 1),
            seg("N4", "information receiver city, state, ZIP", "S", 1),
        )
    )
    name = loop(
        "2100B",
        "information receiver name",
        "R",
        1,
        _nm1("1P 2B 36 80 FA GP P5 PR", "information receiver name"),
        seg("REF", "information receiver additional identification", "S", 9, req(2, "reference identification")),
        *where,
        seg("PRV", "information receiver provider information", "S", 1),
    )
    usage: Usage = "S" if response else "R"
    return loop(
        "2000B",
        "information receiver level",
        usage,
        MANY,
        _hl("21", "information receiver level"),
        name,
        _members(response),
    )


def _guide(set_id: str, functional_id: str, purposes: str) -> Guide:
    response = set_id == "271"
    validation_of_level = (seg("AAA", "request validation", "S", 9, *_aaa("C N P R S Y")),) if response else ()
    validation = (seg("AAA", "request validation", "S", 9, *_aaa("C N P R S W X Y")),) if response else ()
    contact = (seg("PER", "information source contact information", "S", 3),) if response else ()
    name = loop(
        "2100A",
        "information source name",
        "R",
        1,
        _nm1("2B 36 GP P5 PR", "information source name"),
        *contact,
        *validation,
    )
    source = loop(
        "2000A",
        "information source level",
        "R",
        MANY,
        _hl("20", "information source level"),
        *validation_of_level,
        name,
        _receiver(response),
    )
    header = seg(
        "BHT",
        "beginning of hierarchical transaction",
        "R",
        1,
        req(1, "hierarchical structure code", "ID", "0022"),
        req(2, "transaction set purpose code", "ID", purposes),
        req(4, "date", "DT"),
        el(5, "time", "TM"),
    )
    return Guide(VERSION, set_id, functional_id, (header, source))


INQUIRY = _guide("270", "HS", "01 13")
RESPONSE = _guide("271", "HB", "06 11")
