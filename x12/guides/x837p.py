"""837 health care claim: professional, 005010X222A1.

The hierarchy: billing provider (2000A, HL 20) > subscriber (2000B, HL 22) > patient when not the
subscriber (2000C, HL 23); the claim (2300) and its lines (2400) sit under the subscriber or the patient.
Same-id segments are told apart by their qualifier (NM101, REF01, DTP01, AMT01, ...); the two 2400 PWK
by PWK02 (the DME certificate indicator allows AD, a claim attachment does not); the 2300 HI by HI01-1,
the diagnosis HI taking what no other HI claims, so a wrong code set is an element error on it.
"""

import re

from x12.reading import MANY, ElementRule, Guide, LoopRule, SegmentRule, Usage, el, loop, req, seg

ATTACHMENT_REPORT_TYPES = (
    "03 04 05 06 07 08 09 10 11 13 15 21 A3 A4 AM AS B2 B3 B4 BR BS BT CB CK CT D2 DA DB DG DJ DS EB HC HR I5 IR "
    "LA M1 MT NN OB OC OD OE OX OZ P4 P5 PE PN PO PQ PY PZ RB RR RT RX SG V5 XP"
)
ATTACHMENT_TRANSMISSIONS = "AA BM EL EM FT FX"  # PWK02 of a claim or line attachment
DME_CERTIFICATE_TRANSMISSIONS = "AB AD AF AG NS"  # PWK02 of the 2400 DME certificate of medical necessity indicator
PAYER_RESPONSIBILITY = "A B C D E F G H P S T U"
CLAIM_FILING_INDICATORS = "11 12 13 14 15 16 17 AM BL CH CI DS FI HM LM MA MB MC OF TV VA WC ZZ"
INSURANCE_TYPES = "12 13 14 15 16 41 42 43 47"
RELATIONSHIPS = "01 18 19 20 21 39 40 53 G8"
PROCEDURE_QUALIFIERS = "ER HC IV WK"
UNIT_BASES = "MJ UN"  # SV103: minutes, units
ADJUSTMENT_GROUPS = "CO CR OA PI PR"
CONTACT_NUMBERS = "ED EM EX FX TE"
POINTERS = " ".join(str(n) for n in range(1, 13))


# The leading alphanumeric characters of an element ([^\W_] is str.isalnum, character by character): a
# regular expression finds where the first component ends at a third of the cost of a Python loop.
_LEADING_CODE = re.compile(r"[^\W_]*")


class FirstComponent(frozenset[str]):
    """Qualifier values found in the first component of a composite element (HI01-1 of HI01): the
    reading model compares them with the whole element, so `in` looks at its leading code only."""

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        leading = _LEADING_CODE.match(value)  # always a match, "" at the least
        return leading is not None and frozenset.__contains__(self, leading.group())


# ---- segments used in many loops -----------------------------------------------------------------


def nm1(
    qualifiers: str,
    name: str,
    entities: str = "1 2",
    ids: str = "",
    identified: bool = True,
    named: bool = True,
) -> SegmentRule:
    """NM1: entity type, name (NM103) and, with `ids`, the identification code qualifier and code
    (required, or situational when not `identified`: a provider without an NPI is named only)."""
    elements = [req(2, "entity type qualifier", "ID", entities)]
    if named:
        elements.append(req(3, "last or organization name"))
    if ids:
        make = req if identified else el
        elements += [make(8, "identification code qualifier", "ID", ids), make(9, "identification code")]
    return seg(f"NM1*{qualifiers}", name, "R", 1, *elements)


def n3(name: str, usage: Usage = "R") -> SegmentRule:
    return seg("N3", f"{name} address", usage, 1, req(1, "address line"))


def n4(name: str, usage: Usage = "R") -> SegmentRule:
    return seg("N4", f"{name} city, state, ZIP code", usage, 1, req(1, "city name"))


