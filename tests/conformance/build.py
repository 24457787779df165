"""Builds the broken variants, manifest.json and the file table of SOURCES.md from valid/ and the catalog below.

    .venv/bin/python -m tests.conformance.build

Each broken variant is one valid file with ONE defect; its expected refusal (segment, position in the
transaction set with ST = 1, loop, element, the 999 codes a guide-following validator would send, and a
reason) is declared here, except the position, which is computed from where the defect was put.
The figures of every file come from oracle.figures (raw segments, nothing from x12/ or services/).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from tests.conformance import oracle

HERE = Path(__file__).resolve().parent
GUIDES = {
    "835": "005010X221A1",
    "837p": "005010X222A1",
    "270": "005010X279A1",
    "271": "005010X279A1",
    "276": "005010X212",
    "277": "005010X212",
    "999": "005010X231A1",
    "277ca": "005010X214",
}
PYX12_GUIDES = {"005010X221A1", "005010X222A1", "005010X231A1", "005010X214"}  # see pyx12_check.py

SOURCES = {
    "lfh": (
        "LinuxForHealth/x12 (GitHub), src/tests/resources/",
        "Apache-2.0",
        "the project's test files, most of them transcriptions of the 5010 guides' printed examples",
    ),
    "sdk": (
        "owgreen-dev/x12sdk (GitHub; x12sdk 2.2.0 on PyPI), src/tests/resources/",
        "Apache-2.0",
        "x12sdk's test files (a maintained fork of LinuxForHealth/x12); 'generated-*' ones are synthetic",
    ),
    "written": (
        "written here from the 5010 guides' segment rules",
        "same as this repository",
        "synthetic names, ids and amounts; validated with pyx12 where it has the guide's map",
    ),
}


@dataclass(frozen=True)
class Valid:
    path: str  # under valid/
    shapes: tuple[str, ...]
    adapted: str = ""  # what was changed from the source, if anything
    pyx12_false_errors: tuple[tuple, ...] = ()  # [segment, position, element, code] pyx12 wrongly reports
    pyx12_why: str = ""


V = Valid
PWK_CT = "pyx12 matches the 2400 DME CMN indicator PWK*CT to the Line Supplemental Information PWK (both allow CT) "
PWK_CT += "and so refuses PWK02=AD, which the DME PWK allows"
FIXED_835 = "added the required BPR16 date and PER*BL; SVC composites written with the ISA16 separator"
VALID = [
    V("835/lfh-managed-care.x12", ("two claims", "claim-level CAS", "BPR ACH CCP", "DTM*405"), FIXED_835),
    V(
        "835/lfh-secondary-payment.x12",
        ("CLP02 2 secondary", "payee N1*PE FI", "REF*EV", "NM1*82", "AMT*AU"),
        FIXED_835 + "; 2110 AMT*AU (not allowed at line level) read as AMT*B6",
    ),
    V(
        "835/lfh-tertiary-payment.x12",
        ("CLP02 3 tertiary", "payee FI", "AMT*B6"),
        FIXED_835 + "; SVC*HC*24599.00 was missing its procedure code composite",
    ),
    V("835/lfh-cob-contractual-adjustment.x12", ("CLP02 2", "negative CAS (OA-94)"), FIXED_835),
    V(
        "835/lfh-medicare-part-a.x12",
        ("TS3", "TS2", "MIA", "MOA", "QTY", "PLB CV", "REF*2U", "BPR C CTX", "institutional CLP06 MA/MB"),
        "added PER*BL (a URL too); 4010-era TS3 amounts the 5010 guide marks not used dropped",
    ),
    V("835/sdk-managed-care-payer-contacts.x12", ("PER*BL and PER*CX", "claim-level CAS"), "BPR16 date typo fixed"),
    V("835/sdk-bundling-adjustments.x12", ("three claims", "CO-97 bundling"), "added BPR16 and PER*BL"),
    V(
        "835/sdk-eight-claims.x12",
        ("eight claims", "several lines per claim", "paid in full"),
        "added BPR16 and PER*BL",
    ),
    V("835/sdk-paid-in-full.x12", ("one claim", "no service lines"), "added BPR16 and PER*BL"),
    V(
        "835/written-nine-claims-same-patient.x12",
        ("nine claims", "same patient", "same amounts", "same CLP01 on three claims", "REF*2U"),
    ),
    V(
        "835/written-reversal-correction-plb.x12",
        ("CLP02 22 reversal", "correction CLP02 1 with CLP09 7", "PLB L6 interest", "PLB WO recovery", "PER with EX"),
    ),
    V(
        "835/written-forward-balance-non.x12",
        ("BPR H NON zero payment", "PLB FB forward balance", "reversal larger than payment"),
    ),
    V(
        "835/written-denials-bop-payee-fi.x12",
        ("BPR04 BOP", "CLP02 4 denial", "CO-50", "CO-97 line", "LQ remark", "MOA", "payee N103 FI", "no REF*2U"),
    ),
    V(
        "835/written-payee-xv-url-only-no-ref2u.x12",
        ("payee N103 XV", "PER*BL URL only", "no REF*2U", "BPR CHK", "CLP06 13"),
    ),
    V("835/written-two-groups.x12", ("two GS groups in one interchange", "CLP02 2")),
    V(
        "835/written-ndc-n4-crossover.x12",
        (
            "SVC01 N4 NDC with SVC06 HC",
            "CLP02 19 crossover",
            "NM1*TT",
            "NM1*82",
            "TS3",
            "MOA",
            "QTY",
            "REF*EV",
            "DTM*405",
            "PER*CX",
        ),
    ),
    V(
        "837p/lfh-commercial-dependent-icd9.x12",
        ("commercial", "dependent patient HL 23", "HI BK/BF", "PRV*BI", "REF*D9"),
        "GS08/ST03 005010X222A2 read as X222A1",
    ),
    V(
        "837p/lfh-commercial-subscriber-hmo.x12",
        ("subscriber patient", "SBR09 HM", "DTP*431", "NM1*77", "PRV*BI"),
        "GS08/ST03 X222A2 read as X222A1",
    ),
    V(
        "837p/lfh-ambulance.x12",
        ("ambulance", "CR1", "CRC", "2310E NM1*PW", "2310F NM1*45", "QTY*PT", "REF*6R", "NTE", "SBR09 MB"),
        "X222A1; CLM05 41::1 written 41:B:1",
    ),
    V(
        "837p/lfh-auto-accident.x12",
        ("auto accident CLM11 AA", "DTP*439", "SBR09 AM", "patient PER", "no PRV*BI"),
        "X222A1",
    ),
    V(
        "837p/lfh-cob-primary-other-subscriber.x12",
        ("2320 other subscriber", "2330A"),
        "X222A1; the required 2330B other payer NM1*PR added",
    ),
    V(
        "837p/lfh-cob-secondary-2320-2430.x12",
        ("Medicare-style COB", "2320 CAS and AMT*D/EAF", "2430 SVD", "2430 DTP*573"),
        "X222A1",
    ),
    V("837p/lfh-cob-payer-to-payer.x12", ("payer-to-payer COB", "2330 NM1*82", "2430 DTP*573"), "X222A1"),
    V(
        "837p/lfh-medicare-secondary-referring-no-npi.x12",
        ("Medicare secondary SBR09 MB", "NM1*DN without NPI", "REF*1G", "2430 SVD/CAS/DTP*573"),
        "X222A1; 4010 AMT*F2 in 2320 written AMT*EAF",
    ),
    V(
        "837p/lfh-drug-in-office.x12",
        ("drug in the office", "LIN N4 NDC", "CTP ML", "payer N103 XV", "AMT*T"),
        "X222A1",
    ),
    V(
        "837p/lfh-home-infusion.x12",
        ("home infusion", "REF*EI with hyphen", "RD8 dates", "2420E NM1*DK", "REF*XZ"),
        "X222A1",
    ),
    V("837p/lfh-home-infusion-descriptions.x12", ("home infusion", "SV101-7 description with # and %"), "X222A1"),
    V(
        "837p/lfh-chiropractic.x12",
        ("chiropractic", "CR2", "DTP*454/453/455", "REF*6R", "SBR09 MB"),
        "X222A1; '>' written as the ISA16 ':'",
    ),
    V(
        "837p/lfh-dme-oxygen-cmn.x12",
        ("DME", "CLM01 with space and #", "PWK*CT*AD (DME CMN)", "CR3", "LQ/FRM", "PER EM"),
        "X222A1",
        (("PWK", 22, 2, "7"), ("PWK", 45, 2, "7")),
        PWK_CT,
    ),
    V(
        "837p/lfh-dme-wheelchair.x12",
        ("DME", "PAT at subscriber level", "MEA", "PWK*CT*AD", "LQ/FRM"),
        "X222A1",
        (("PWK", 24, 2, "7"),),
        PWK_CT,
    ),
    V(
        "837p/lfh-anesthesia-minutes.x12",
        ("anesthesia", "SV103 MJ minutes", "SV101 with 3 modifiers", "NM1*77 without address"),
        "X222A1; '>' as ':'; SV107 1.00 as 1",
    ),
    V(
        "837p/lfh-repriced-dme.x12",
        ("repriced HCP", "REF*9A", "NM1*DN with NPI", "SV1 rental RR"),
        "X222A1; '>' as ':'",
    ),
    V(
        "837p/lfh-emergency-dependent-secondary.x12",
        ("emergency POS 23", "dependent", "HCP 00 T1", "2320 secondary"),
        "X222A1; '>' as ':'",
    ),
    V(
        "837p/sdk-cob-other-payer-referring-providers.x12",
        ("2330C NM1*DN", "2330D NM1*P3", "SBR09 12 in 2320"),
        "X222A1; 2320 AMT*F2 as AMT*EAF; 2330C/D names dropped (not used)",
    ),
    V(
        "837p/written-icd10-pwk-multi-subscriber.x12",
        (
            "HI ABK/ABF (ICD-10)",
            "2300 PWK*OZ*BM",
            "CLM01 with space and #",
            "REF*EI with hyphen",
            "SBR09 MC and 12",
            "dependent HL 23",
            "NM1*DN without NPI",
            "2010BA N3/N4/DMG",
            "REF*6R",
            "PRV*BI",
        ),
    ),
    V(
        "837p/written-medicare-secondary-2330b-dtp573.x12",
        (
            "Medicare secondary SBR09 MB",
            "2320 SBR09 CI",
            "2330B DTP*573 (claim level)",
            "2430 SVD/CAS/DTP*573",
            "AMT*D/EAF",
            "HI ABK/ABF",
        ),
    ),
    V(
        "837p/written-chiropractic-out-of-network.x12",
        ("chiropractic", "out of network HCP15 3", "CR2", "DTP*454/304/455", "no PRV*BI", "REF*SY", "SBR09 BL"),
    ),
    V("270/lfh-subscriber-health-benefit-check.x12", ("subscriber", "EQ 30")),
    V("270/lfh-dependent-health-benefit-check.x12", ("dependent HL 23", "subscriber without name")),
    V("270/lfh-dependent-commercial-health-insurance.x12", ("dependent HL 23", "INS", "HI", "PRV")),
    V("270/lfh-subscriber-drug-in-office.x12", ("subscriber", "AMT R/PB", "III", "REF*9F")),
    V(
        "270/sdk-mixed-members.x12",
        ("six subscribers", "three dependents"),
        "ST03 005010X279 as X279A1; BHT02 01 (cancellation) as 13 (request)",
    ),
    V("271/lfh-subscriber.x12", ("active coverage EB*1", "EB*B copay", "LS/LE 2120")),
    V("271/lfh-dependent.x12", ("dependent HL 23", "EB*B"), "2100D NM1*IL as NM1*03 (the dependent's qualifier)"),
    V("271/lfh-dependent-health-benefit-check.x12", ("dependent", "INS", "LS/LE NM1*P3")),
    V(
        "271/lfh-subscriber-health-benefit-check-error.x12",
        ("AAA at 2100B (information receiver)",),
        "SE02 4323 did not match ST02 4321 (kept as a broken variant)",
    ),
    V(
        "271/sdk-mixed-members.x12",
        ("six subscribers", "three dependents", "TRN*1 by the source"),
        "ST03 005010X279 as X279A1",
    ),
    V("271/written-aaa-subscriber-not-found.x12", ("AAA at 2100C", "AAA03 75")),
    V("271/written-aaa-dependent-not-found.x12", ("AAA at 2100D", "AAA03 67", "dependent HL 23")),
    V("271/written-aaa-source-no-response-resubmit.x12", ("AAA at 2100A", "AAA03 80", "AAA04 P resubmit")),
    V(
        "271/written-benefits-active-inactive.x12",
        ("EB*1 active", "EB*6 inactive", "EB*B copay", "EB*C deductible and remaining", "EB*A coinsurance"),
    ),
    V(
        "276/lfh-provider-level-status.x12",
        ("two providers", "dependent HL 23", "SVC line"),
        "a typo HL6*5*22*1 written HL*6*5*22*1 (kept as a broken variant)",
    ),
    V("276/written-claim-level.x12", ("one claim", "CLM01 with space and #", "AMT*T3")),
    V(
        "277/lfh-claim-level-status.x12",
        ("P3/F0/F2 statuses", "line-level SVC/STC", "dependent HL 23"),
        "SE01 36 counted 38; a 9-digit NPI made 10 digits",
    ),
    V("999/written-accepted.x12", ("IK5 A", "AK9 A")),
    V("999/written-rejected-ik3-ik4.x12", ("IK3 PWK with IK4 code 7", "IK3 missing segment", "IK5 R 5", "AK9 R")),
    V("999/written-partially-accepted.x12", ("three sets", "IK5 A/R/E", "AK9 P", "IK4 code 6")),
    V("999/written-with-ta1.x12", ("TA1 in the same interchange", "AK9 A")),
    V("999/written-rejected-se-count.x12", ("IK5 R 4 without IK3",)),
    V("277ca/written-accepted.x12", ("two claims accepted A2:20", "QTY/AMT totals", "receiver A1:19")),
    V("277ca/written-rejected-mixed.x12", ("one accepted, one rejected A7", "line-level SVC/STC", "QTY AA/QC")),
    V(
        "277ca/written-provider-trace-without-status.x12",
        ("2200C TRN and REF without STC", "as eMedNY and Availity send it"),
        pyx12_false_errors=(("STC", 17, None, "3"),),
        pyx12_why="pyx12's X214 map makes the 2200C STC required; the guide makes it situational (a provider-level "
        "status), and production 277CAs (eMedNY, Availity) send 2200C with its TRN alone",
    ),
    V(
        "835/written-bank-numbers-padded.x12",
        ("BPR07/BPR13 with a leading space", "two NDC lines"),
        "written-ndc-n4-crossover.x12 with its bank numbers padded as some payers' systems write them",
    ),
]


@dataclass(frozen=True)
class Refusal:
    segment: str
    loop: str | None  # None: the header or trailer, not in a loop
    ik3: str | None  # IK304 segment error code (1-8 ...)
    reason: str
    element: int | None = None
    component: int | None = None
    ik4: str | None = None  # IK403 element error code (1-10 ...)
    ik5: str = "5"  # IK502: 5 one or more segments in error, 4 SE count, 3 control numbers
    snip: int = 2  # WEDI SNIP level: 1 syntax, 2 guide rules, 3 balancing


@dataclass(frozen=True)
class Variant:
    name: str
    base: str  # under valid/
    op: str  # remove | insert | move | duplicate | element | replace | lines | se_count | se_control
    args: tuple
    refusal: Refusal
    at: str | None = None  # the segment refused, when it is not the one changed (balancing: the claim, BPR)
    pyx12_at: tuple[str, int] | None = None  # where pyx12 reports it, when that differs from the guide's place


def R(segment, loop, ik3, reason, **kw) -> Refusal:
    return Refusal(segment, loop, ik3, reason, **kw)


BAD = "7"  # IK403 invalid code value
VARIANTS = [
    Variant(
        "835-no-trn",
        "835/lfh-managed-care.x12",
        "remove",
        ("TRN",),
        R("TRN", None, "3", "TRN (reassociation trace number) is required after BPR"),
    ),
    Variant(
        "835-no-patient-name",
        "835/written-nine-claims-same-patient.x12",
        "remove",
        ("NM1*QC",),
        R("NM1", "2100", "3", "NM1*QC (patient name) is required in every claim payment"),
    ),
    Variant(
        "835-unknown-segment",
        "835/written-nine-claims-same-patient.x12",
        "insert",
        ("CLP", "ZZZ*UNKNOWN~"),
        R("ZZZ", "2100", "1", "ZZZ is not an X12 segment"),
    ),
    Variant(
        "835-dtm405-after-payer",
        "835/lfh-secondary-payment.x12",
        "move",
        ("DTM*405", "N1*PR"),
        R("DTM", "1000A", "7", "DTM*405 belongs in the header before the payer loop"),
    ),
    Variant(
        "835-se-count",
        "835/written-reversal-correction-plb.x12",
        "se_count",
        (1,),
        R("SE", None, None, "SE01 does not count the segments of the transaction set", element=1, ik5="4"),
    ),
    Variant(
        "835-se-control",
        "835/lfh-secondary-payment.x12",
        "se_control",
        ("4321",),
        R("SE", None, None, "SE02 differs from ST02", element=2, ik5="3"),
    ),
    Variant(
        "835-paid-not-numeric",
        "835/written-denials-bop-payee-fi.x12",
        "element",
        ("CLP#2", 4, "75.0O"),
        R("CLP", "2100", "8", "CLP04 (paid amount) is not a number", element=4, ik4="6"),
    ),
    Variant(
        "835-no-claim-status",
        "835/written-denials-bop-payee-fi.x12",
        "element",
        ("CLP", 2, ""),
        R("CLP", "2100", "8", "CLP02 (claim status) is required", element=2, ik4="1"),
    ),
    Variant(
        "835-payee-id-qualifier",
        "835/written-payee-xv-url-only-no-ref2u.x12",
        "element",
        ("N1*PE", 3, "ZZ"),
        R("N1", "1000B", "8", "N103 must be XX, FI or XV for the payee", element=3, ik4=BAD),
    ),
    Variant(
        "835-two-production-dates",
        "835/written-nine-claims-same-patient.x12",
        "duplicate",
        ("DTM*405",),
        R("DTM", None, "5", "DTM*405 (production date) may appear once"),
    ),
    Variant(
        "835-bad-production-date",
        "835/lfh-medicare-part-a.x12",
        "element",
        ("DTM*405", 2, "20021345"),
        R("DTM", None, "8", "DTM02 is not a date (month 13)", element=2, ik4="8"),
    ),
    Variant(
        "835-no-payee",
        "835/sdk-eight-claims.x12",
        "remove",
        ("N1*PE",),
        R("N1", "1000B", "3", "the payee loop (N1*PE) is required"),
    ),
    Variant(
        "835-plb-reason",
        "835/written-forward-balance-non.x12",
        "element",
        ("PLB", 3, "ZZ:24088000001"),
        R("PLB", None, "8", "PLB03-1 is not a provider adjustment reason code", element=3, component=1, ik4=BAD),
    ),
    Variant(
        "835-claim-unbalanced",
        "835/written-reversal-correction-plb.x12",
        "element",
        ("CAS", 3, "-31.00"),
        R("CLP", "2100", None, "CLP03 - CLP04 differs from the claim's adjustments by 1.00", element=4, snip=3),
        at="CLP",
    ),
    Variant(
        "835-line-unbalanced",
        "835/written-ndc-n4-crossover.x12",
        "element",
        ("SVC", 3, "20.55"),
        R("SVC", "2110", None, "SVC02 - SVC03 differs from the line's adjustments by 0.10", element=3, snip=3),
    ),
    Variant(
        "835-payment-mismatch",
        "835/written-nine-claims-same-patient.x12",
        "element",
        ("BPR", 2, "800.80"),
        R("BPR", None, None, "BPR02 800.80 is not sum CLP04 810.80 minus PLB 0.00", element=2, snip=3),
    ),
    Variant(
        "835-plb-dropped",
        "835/lfh-medicare-part-a.x12",
        "remove",
        ("PLB",),
        R("BPR", None, None, "BPR02 150000.00 is not sum CLP04 149998.73 without the PLB", element=2, snip=3),
        at="BPR",
    ),
    Variant(
        "837p-pwk-ad-at-claim",
        "837p/written-icd10-pwk-multi-subscriber.x12",
        "element",
        ("PWK", 2, "AD"),
        R("PWK", "2300", "8", "PWK02 AD is not a claim attachment transmission code", element=2, ik4=BAD),
    ),
    Variant(
        "837p-no-diagnosis",
        "837p/lfh-commercial-dependent-icd9.x12",
        "remove",
        ("HI",),
        R("HI", "2300", "3", "HI (diagnosis) is required on a professional claim"),
    ),
    Variant(
        "837p-no-receiver",
        "837p/lfh-ambulance.x12",
        "remove",
        ("NM1*40",),
        R("NM1", "1000B", "3", "NM1*40 (receiver name) is required"),
    ),
    Variant(
        "837p-unknown-segment",
        "837p/lfh-chiropractic.x12",
        "insert",
        ("CLM", "XYZ*1~"),
        R("XYZ", "2300", "1", "XYZ is not an X12 segment"),
    ),
    Variant(
        "837p-hi-before-clm",
        "837p/lfh-anesthesia-minutes.x12",
        "move",
        ("HI", "NM1*PR"),
        R("HI", "2010BB", "7", "HI belongs in the claim loop after CLM"),
    ),
    Variant(
        "837p-se-count",
        "837p/lfh-home-infusion.x12",
        "se_count",
        (-1,),
        R("SE", None, None, "SE01 does not count the segments of the transaction set", element=1, ik5="4"),
    ),
    Variant(
        "837p-charge-not-numeric",
        "837p/lfh-repriced-dme.x12",
        "element",
        ("CLM", 2, "28.7S"),
        R("CLM", "2300", "8", "CLM02 (total charge) is not a number", element=2, ik4="6"),
    ),
    Variant(
        "837p-claim-unbalanced",
        "837p/lfh-cob-secondary-2320-2430.x12",
        "element",
        ("SV1", 2, "44.00"),
        R("CLM", "2300", None, "CLM02 79.04 is not the sum of the lines' SV102 (80.04)", element=2, snip=3),
        at="CLM",
    ),
    Variant(
        "837p-no-place-of-service",
        "837p/lfh-commercial-subscriber-hmo.x12",
        "element",
        ("CLM", 5, "::1"),
        R("CLM", "2300", "8", "CLM05-1 (place of service) is required", element=5, component=1, ik4="1"),
    ),
    Variant(
        "837p-diagnosis-qualifier",
        "837p/written-icd10-pwk-multi-subscriber.x12",
        "element",
        ("HI", 1, "XX:J069"),
        R("HI", "2300", "8", "HI01-1 must be ABK (ICD-10) or BK (ICD-9)", element=1, component=1, ik4=BAD),
    ),
    Variant(
        "837p-two-d9",
        "837p/lfh-commercial-dependent-icd9.x12",
        "duplicate",
        ("REF*D9",),
        R("REF", "2300", "5", "REF*D9 (claim identifier for transmission intermediaries) may appear once"),
    ),
    Variant(
        "837p-payer-responsibility",
        "837p/lfh-auto-accident.x12",
        "element",
        ("SBR", 1, "Z"),
        R("SBR", "2000B", "8", "SBR01 must be a payer responsibility sequence code (P, S, T...)", element=1, ik4=BAD),
    ),
    Variant(
        "837p-51-service-lines",
        "837p/written-chiropractic-out-of-network.x12",
        "lines",
        (51,),
        R("LX", "2400", "4", "a professional claim carries at most 50 service lines (loop 2400)"),
    ),
    Variant(
        "837p-no-subscriber-sbr",
        "837p/written-chiropractic-out-of-network.x12",
        "remove",
        ("SBR",),
        R("SBR", "2000B", "3", "SBR (subscriber information) is required in 2000B"),
    ),
    Variant(
        "837p-ndc-qualifier",
        "837p/lfh-drug-in-office.x12",
        "element",
        ("LIN", 2, "XX"),
        R("LIN", "2410", "8", "LIN02 must be N4 (NDC)", element=2, ik4=BAD),
    ),
    Variant(
        "837p-bad-birth-date",
        "837p/lfh-emergency-dependent-secondary.x12",
        "element",
        ("DMG#2", 2, "19961307"),
        R("DMG", "2010CA", "8", "DMG02 is not a date (month 13)", element=2, ik4="8"),
    ),
    Variant(
        "999-bad-ik5-code",
        "999/written-rejected-ik3-ik4.x12",
        "element",
        ("IK5", 1, "Z"),
        R("IK5", "2000", "8", "IK501 must be A, E, M, R, W or X", element=1, ik4=BAD),
    ),
    Variant(
        "999-no-ak9",
        "999/written-accepted.x12",
        "remove",
        ("AK9",),
        R("AK9", None, "3", "AK9 (functional group response trailer) is required"),
        pyx12_at=("AK9", 4),
    ),  # pyx12 names the last segment it read, not the place of the missing one
    Variant(
        "999-se-count",
        "999/written-partially-accepted.x12",
        "se_count",
        (2,),
        R("SE", None, None, "SE01 does not count the segments of the transaction set", element=1, ik5="4"),
    ),
    Variant(
        "277ca-no-source-trn",
        "277ca/written-accepted.x12",
        "remove",
        ("TRN",),
        R("TRN", "2200A", "3", "TRN (information source trace) is required"),
        pyx12_at=("TRN", 7),
    ),  # pyx12 first refuses the two DTPs it cannot place, then misses the TRN
    Variant(
        "277ca-no-status-category",
        "277ca/written-rejected-mixed.x12",
        "element",
        ("STC", 1, ":19:PR"),
        R("STC", "2200B", "8", "STC01-1 (claim status category) is required", element=1, component=1, ik4="1"),
    ),
    Variant(
        "277ca-se-control",
        "277ca/written-accepted.x12",
        "se_control",
        ("0002",),
        R("SE", None, None, "SE02 differs from ST02", element=2, ik5="3"),
    ),
    Variant(
        "270-se-count",
        "270/lfh-dependent-health-benefit-check.x12",
        "se_count",
        (1,),
        R("SE", None, None, "SE01 does not count the segments of the transaction set", element=1, ik5="4"),
    ),
    Variant(
        "270-unknown-segment",
        "270/sdk-mixed-members.x12",
        "insert",
        ("EQ", "ZZZ*1~"),
        R("ZZZ", "2110D", "1", "ZZZ is not an X12 segment"),
    ),
    Variant(
        "270-se-control",
        "270/lfh-subscriber-health-benefit-check.x12",
        "se_control",
        ("1235",),
        R("SE", None, None, "SE02 differs from ST02", element=2, ik5="3"),
    ),
    Variant(
        "271-se-control-as-found",
        "271/lfh-subscriber-health-benefit-check-error.x12",
        "se_control",
        ("4323",),
        R("SE", None, None, "SE02 4323 differs from ST02 4321 (as the source file had it)", element=2, ik5="3"),
    ),
    Variant(
        "271-copay-not-numeric",
        "271/written-benefits-active-inactive.x12",
        "element",
        ("EB*B", 7, "25.0O"),
        R("EB", "2110C", "8", "EB07 (benefit amount) is not a number", element=7, ik4="6"),
    ),
    Variant(
        "271-unknown-segment",
        "271/lfh-subscriber.x12",
        "insert",
        ("EB", "FOO*1~"),
        R("FOO", "2110C", "1", "FOO is not an X12 segment"),
    ),
    Variant(
        "276-charge-not-numeric",
        "276/written-claim-level.x12",
        "element",
        ("AMT", 2, "15O.00"),
        R("AMT", "2200D", "8", "AMT02 (claim charge) is not a number", element=2, ik4="6"),
    ),
    Variant(
        "276-hl-typo-as-found",
        "276/lfh-provider-level-status.x12",
        "replace",
        ("HL*6*5*22*1~", "HL6*5*22*1~"),
        R("HL6", "2000D", "1", "HL6 is not a segment (a missing element separator, as the source file had it)"),
    ),
    Variant(
        "277-se-count-as-found",
        "277/lfh-claim-level-status.x12",
        "se_count",
        (-2,),
        R("SE", None, None, "SE01 36 does not count the 38 segments (as the source file had it)", element=1, ik5="4"),
    ),
]


# ------------------------------------------------------------------------------------------- variants


def _find(lines: list[str], selector: str) -> int:
    """Index of the nth line whose segment starts with the selector: "CLP", "NM1*QC", "DMG#2"."""
    prefix, _, nth = selector.partition("#")
    hits = [i for i, line in enumerate(lines) if (line + "*").startswith(prefix + "*")]
    if len(hits) < int(nth or 1):
        raise LookupError(f"no {selector} in the file")
    return hits[int(nth or 1) - 1]


def _set_element(line: str, position: int, value: str) -> str:
    elements = line.rstrip("~").split("*")
    elements += [""] * (position + 1 - len(elements))
    elements[position] = value
    return "*".join(elements).rstrip("*") + "~"


def _recount(lines: list[str]) -> list[str]:
    st = _find(lines, "ST")
    se = _find(lines, "SE")
    return lines[:se] + [_set_element(lines[se], 1, str(se - st + 1))] + lines[se + 1 :]


def _service_lines(lines: list[str], total: int) -> tuple[list[str], int]:
    """Repeat the claim's last service line (LX to SE) up to `total` lines; CLM02 follows, so it still balances."""
    first, se = _find(lines, f"LX#{sum(1 for x in lines if x.startswith('LX*'))}"), _find(lines, "SE")
    loop, number = lines[first:se], int(lines[first].rstrip("~").split("*")[1])
    copies = [[_set_element(loop[0], 1, str(number + n))] + loop[1:] for n in range(1, total - number + 1)]
    charge = Decimal(_find_element(loop, "SV1", 2))
    clm = _find(lines, "CLM")
    lines[clm] = _set_element(lines[clm], 2, str(Decimal(_find_element(lines, "CLM", 2)) + charge * len(copies)))
    out = lines[:se] + [line for copy in copies for line in copy] + lines[se:]
    return out, se + len(loop) * (len(copies) - 1)


