"""835 health care claim payment/advice, 005010X221A1."""

from x12.reading import MANY, ElementRule, Guide, el, loop, req, seg

ADJUSTMENT_GROUPS = "CO OA PI PR"
PROCEDURE_QUALIFIERS = "AD ER HC HP IV N4 N6 NU UI WK"
PROVIDER_ADJUSTMENT_REASONS = (
    "50 51 72 90 AH AM AP B2 B3 BD BN C5 CR CS CT CV CW DM E3 FB FC GO HM IP IR IS J1 L3 L6 LE LS OA OB PI PL RA "
    "RE SL TL WO WU"
)
CLAIM_STATUSES = "1 2 3 4 19 20 21 22 23 25"
CLAIM_FILING_INDICATORS = "12 13 14 15 16 17 AM CH DS HM LM MA MB MC OF TV VA WC ZZ"
PROVIDER_IDS = "0B 1A 1B 1C 1D 1G 1H 1J D3 G2"


def _cas() -> tuple[ElementRule, ...]:
    amounts = [el(n, f"adjustment amount {n // 3}", "R") for n in (6, 9, 12, 15, 18)]
    quantities = [el(n, f"adjustment quantity {(n - 1) // 3}", "R") for n in (4, 7, 10, 13, 16, 19)]
    return (
        req(1, "claim adjustment group code", "ID", ADJUSTMENT_GROUPS),
        req(2, "adjustment reason code"),
        req(3, "adjustment amount", "R"),
        *amounts,
        *quantities,
    )


_PLB_PAIRS = [
    element
    for n in (5, 7, 9, 11, 13)
    for element in (
        el(n, "provider adjustment reason code", "ID", PROVIDER_ADJUSTMENT_REASONS, component=1),
        el(n + 1, "provider adjustment amount", "R"),
    )
]

SERVICE = loop(
    "2110",
    "service payment information",
    "S",
    999,
    seg(
        "SVC",
        "service payment information",
        "R",
        1,
        req(1, "product or service id qualifier", "ID", PROCEDURE_QUALIFIERS, component=1),
        req(1, "procedure code", component=2),
        req(2, "line item charge amount", "R"),
        req(3, "line item provider payment amount", "R"),
        el(5, "units of service paid", "R"),
        el(6, "original product or service id qualifier", "ID", PROCEDURE_QUALIFIERS, component=1),
        el(7, "original units of service", "R"),
    ),
    seg("DTM*150 151 472", "service date", "S", 2, req(2, "service date", "DT")),
    seg("CAS", "service adjustment", "S", 99, *_cas()),
    seg("REF*1S APC BB E9 G1 G3 LU RB", "service identification", "S", 8, req(2, "reference")),
    seg("REF*6R", "line item control number", "S", 1, req(2, "line item control number")),
    seg(f"REF*{PROVIDER_IDS} HPI SY TJ", "rendering provider information", "S", 10, req(2, "provider identifier")),
    seg("REF*0K", "healthcare policy identification", "S", 5, req(2, "policy identifier")),
    seg("AMT*B6 KH T T2 ZK ZL ZM ZN ZO", "service supplemental amount", "S", 9, req(2, "amount", "R")),
    seg("QTY*ZK ZL ZM ZN ZO", "service supplemental quantity", "S", 6, req(2, "quantity", "R")),
    seg("LQ*HE RX", "health care remark codes", "S", 99, req(2, "remark code")),
)

CLAIM = loop(
    "2100",
    "claim payment information",
    "R",
    MANY,
    seg(
        "CLP",
        "claim payment information",
        "R",
        1,
        req(1, "patient control number"),
        req(2, "claim status", "ID", CLAIM_STATUSES),
        req(3, "total claim charge", "R"),
        req(4, "paid amount", "R"),
        el(5, "patient responsibility", "R"),
        req(6, "claim filing indicator", "ID", CLAIM_FILING_INDICATORS),
        req(7, "payer claim control number"),
    ),
    seg("CAS", "claim adjustment", "S", 99, *_cas()),
    seg("NM1*QC", "patient name", "R", 1, el(8, "identification code qualifier", "ID", "34 HN II MI MR")),
    seg("NM1*IL", "insured name", "S", 1),
    seg("NM1*74", "corrected patient/insured name", "S", 1),
    seg(
        "NM1*82",
        "service provider name",
        "S",
        1,
        req(8, "identification code qualifier", "ID", "BD BS FI MC PC SL UP XX"),
        req(9, "service provider identifier"),
    ),
    seg("NM1*TT", "crossover carrier name", "S", 1),
    seg("NM1*PR", "corrected priority payer name", "S", 1),
    seg("NM1*GB", "other subscriber name", "S", 1),
    seg("MIA", "inpatient adjudication information", "S", 1, req(1, "covered days or visits", "R")),
    seg("MOA", "outpatient adjudication information", "S", 1),
    seg("REF*1L 1W 28 6P 9A 9C BB CE EA F8 G1 G3 IG SY", "other claim related identification", "S", 5),
    seg(f"REF*{PROVIDER_IDS} LU", "rendering provider identification", "S", 10),
    seg("DTM*232 233", "statement from or to date", "S", 2, req(2, "statement date", "DT")),
    seg("DTM*036", "coverage expiration date", "S", 1, req(2, "coverage expiration date", "DT")),
    seg("DTM*050", "claim received date", "S", 1, req(2, "claim received date", "DT")),
    seg("PER*CX", "claim contact information", "S", 2),
    seg("AMT*AU D8 DY F5 I NL T T2 ZK ZL ZM ZN ZO", "claim supplemental amount", "S", 13, req(2, "amount", "R")),
    seg(
        "QTY*CA CD LA LE NE NR OU PS VS ZK ZL ZM ZN ZO", "claim supplemental quantity", "S", 14, req(2, "quantity", "R")
    ),
    SERVICE,
)