def ref(qualifiers: str, name: str, usage: Usage = "S", max_use: int = 1) -> SegmentRule:
    return seg(f"REF*{qualifiers}", name, usage, max_use, req(2, "reference identification"))


def dtp(qualifiers: str, name: str, usage: Usage = "S", max_use: int = 1, formats: str = "D8") -> SegmentRule:
    return seg(
        f"DTP*{qualifiers}",
        name,
        usage,
        max_use,
        req(2, "date time period format qualifier", "ID", formats),
        req(3, "date", "PERIOD"),
    )


def per(name: str, usage: Usage = "S", max_use: int = 1, numbers: str = CONTACT_NUMBERS) -> SegmentRule:
    return seg(
        "PER*IC",
        name,
        usage,
        max_use,
        req(3, "communication number qualifier", "ID", numbers),
        req(4, "communication number"),
        el(5, "communication number qualifier", "ID", numbers),
        el(7, "communication number qualifier", "ID", numbers),
    )


def amt(qualifiers: str, name: str, usage: Usage = "S") -> SegmentRule:
    return seg(f"AMT*{qualifiers}", name, usage, 1, req(2, "amount", "R"))


def cas(name: str) -> SegmentRule:
    amounts = [el(n, f"adjustment amount {n // 3}", "R") for n in (6, 9, 12, 15, 18)]
    quantities = [el(n, f"adjustment quantity {(n - 1) // 3}", "R") for n in (4, 7, 10, 13, 16, 19)]
    return seg(
        "CAS",
        name,
        "S",
        5,
        req(1, "claim adjustment group code", "ID", ADJUSTMENT_GROUPS),
        req(2, "adjustment reason code"),
        req(3, "adjustment amount", "R"),
        *amounts,
        *quantities,
    )


def provider_loop(
    loop_id: str, qualifiers: str, name: str, repeat: int, *body: SegmentRule, named: bool = True
) -> LoopRule:
    """A provider identified by NPI when it has one (NM108 XX and NM109 situational); named (NM103)
    but for the purchased service provider, whom the guide identifies only."""
    return loop(loop_id, name, "S", repeat, nm1(qualifiers, name, ids="XX", identified=False, named=named), *body)


def place_loop(loop_id: str, qualifier: str, name: str, *body: SegmentRule, ids: str = "XX") -> LoopRule:
    """A place with an address: a service facility (named, an NPI when it has one), an ambulance pick-up
    or drop-off location (the address alone)."""
    opener = nm1(qualifier, name, entities="2", ids=ids, identified=False, named=bool(ids))
    return loop(loop_id, name, "S", 1, opener, n3(name), n4(name), *body)


def crc(qualifiers: str, name: str, max_use: int, answers: str, conditions: str, count: int = 5) -> SegmentRule:
    """A certification (CRC): its yes/no answer (CRC02) and up to `count` condition codes (CRC03...)."""
    codes = [el(n, f"condition code {n - 2}", "ID", conditions) for n in range(4, 3 + count)]
    return seg(
        f"CRC*{qualifiers}",
        name,
        "S",
        max_use,
        req(2, "certification condition indicator", "ID", answers),
        req(3, "condition code", "ID", conditions),
        *codes,
    )


AMBULANCE_CERTIFICATION = crc("07", "ambulance certification", 3, "N Y", "01 04 05 06 07 08 09 12")
CLAIM_CERTIFICATIONS = (
    AMBULANCE_CERTIFICATION,
    crc("E1 E2 E3", "patient condition information: vision", 3, "N Y", "L1 L2 L3 L4 L5"),
    crc("75", "homebound indicator", 1, "Y", "IH", 1),
    crc("ZZ", "EPSDT referral", 1, "N Y", "AV NU S2 ST", 3),
)


def cr1() -> SegmentRule:
    return seg(
        "CR1",
        "ambulance transport information",
        "S",
        1,
        el(2, "patient weight", "R"),
        req(4, "ambulance transport reason code", "ID", "A B C D E"),
        req(5, "unit of measurement code", "ID", "DH"),
        req(6, "transport distance", "R"),
    )