def _find_element(lines: list[str], selector: str, position: int) -> str:
    return lines[_find(lines, selector)].rstrip("~").split("*")[position]


def apply(variant: Variant, text: str) -> tuple[str, int]:
    """The broken text and the position (ST = 1) of the defective segment."""
    lines = text.splitlines()
    op, args = variant.op, variant.args
    if op == "remove":
        at = _find(lines, args[0])
        del lines[at]
    elif op == "insert":
        at = _find(lines, args[0]) + 1
        lines.insert(at, args[1])
    elif op == "duplicate":
        at = _find(lines, args[0]) + 1
        lines.insert(at, lines[at - 1])
    elif op == "move":
        line = lines.pop(_find(lines, args[0]))
        at = _find(lines, args[1]) + 1
        lines.insert(at, line)
    elif op == "element":
        at = _find(lines, args[0])
        lines[at] = _set_element(lines[at], args[1], args[2])
    elif op == "replace":
        at = lines.index(args[0])
        lines[at] = args[1]
    elif op == "lines":
        lines, at = _service_lines(lines, args[0])
    if op in {"se_count", "se_control"}:
        at = _find(lines, "SE")
        current = lines[at].rstrip("~").split("*")
        value = str(int(current[1]) + args[0]) if op == "se_count" else args[0]
        lines[at] = _set_element(lines[at], 1 if op == "se_count" else 2, value)
    else:
        lines = _recount(lines)
    return "\n".join(lines) + "\n", at - _find(lines, "ST") + 1