GUIDE = Guide(
    "005010X221A1",
    "835",
    "HP",
    (
        seg(
            "BPR",
            "financial information",
            "R",
            1,
            req(1, "transaction handling code", "ID", "C D H I P U X"),
            req(2, "total actual provider payment amount", "R"),
            req(3, "credit or debit flag", "ID", "C D"),
            req(4, "payment method", "ID", "ACH BOP CHK FWT NON"),
            req(16, "payment date", "DT"),
        ),
        seg(
            "TRN",
            "reassociation trace number",
            "R",
            1,
            req(1, "trace type", "ID", "1"),
            req(2, "check or EFT trace number"),
            req(3, "payer identifier"),
        ),
        seg("CUR", "foreign currency information", "S", 1, req(2, "currency code")),
        seg("REF*EV", "receiver identification", "S", 1, req(2, "receiver identifier")),
        seg("REF*F2", "version identification", "S", 1, req(2, "version")),
        seg("DTM*405", "production date", "S", 1, req(2, "production date", "DT")),
        loop(
            "1000A",
            "payer identification",
            "R",
            1,
            seg(
                "N1*PR",
                "payer identification",
                "R",
                1,
                req(2, "payer name"),
                el(3, "identification code qualifier", "ID", "XV"),
            ),
            seg("N3", "payer address", "R", 1, req(1, "address")),
            seg("N4", "payer city, state, ZIP code", "R", 1, req(1, "city")),
            seg("REF*2U EO HI NF", "additional payer identification", "S", 4, req(2, "payer identifier")),
            seg(
                "PER*CX",
                "payer business contact information",
                "S",
                1,
                el(3, "communication number qualifier", "ID", "EM FX TE"),
            ),
            seg(
                "PER*BL",
                "payer technical contact information",
                "R",
                MANY,
                el(3, "communication number qualifier", "ID", "EM TE UR"),
                el(5, "communication number qualifier", "ID", "EM EX FX TE UR"),
                el(7, "communication number qualifier", "ID", "EM EX FX UR"),
            ),
            seg(
                "PER*IC",
                "payer web site",
                "S",
                1,
                req(3, "communication number qualifier", "ID", "UR"),
                req(4, "web site"),
            ),
        ),
        loop(
            "1000B",
            "payee identification",
            "R",
            1,
            seg(
                "N1*PE",
                "payee identification",
                "R",
                1,
                req(2, "payee name"),
                req(3, "payee identification code qualifier (XX NPI, FI tax id, XV CMS plan id)", "ID", "FI XV XX"),
                req(4, "payee identification code"),
            ),
            seg("N3", "payee address", "S", 1, req(1, "address")),
            seg("N4", "payee city, state, ZIP code", "S", 1, req(1, "city")),
            seg("REF*0B D3 PQ TJ", "payee additional identification", "S", MANY, req(2, "payee identifier")),
            seg("RDM", "remittance delivery method", "S", 1, req(1, "report transmission code", "ID", "BM EM FT OL")),
        ),
        loop(
            "2000",
            "header number",
            "S",
            MANY,
            seg("LX", "header number", "R", 1, req(1, "assigned number", "N")),
            seg(
                "TS3",
                "provider summary information",
                "S",
                1,
                req(1, "provider identifier"),
                req(2, "facility type code"),
                req(3, "fiscal period date", "DT"),
                req(4, "total claim count", "R"),
                req(5, "total claim charge amount", "R"),
            ),
            seg("TS2", "provider supplemental summary information", "S", 1),
            CLAIM,
        ),
        seg(
            "PLB",
            "provider adjustment",
            "S",
            MANY,
            req(1, "provider identifier"),
            req(2, "fiscal period date", "DT"),
            req(3, "provider adjustment reason code", "ID", PROVIDER_ADJUSTMENT_REASONS, component=1),
            req(4, "provider adjustment amount", "R"),
            *_PLB_PAIRS,
        ),
    ),
)