def hcp(name: str, line: bool) -> SegmentRule:
    methods = "00 01 02 03 04 05 06 07 08 09 10 11 12 13 14" if line else "00 01 02 03 04 05 07 08 09 10 11 12 13 14"
    elements: list[ElementRule] = [
        req(1, "pricing methodology", "ID", methods),
        req(2, "repriced allowed amount", "R"),
        el(3, "repriced saving amount", "R"),
        el(5, "repricing per diem or flat rate amount", "R"),
        el(7, "repriced approved ambulatory patient group amount", "R"),
        el(13, "reject reason code", "ID", "T1 T2 T3 T4 T5 T6"),
        el(14, "policy compliance code", "ID", "1 2 3 4 5"),
        el(15, "exception code", "ID", "1 2 3 4 5 6"),
    ]
    if line:
        elements += [el(9, "product or service id qualifier", "ID", PROCEDURE_QUALIFIERS), el(11, "unit basis", "ID")]
        elements.append(el(12, "repriced approved service unit count", "R"))
    return seg("HCP", name, "S", 1, *elements)


# ---- the claim (2300) and its lines (2400) -------------------------------------------------------

_DIAGNOSES = [
    req(1, "diagnosis type code (ABK ICD-10, BK ICD-9)", "ID", "ABK BK", component=1),
    req(1, "code", component=2),
]
_DIAGNOSES += [
    el(n, f"diagnosis type code {n} (ABF ICD-10, BF ICD-9)", "ID", "ABF BF", component=1) for n in range(2, 13)
]


def other_payer_party(loop_id: str, qualifiers: str, name: str, entities: str, ids: str, most: int) -> LoopRule:
    """2330C-G: a provider as the other payer knows it, by role and its secondary identifiers only."""
    opener = nm1(qualifiers, name, entities, named=False)
    return loop(loop_id, name, "S", 2 if loop_id == "2330C" else 1, opener, ref(ids, f"{name} secondary id", "R", most))


OTHER_PAYER_PROVIDERS = (
    other_payer_party("2330C", "DN P3", "other payer referring provider", "1", "0B 1G G2", 3),
    other_payer_party("2330D", "82", "other payer rendering provider", "1 2", "0B 1G G2 LU", 3),
    other_payer_party("2330E", "77", "other payer service facility location", "2", "0B G2 LU", 3),
    other_payer_party("2330F", "DQ", "other payer supervising provider", "1", "0B 1G G2 LU", 3),
    other_payer_party("2330G", "85", "other payer billing provider", "1 2", "G2 LU", 2),
)
RENDERING_SPECIALTY = seg(
    "PRV*PE",
    "rendering provider specialty information",
    "S",
    1,
    req(2, "reference identification qualifier", "ID", "PXC"),
    req(3, "provider taxonomy code"),
)

OTHER_SUBSCRIBER = loop(
    "2320",
    "other subscriber information",
    "S",
    10,
    seg(
        "SBR",
        "other subscriber information",
        "R",
        1,
        req(1, "payer responsibility sequence number code", "ID", PAYER_RESPONSIBILITY),
        req(2, "individual relationship code", "ID", RELATIONSHIPS),
        el(5, "insurance type code", "ID", INSURANCE_TYPES),
        el(9, "claim filing indicator code", "ID", CLAIM_FILING_INDICATORS),
    ),
    cas("claim level adjustments"),
    amt("D", "coordination of benefits (COB) payer paid amount"),
    amt("A8", "coordination of benefits (COB) total non-covered amount"),
    amt("EAF", "remaining patient liability"),
    seg(
        "OI",
        "other insurance coverage information",
        "R",
        1,
        req(3, "benefits assignment certification indicator", "ID", "N W Y"),
        el(4, "patient signature source code", "ID", "P"),
        req(6, "release of information code", "ID", "I Y"),
    ),
    seg(
        "MOA",
        "outpatient adjudication information",
        "S",
        1,
        el(1, "reimbursement rate", "R"),
        el(2, "HCPCS payable amount", "R"),
    ),
    loop(
        "2330A",
        "other subscriber name",
        "R",
        1,
        nm1("IL", "other subscriber name", ids="II MI"),
        n3("other subscriber", "S"),
        n4("other subscriber", "S"),
        ref("SY", "other subscriber secondary identification"),
    ),
    loop(
        "2330B",
        "other payer name",
        "R",
        1,
        nm1("PR", "other payer name", entities="2", ids="PI XV"),
        n3("other payer", "S"),
        n4("other payer", "S"),
        dtp("573", "claim check or remittance date"),
        ref("2U EI FY NF", "other payer secondary identifier", "S", 2),
        ref("G1", "other payer prior authorization number"),
        ref("9F", "other payer referral number"),
        ref("T4", "other payer claim adjustment indicator"),
        ref("F8", "other payer claim control number"),
    ),
    *OTHER_PAYER_PROVIDERS,
)