# ------------------------------------------------------------------------------------------- manifest


def _kind(path: str) -> str:
    return path.split("/")[0]


def _source(path: str) -> dict:
    where, licence, what = SOURCES[Path(path).name.split("-")[0]]
    return {"source": where, "licence": licence, "about": what}


def _figures(text: str) -> dict | None:
    try:
        return oracle.figures(text)
    except ValueError:  # an amount that is not a number: the file is refused before anything is summed
        return None


def _pyx12(guide: str, expect: str, **details) -> dict:
    if guide not in PYX12_GUIDES:
        return {"map": False, "expect": "not validated: pyx12 4.0.0 has no 5010 map for " + guide}
    return {"map": True, "expect": expect, **details}


def valid_entry(item: Valid) -> dict:
    path, kind = f"valid/{item.path}", _kind(item.path)
    text = (HERE / path).read_text()
    pyx12 = (
        _pyx12(GUIDES[kind], "errors", errors=[list(e) for e in item.pyx12_false_errors], why=item.pyx12_why)
        if item.pyx12_false_errors
        else _pyx12(GUIDES[kind], "valid")
    )
    return {
        "path": path,
        "transaction": kind,
        "guide": GUIDES[kind],
        "valid": True,
        **_source(item.path),
        "adapted": item.adapted,
        "shapes": list(item.shapes),
        "pyx12": pyx12,
        "figures": oracle.figures(text),
    }


