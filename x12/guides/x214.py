"""277CA health care claim acknowledgment, 005010X214: the payer's or clearinghouse's front end says,
claim by claim, whether a claim was accepted into adjudication.

Levels: information source (HL 20, a payer or clearinghouse) > information receiver (21, the 837's
submitter) > billing provider (19) > patient (PT), each with a trace and its status (STC)."""

from x12.reading import MANY, Guide, SegmentRule, el, loop, req, seg

VERSION = "005010X214"

_STC = (
    req(1, "health care claim status category code", component=1),
    req(1, "health care claim status code", component=2),
    el(3, "action code", "ID", "U WQ"),
    el(4, "total claim charge amount", "R"),
)
_DTP = (req(2, "date time period format qualifier", "ID", "D8 RD8"), req(3, "date time period", "PERIOD"))


def _hl(level: str, name: str) -> SegmentRule:
    return seg(f"HL*{level}", name, "R", 1, req(1, "hierarchical id number"), req(3, "level code", "ID", level), at=3)


def _totals(accepted: str, rejected: str) -> tuple[SegmentRule, ...]:
    return (
        seg(f"QTY*{accepted}", "total accepted quantity", "S", 1, req(2, "quantity", "R")),
        seg(f"QTY*{rejected}", "total rejected quantity", "S", 1, req(2, "quantity", "R")),
        seg("AMT*YU", "total accepted amount", "S", 1, req(2, "amount", "R")),
        seg("AMT*YY", "total rejected amount", "S", 1, req(2, "amount", "R")),
    )


def _trn(code: str, name: str) -> SegmentRule:
    return seg("TRN", name, "R", 1, req(1, "trace type code", "ID", code), req(2, "trace number"))


_LINE = loop(
    "2220D",
    "service line information",
    "S",
    MANY,
    seg(
        "SVC",
        "service line information",
        "R",
        1,
        req(1, "product or service id qualifier", "ID", "AD ER HC HP IV N4 NU WK", component=1),
        req(1, "procedure code", component=2),
        req(2, "line item charge amount", "R"),
    ),
    seg("STC", "service line level status information", "R", MANY, *_STC),
    seg("REF*FJ", "service line item identification", "S", 1, req(2, "line item control number")),
    seg("REF*XZ", "pharmacy prescription number", "S", 1, req(2, "prescription number")),
    seg("DTP*472", "service line date", "S", 1, *_DTP),
)

_PATIENT = loop(
    "2000D",
    "patient level",
    "R",
    MANY,
    _hl("PT", "patient level"),
    loop("2100D", "patient name", "R", 1, seg("NM1*QC", "patient name", "R", 1, req(2, "entity type", "ID", "1"))),
    loop(
        "2200D",
        "claim status tracking number",
        "S",
        MANY,
        _trn("2", "claim status tracking number"),
        seg("STC", "claim level status information", "R", MANY, *_STC),
        seg("REF*1K", "payer claim control number", "S", 1, req(2, "payer claim control number")),
        seg("REF*D9", "claim identifier for transmission intermediaries", "S", 1, req(2, "claim identifier")),
        seg("REF*BLT", "institutional bill type identification", "S", 1, req(2, "bill type")),
        seg("DTP*472", "claim level service date", "R", 1, *_DTP),
        _LINE,
    ),
)

_PROVIDER = loop(
    "2000C",
    "billing provider of service level",
    "R",
    MANY,
    _hl("19", "billing provider of service level"),
    loop("2100C", "billing provider name", "R", MANY, seg("NM1*85", "billing provider name", "R", 1)),
    loop(
        "2200C",
        "provider of service information trace identifier",
        "R",
        1,
        _trn("1", "provider of service information trace identifier"),
        seg("STC", "billing provider status information", "S", MANY, *_STC),  # S: real 277CAs send TRN alone
        seg("REF*0B 1G G2 LU SY TJ", "provider secondary identifier", "S", 1, req(2, "identifier")),
        *_totals("QA", "QC"),
    ),
    _PATIENT,
)

_RECEIVER = loop(
    "2000B",
    "information receiver level",
    "R",
    1,
    _hl("21", "information receiver level"),
    loop("2100B", "information receiver name", "R", 1, seg("NM1*41", "information receiver name", "R", 1)),
    loop(
        "2200B",
        "information receiver trace identifier",
        "R",
        1,
        _trn("2", "information receiver trace identifier"),
        seg("STC", "information receiver status information", "R", MANY, *_STC),
        *_totals("90", "AA"),
    ),
    _PROVIDER,
)

GUIDE = Guide(
    VERSION,
    "277",
    "HN",
    (
        seg(
            "BHT",
            "beginning of hierarchical transaction",
            "R",
            1,
            req(1, "hierarchical structure code", "ID", "0085"),
            req(2, "transaction set purpose code", "ID", "08"),
            req(3, "originator application transaction identifier"),
            req(4, "transaction set creation date", "DT"),
            el(5, "transaction set creation time", "TM"),
            req(6, "transaction type code", "ID", "TH"),
        ),
        loop(
            "2000A",
            "information source level",
            "R",
            MANY,
            _hl("20", "information source level"),
            loop("2100A", "information source name", "R", 1, seg("NM1*AY PR", "information source name", "R", 1)),
            loop(
                "2200A",
                "transmission receipt control identifier",
                "R",
                MANY,
                _trn("1", "information source trace"),
                seg("DTP*050", "information source receipt date", "R", 1, *_DTP),
                seg("DTP*009", "information source process date", "R", 1, *_DTP),
            ),
            _RECEIVER,
        ),
    ),
)