LINE_PROVIDERS = (
    provider_loop(
        "2420A",
        "82",
        "rendering provider name",
        1,
        RENDERING_SPECIALTY,
        ref("0B 1G G2 LU", "rendering provider secondary identification", "S", 20),
    ),
    provider_loop(
        "2420B",
        "QB",
        "purchased service provider name",
        1,
        ref("0B 1G G2", "purchased service provider secondary identification", "S", 20),
        named=False,
    ),
    place_loop(
        "2420C",
        "77",
        "service facility location name",
        ref("G2 LU", "service facility location secondary identification", "S", 3),
    ),
    provider_loop(
        "2420D",
        "DQ",
        "supervising provider name",
        1,
        ref("0B 1G G2 LU", "supervising provider secondary identification", "S", 20),
    ),
    provider_loop(
        "2420E",
        "DK",
        "ordering provider name",
        1,
        n3("ordering provider", "S"),
        n4("ordering provider", "S"),
        ref("0B 1G G2", "ordering provider secondary identification", "S", 20),
        per("ordering provider contact information", numbers="EM EX FX TE"),
    ),
    provider_loop(
        "2420F",
        "DN P3",
        "referring provider name",
        2,
        ref("0B 1G G2", "referring provider secondary identification", "S", 20),
    ),
    place_loop("2420G", "PW", "ambulance pick-up location", ids=""),
    place_loop("2420H", "45", "ambulance drop-off location", ids=""),
)