def broken_entry(variant: Variant) -> tuple[dict, str]:
    kind = _kind(variant.base)
    text, position = apply(variant, (HERE / "valid" / variant.base).read_text())
    if variant.at:
        lines = text.splitlines()
        position = _find(lines, variant.at) - _find(lines, "ST") + 1
    refusal = {"position": position, **asdict(variant.refusal)}
    at = list(variant.pyx12_at) if variant.pyx12_at else [variant.refusal.segment, position]
    pyx12 = _pyx12(GUIDES[kind], "valid (pyx12 does not balance amounts)" if variant.refusal.snip == 3 else "error")
    if pyx12["map"] and variant.refusal.snip < 3:
        pyx12["at"] = at
    entry = {
        "path": f"broken/{kind}/{variant.name}.x12",
        "transaction": kind,
        "guide": GUIDES[kind],
        "valid": False,
        "derived_from": f"valid/{variant.base}",
        **_source(variant.base),
        "defect": {"op": variant.op, "args": list(variant.args)},
        "refusal": refusal,
        "pyx12": pyx12,
        "figures": _figures(text),
    }
    return entry, text


FORMAT = (
    "One entry per file. path: relative to tests/conformance/. transaction: 835, 837p, 270, 271, 276, 277 "
    "(005010X212 status), 277ca (005010X214), 999. valid: whether the 5010 guide allows the file. figures: what a "
    "reader must find, computed by oracle.py from the raw segments (amounts as strings with two decimals; null "
    "when an amount is not a number). pyx12: whether pyx12 4.0.0 has the guide's map and what it must say (valid; "
    "errors = its known false errors; error at [segment, position]). Broken files: derived_from the valid file, "
    "defect (how it was made, reproducible with build.apply), refusal = where and why a guide-following reader "
    "must refuse it: segment, position in the transaction set (ST = 1), loop (null = header/trailer), element, "
    "component, ik3 (999 IK304), ik4 (999 IK403), ik5 (IK502), snip (WEDI SNIP level; 3 = balancing, which "
    "the 999 does not carry) and reason."
)