LINE = loop(
    "2400",
    "service line number",
    "R",
    50,
    seg("LX", "service line number", "R", 1, req(1, "assigned number", "N")),
    seg(
        "SV1",
        "professional service",
        "R",
        1,
        req(1, "product or service id qualifier", "ID", PROCEDURE_QUALIFIERS, component=1),
        req(1, "procedure code", component=2),
        req(2, "line item charge amount", "R"),
        req(3, "unit or basis for measurement code (UN units, MJ minutes)", "ID", UNIT_BASES),
        req(4, "service unit count", "R"),
        req(7, "diagnosis code pointer", "ID", POINTERS, component=1),
        *(el(7, f"diagnosis code pointer {n}", "ID", POINTERS, component=n) for n in range(2, 5)),
        el(9, "emergency indicator", "ID", "Y"),
        el(11, "EPSDT indicator", "ID", "Y"),
        el(12, "family planning indicator", "ID", "Y"),
        el(15, "copay status code", "ID", "0"),
    ),
    seg(
        "SV5",
        "durable medical equipment service",
        "S",
        1,
        req(1, "product or service id qualifier", "ID", "HC", component=1),
        req(1, "procedure code", component=2),
        req(2, "unit or basis for measurement code", "ID", "DA"),
        req(3, "length of medical necessity", "R"),
        req(4, "DME rental price", "R"),
        req(5, "DME purchase price", "R"),
        req(6, "rental unit price indicator", "ID", "1 4 6"),
    ),
    seg(
        f"PWK*{ATTACHMENT_TRANSMISSIONS}",
        "line supplemental information",
        "S",
        10,
        req(1, "attachment report type code", "ID", ATTACHMENT_REPORT_TYPES),
        el(5, "identification code qualifier", "ID", "AC"),
        at=2,
    ),
    seg(
        f"PWK*{DME_CERTIFICATE_TRANSMISSIONS}",
        "durable medical equipment certificate of medical necessity indicator",
        "S",
        1,
        req(1, "attachment report type code", "ID", "CT"),
        at=2,
    ),
    cr1(),
    seg(
        "CR3",
        "durable medical equipment certification",
        "S",
        1,
        req(1, "certification type code", "ID", "I R S"),
        req(2, "unit or basis for measurement code", "ID", "MO"),
        req(3, "durable medical equipment duration", "R"),
    ),
    AMBULANCE_CERTIFICATION,
    crc("70", "hospice employee indicator", 1, "N Y", "65", 1),
    crc("09", "condition indicator/durable medical equipment", 1, "N Y", "38 ZV", 2),
    dtp("472", "service date", "R", formats="D8 RD8"),
    dtp("471", "prescription date"),
    dtp("607", "certification revision/recertification date"),
    dtp("463", "begin therapy date"),
    dtp("461", "last certification date"),
    dtp("304", "last seen date"),
    dtp("738 739", "test date", max_use=2),
    dtp("011", "shipped date"),
    dtp("455", "last x-ray date"),
    dtp("454", "initial treatment date"),
    seg("QTY*PT", "ambulance patient count", "S", 1, req(2, "quantity", "R")),
    seg("QTY*FL", "obstetric anesthesia additional units", "S", 1, req(2, "quantity", "R")),
    seg(
        "MEA*OG TR",
        "test result",
        "S",
        5,
        req(2, "measurement qualifier", "ID", "HT R1 R2 R3 R4"),
        req(3, "measurement value", "R"),
    ),
    seg(
        "CN1",
        "contract information",
        "S",
        1,
        req(1, "contract type code", "ID", "01 02 03 04 05 06 09"),
        el(2, "contract amount", "R"),
    ),
    ref("9B", "repriced line item reference number"),
    ref("9D", "adjusted repriced line item reference number"),
    ref("G1", "prior authorization", max_use=5),
    ref("6R", "line item control number"),
    ref("EW", "mammography certification number"),
    ref("X4", "clinical laboratory improvement amendment (CLIA) number"),
    ref("F4", "referring CLIA facility identification"),
    ref("BT", "immunization batch number"),
    ref("9F", "referral number", max_use=5),
    amt("T", "sales tax amount"),
    amt("F4", "postage claimed amount"),
    seg("K3", "file information", "S", 10, req(1, "fixed format information")),
    seg("NTE*ADD DCP", "line note", "S", 1, req(2, "description")),
    seg("NTE*TPO", "third party organization notes", "S", 1, req(2, "description")),
    seg(
        "PS1",
        "purchased service information",
        "S",
        1,
        req(1, "purchased service provider identifier"),
        req(2, "purchased service charge amount", "R"),
    ),
    hcp("line pricing/repricing information", line=True),
    loop(
        "2410",
        "drug identification",
        "S",
        1,
        seg(
            "LIN",
            "drug identification",
            "R",
            1,
            req(2, "product or service id qualifier", "ID", "EN EO HI N4 ON UK UP"),
            req(3, "national drug code"),
        ),
        seg(
            "CTP",
            "drug quantity",
            "R",
            1,
            req(4, "national drug unit count", "R"),
            req(5, "unit or basis for measurement code", "ID", "F2 GR ME ML UN", component=1),
        ),
        ref("VY XZ", "prescription or compound drug association number"),
    ),
    *LINE_PROVIDERS,
    loop(
        "2430",
        "line adjudication information",
        "S",
        15,
        seg(
            "SVD",
            "line adjudication information",
            "R",
            1,
            req(1, "other payer primary identifier"),
            req(2, "service line paid amount", "R"),
            req(3, "product or service id qualifier", "ID", PROCEDURE_QUALIFIERS, component=1),
            req(3, "procedure code", component=2),
            req(5, "paid service unit count", "R"),
            el(6, "bundled or unbundled line number", "N"),
        ),
        cas("line adjustment"),
        dtp("573", "line check or remittance date", "R"),
        amt("EAF", "remaining patient liability"),
    ),
    loop(
        "2440",
        "form identification code",
        "S",
        MANY,
        seg(
            "LQ",
            "form identification code",
            "R",
            1,
            req(1, "code list qualifier code", "ID", "AS UT"),
            req(2, "form identifier"),
        ),
        seg(
            "FRM",
            "supporting documentation",
            "R",
            99,
            req(1, "question number/letter"),
            el(2, "question response", "ID", "N W Y"),
            el(4, "question response", "DT"),
            el(5, "question response", "R"),
        ),
    ),
)