def manifest() -> tuple[dict, dict[str, str]]:
    entries = [valid_entry(item) for item in VALID]
    broken_texts: dict[str, str] = {}
    for variant in VARIANTS:
        entry, text = broken_entry(variant)
        entries.append(entry)
        broken_texts[entry["path"]] = text
    return {"format": FORMAT, "generated_by": "python -m tests.conformance.build", "files": entries}, broken_texts


def sources_table(entries: list[dict]) -> str:
    rows = ["| file | source | licence | adapted |", "| --- | --- | --- | --- |"]
    for e in entries:
        origin = e["source"] if e["valid"] else f"one defect in {e['derived_from']}"
        rows.append(f"| {e['path']} | {origin} | {e['licence']} | {e.get('adapted', '') or '-'} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    data, broken = manifest()
    listed = {e["path"] for e in data["files"] if e["valid"]}
    on_disk = {str(p.relative_to(HERE)) for p in (HERE / "valid").rglob("*.x12")}
    if listed != on_disk:
        raise SystemExit(f"valid/ and the catalog differ: {sorted(listed ^ on_disk)}")
    for old in (HERE / "broken").rglob("*.x12"):
        old.unlink()
    for path, text in broken.items():
        (HERE / path).parent.mkdir(parents=True, exist_ok=True)
        (HERE / path).write_text(text)
    (HERE / "manifest.json").write_text(json.dumps(data, indent=1) + "\n")
    head = (HERE / "SOURCES.md").read_text().split("## Files\n")[0]
    (HERE / "SOURCES.md").write_text(head + "## Files\n\n" + sources_table(data["files"]))
    print(f"{len(listed)} valid, {len(broken)} broken files")


if __name__ == "__main__":
    main()