CLAIM_BODY: tuple[SegmentRule | LoopRule, ...] = (
    seg(
        "CLM",
        "claim information",
        "R",
        1,
        req(1, "patient control number"),
        req(2, "total claim charge amount", "R"),
        req(5, "place of service code", component=1),
        req(5, "facility code qualifier", "ID", "B", component=2),
        req(5, "claim frequency type code", component=3),
        req(6, "provider or supplier signature indicator", "ID", "N Y"),
        req(7, "assignment or plan participation code", "ID", "A B C"),
        req(8, "benefits assignment certification indicator", "ID", "N W Y"),
        req(9, "release of information code", "ID", "I Y"),
        el(10, "patient signature source code", "ID", "P"),
        el(11, "related causes code", "ID", "AA EM OA", component=1),
        el(11, "related causes code", "ID", "AA EM OA", component=2),
        el(12, "special program indicator", "ID", "02 03 05 09"),
        el(20, "delay reason code", "ID", "1 2 3 4 5 6 7 8 9 10 11 15"),
    ),
    dtp("431", "onset of current illness or symptom"),
    dtp("454", "initial treatment date"),
    dtp("304", "last seen date"),
    dtp("453", "acute manifestation"),
    dtp("439", "accident"),
    dtp("484", "last menstrual period"),
    dtp("455", "last x-ray date"),
    dtp("471", "hearing and vision prescription date"),
    dtp("314 360 361", "disability dates", formats="D8 RD8"),
    dtp("297", "last worked"),
    dtp("296", "authorized return to work"),
    dtp("435", "admission"),
    dtp("096", "discharge"),
    dtp("090 091", "assumed and relinquished care dates", max_use=2),
    dtp("444", "property and casualty date of first contact"),
    dtp("050", "repricer received date"),
    seg(
        "PWK",
        "claim supplemental information",
        "S",
        10,
        req(1, "attachment report type code", "ID", ATTACHMENT_REPORT_TYPES),
        req(2, "attachment transmission code", "ID", ATTACHMENT_TRANSMISSIONS),
        el(5, "identification code qualifier", "ID", "AC"),
    ),
    seg(
        "CN1",
        "contract information",
        "S",
        1,
        req(1, "contract type code", "ID", "01 02 03 04 05 06 09"),
        el(2, "contract amount", "R"),
    ),
    amt("F5", "patient amount paid"),
    ref("4N", "service authorization exception code"),
    ref("F5", "mandatory Medicare (section 4081) crossover indicator"),
    ref("EW", "mammography certification number"),
    ref("9F", "referral number"),
    ref("G1", "prior authorization"),
    ref("F8", "payer claim control number"),
    ref("X4", "clinical laboratory improvement amendment (CLIA) number"),
    ref("9A", "repriced claim number"),
    ref("9C", "adjusted repriced claim number"),
    ref("LX", "investigational device exemption number"),
    ref("D9", "claim identifier for transmission intermediaries"),
    ref("EA", "medical record number"),
    ref("P4", "demonstration project identifier"),
    ref("1J", "care plan oversight"),
    seg("K3", "file information", "S", 10, req(1, "fixed format information")),
    seg("NTE*ADD CER DCP DGN TPO", "claim note", "S", 1, req(2, "description")),
    cr1(),
    seg(
        "CR2",
        "spinal manipulation service information",
        "S",
        1,
        req(8, "patient condition code", "ID", "A C D E F G M"),
    ),
    *CLAIM_CERTIFICATIONS,
    # HI01-1 tells the three apart; the diagnosis HI is last so that it takes any other first code.
    SegmentRule("HI", "anesthesia related procedure", "S", 1, FirstComponent({"BP"}), 1),
    SegmentRule("HI", "condition information", "S", 2, FirstComponent({"BG"}), 1),
    seg("HI", "health care diagnosis code", "R", 1, *_DIAGNOSES),
    hcp("claim pricing/repricing information", line=False),
    provider_loop(
        "2310A",
        "DN P3",
        "referring provider name",
        2,
        ref("0B 1G G2", "referring provider secondary identification", "S", 3),
    ),
    provider_loop(
        "2310B",
        "82",
        "rendering provider name",
        1,
        RENDERING_SPECIALTY,
        ref("0B 1G G2 LU", "rendering provider secondary identification", "S", 4),
    ),
    place_loop(
        "2310C",
        "77",
        "service facility location name",
        ref("0B G2 LU", "service facility location secondary identification", "S", 3),
        per("service facility contact information", numbers="EX TE"),
    ),
    provider_loop(
        "2310D",
        "DQ",
        "supervising provider name",
        1,
        ref("0B 1G G2 LU", "supervising provider secondary identification", "S", 4),
    ),
    place_loop("2310E", "PW", "ambulance pick-up location", ids=""),
    place_loop("2310F", "45", "ambulance drop-off location", ids=""),
    OTHER_SUBSCRIBER,
    LINE,
)


def claim_loop(usage: Usage) -> LoopRule:
    return loop("2300", "claim information", usage, 100, *CLAIM_BODY)


PATIENT = loop(
    "2000C",
    "patient hierarchical level",
    "S",
    MANY,
    seg(
        "HL*23",
        "patient hierarchical level",
        "R",
        1,
        req(1, "hierarchical id number"),
        req(2, "hierarchical parent id number"),
        req(4, "hierarchical child code", "ID", "0"),
        at=3,
    ),
    seg("PAT", "patient information", "R", 1, req(1, "individual relationship code", "ID", "01 19 20 21 39 40 53 G8")),
    loop(
        "2010CA",
        "patient name",
        "R",
        1,
        nm1("QC", "patient name", entities="1"),
        n3("patient"),
        n4("patient"),
        seg(
            "DMG",
            "patient demographic information",
            "R",
            1,
            req(1, "date time period format qualifier", "ID", "D8"),
            req(2, "patient birth date", "DT"),
            req(3, "patient gender code", "ID", "F M U"),
        ),
        ref("Y4", "property and casualty claim number"),
        ref("1W SY", "property and casualty patient identifier"),
        per("property and casualty patient contact information", numbers="EX TE"),
    ),
    claim_loop("R"),
)

SUBSCRIBER = loop(
    "2000B",
    "subscriber hierarchical level",
    "R",
    MANY,
    seg(
        "HL*22",
        "subscriber hierarchical level",
        "R",
        1,
        req(1, "hierarchical id number"),
        req(2, "hierarchical parent id number"),
        req(4, "hierarchical child code", "ID", "0 1"),
        at=3,
    ),
    seg(
        "SBR",
        "subscriber information",
        "R",
        1,
        req(1, "payer responsibility sequence number code", "ID", PAYER_RESPONSIBILITY),
        el(2, "individual relationship code", "ID", "18"),
        el(5, "insurance type code", "ID", INSURANCE_TYPES),
        el(9, "claim filing indicator code", "ID", CLAIM_FILING_INDICATORS),
    ),
    seg(
        "PAT",
        "patient information",
        "S",
        1,
        el(5, "date time period format qualifier", "ID", "D8"),
        el(7, "unit or basis for measurement code", "ID", "01"),
        el(8, "patient weight", "R"),
        el(9, "pregnancy indicator", "ID", "Y"),
    ),
    loop(
        "2010BA",
        "subscriber name",
        "R",
        1,
        nm1("IL", "subscriber name", ids="II MI"),
        n3("subscriber", "S"),
        n4("subscriber", "S"),
        seg(
            "DMG",
            "subscriber demographic information",
            "S",
            1,
            req(1, "date time period format qualifier", "ID", "D8"),
            req(2, "subscriber birth date", "DT"),
            req(3, "subscriber gender code", "ID", "F M U"),
        ),
        ref("SY", "subscriber secondary identification"),
        ref("Y4", "property and casualty claim number"),
        per("property and casualty subscriber contact information", numbers="EX TE"),
    ),
    loop(
        "2010BB",
        "payer name",
        "R",
        1,
        nm1("PR", "payer name", entities="2", ids="PI XV"),
        n3("payer", "S"),
        n4("payer", "S"),
        ref("2U EI FY NF", "payer secondary identification", "S", 3),
        ref("G2 LU", "billing provider secondary identification", "S", 2),
    ),
    claim_loop("S"),
    PATIENT,
)

BILLING_PROVIDER = loop(
    "2000A",
    "billing provider hierarchical level",
    "R",
    MANY,
    seg(
        "HL*20",
        "billing provider hierarchical level",
        "R",
        1,
        req(1, "hierarchical id number"),
        req(4, "hierarchical child code", "ID", "1"),
        at=3,
    ),
    seg(
        "PRV*BI",
        "billing provider specialty information",
        "S",
        1,
        req(2, "reference identification qualifier", "ID", "PXC"),
        req(3, "provider taxonomy code"),
    ),
    seg("CUR*85", "foreign currency information", "S", 1, req(2, "currency code")),
    loop(
        "2010AA",
        "billing provider name",
        "R",
        1,
        nm1("85", "billing provider name", ids="XX", identified=False),
        n3("billing provider"),
        n4("billing provider"),
        ref("EI SY", "billing provider tax identification", "R"),
        ref("0B 1G", "billing provider UPIN/license information", "S", 2),
        per("billing provider contact information", max_use=2, numbers="EM EX FX TE"),
    ),
    loop(
        "2010AB",
        "pay-to address name",
        "S",
        1,
        nm1("87", "pay-to address name", named=False),
        n3("pay-to address"),
        n4("pay-to address"),
    ),
    loop(
        "2010AC",
        "pay-to plan name",
        "S",
        1,
        nm1("PE", "pay-to plan name", entities="2", ids="PI XV"),
        n3("pay-to plan"),
        n4("pay-to plan"),
        ref("2U FY NF", "pay-to plan secondary identification"),
        ref("EI", "pay-to plan tax identification number", "R"),
    ),
    SUBSCRIBER,
)

GUIDE = Guide(
    "005010X222A1",
    "837",
    "HC",
    (
        seg(
            "BHT",
            "beginning of hierarchical transaction",
            "R",
            1,
            req(1, "hierarchical structure code", "ID", "0019"),
            req(2, "transaction set purpose code", "ID", "00 18"),
            req(3, "originator application transaction identifier"),
            req(4, "transaction set creation date", "DT"),
            req(5, "transaction set creation time", "TM"),
            req(6, "transaction type code", "ID", "CH RP"),
        ),
        loop(
            "1000A",
            "submitter name",
            "R",
            1,
            nm1("41", "submitter name", ids="46"),
            per("submitter EDI contact information", "R", 2),
        ),
        loop("1000B", "receiver name", "R", 1, nm1("40", "receiver name", entities="2", ids="46")),
        BILLING_PROVIDER,
    ),
)
