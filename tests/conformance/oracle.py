"""An independent reading of raw X12 for the conformance corpus.

Nothing here comes from x12/ or services/: a tokenizer that takes its separators from the ISA, plain
counts and sums over the segments, and the envelope, vocabulary and balancing checks a person would
do by hand. The figures in manifest.json are the ones `figures` computes; `check` lists what is wrong
with a file, each finding at a segment and its position in the transaction set (ST = 1).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")

# Segment ids each guide uses (ST..SE); anything else is an unrecognized segment (999 IK304 = 1).
VOCABULARY = {
    "835": "ST BPR TRN CUR REF DTM N1 N3 N4 PER LX TS3 TS2 CLP CAS NM1 MIA MOA AMT QTY SVC LQ PLB SE",
    "837": "ST BHT NM1 PER HL PRV N3 N4 REF SBR PAT DMG CLM DTP PWK CN1 AMT K3 NTE CR1 CR2 CRC HI HCP CAS OI MOA "
    "LX SV1 SV5 CR3 QTY MEA PS1 LIN CTP SVD LQ FRM SE",
    "270": "ST BHT HL TRN NM1 REF N3 N4 PRV DMG INS HI DTP EQ AMT III MSG SE",
    "271": "ST BHT HL AAA TRN NM1 REF N3 N4 PER PRV DMG INS HI DTP MPI EB HSD MSG III LS LE SE",
    "276": "ST BHT HL NM1 TRN REF AMT DTP DMG SVC SE",
    "277": "ST BHT HL NM1 TRN STC REF DTP QTY AMT SVC PER DMG SE",
    "999": "ST AK1 AK2 IK3 CTX IK4 IK5 AK9 SE",
}
ENVELOPE = {"ISA", "IEA", "GS", "GE", "TA1"}
FUNCTIONAL_GROUP = {"HP": "835", "HC": "837", "HS": "270", "HB": "271", "HR": "276", "HN": "277", "FA": "999"}
# Amount elements summed or compared below, by segment: they must be decimal numbers (999 IK403 = 6).
AMOUNTS = {
    "BPR": (2,),
    "CLP": (3, 4, 5),
    "CAS": (3, 6, 9, 12, 15, 18),
    "SVC": (2, 3),
    "PLB": (4, 6, 8, 10, 12, 14),
    "CLM": (2,),
    "SV1": (2,),
    "AMT": (2,),
    "EB": (7,),
    "STC": (4,),
}
CAS_AMOUNTS = AMOUNTS["CAS"]
PLB_AMOUNTS = AMOUNTS["PLB"]
REJECTED_277CA = {"A3", "A4", "A6", "A7", "A8"}


@dataclass(frozen=True)
class Separators:
    element: str
    component: str
    repetition: str | None
    segment: str


@dataclass(frozen=True)
class Segment:
    id: str
    elements: tuple[str, ...]  # elements[1] is the first data element, as X12 numbers them
    ordinal: int  # 1-based position in the file
    position: int | None  # 1-based position in its transaction set (ST = 1); None outside one

    def get(self, n: int) -> str:
        return self.elements[n] if n < len(self.elements) else ""


@dataclass(frozen=True)
class Finding:
    segment: str
    position: int | None
    code: str  # "IK304:1", "IK403:6", "IK5:4", "balance" ...
    reason: str
    element: int | None = None


@dataclass
class Document:
    separators: Separators
    segments: list[Segment] = field(default_factory=list)

    def component(self, value: str, k: int) -> str:
        parts = value.split(self.separators.component)
        return parts[k - 1] if k <= len(parts) else ""

    def transaction_sets(self) -> list[list[Segment]]:
        sets: list[list[Segment]] = []
        for seg in self.segments:
            if seg.id == "ST":
                sets.append([])
            if sets and seg.position is not None:
                sets[-1].append(seg)
        return sets


def separators(text: str) -> Separators:
    """ISA04/ISA03 boundary gives the element separator, ISA16 the component one, the character after it the
    segment terminator, and ISA11 the repetition separator (5010)."""
    head = text.lstrip()
    if not head.startswith("ISA") or len(head) < 106:
        raise ValueError("an X12 interchange starts with a 106-character ISA segment")
    element = head[3]
    fields = head.split(element, 16)
    if len(fields) < 17 or len(fields[16]) < 2:
        raise ValueError("the ISA segment has fewer than 16 elements")
    repetition = fields[11] if len(fields[11]) == 1 and not fields[11].isalnum() else None
    return Separators(element=element, component=fields[16][0], repetition=repetition, segment=fields[16][1])


def parse(text: str) -> Document:
    seps = separators(text)
    doc = Document(seps)
    position: int | None = None
    for ordinal, raw in enumerate((s.strip() for s in text.strip().split(seps.segment) if s.strip()), start=1):
        elements = tuple(raw.split(seps.element))
        seg_id = elements[0]
        if seg_id == "ST":
            position = 1
        elif position is not None:
            position += 1
        doc.segments.append(Segment(seg_id, elements, ordinal, position))
        if seg_id == "SE":
            position = None
    return doc


def amount(value: str) -> Decimal:
    try:
        result = Decimal(value) if value else Decimal(0)
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not result.is_finite() or any(c not in "0123456789.-" for c in value):
        raise ValueError(f"not an amount: {value!r}")
    return result


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


# ---------------------------------------------------------------------------------------------- figures


def figures(text: str) -> dict:
    """What a reader of this file must find, computed from the raw segments."""
    doc = parse(text)
    result = _envelope_figures(doc)
    kind = result["transaction"]
    sets = doc.transaction_sets()
    body = [seg for st in sets for seg in st]
    per_type = {
        "835": _figures_835,
        "837": _figures_837,
        "270": _figures_eligibility,
        "271": _figures_eligibility,
        "276": _figures_status,
        "277": _figures_status,
        "999": _figures_999,
    }
    result.update(per_type[kind](doc, body))
    return result


def _envelope_figures(doc: Document) -> dict:
    ids = [seg.id for seg in doc.segments]
    st_ids = {seg.get(1) for seg in doc.segments if seg.id == "ST"}
    return {
        "transaction": st_ids.pop() if len(st_ids) == 1 else "mixed",
        "interchanges": ids.count("ISA"),
        "groups": ids.count("GS"),
        "transaction_sets": ids.count("ST"),
        "segments": sum(1 for seg in doc.segments if seg.position is not None),
        "ta1": ids.count("TA1"),
    }


def _sum(segments: list[Segment], seg_id: str, positions: tuple[int, ...]) -> Decimal:
    return sum((amount(s.get(p)) for s in segments if s.id == seg_id for p in positions), Decimal(0))


def _figures_835(doc: Document, body: list[Segment]) -> dict:
    clps = [s for s in body if s.id == "CLP"]
    plbs = [s for s in body if s.id == "PLB"]
    plb_reasons = [doc.component(s.get(p - 1), 1) for s in plbs for p in PLB_AMOUNTS if s.get(p)]
    situational = Counter(s.id for s in body if s.id in {"TS3", "TS2", "MIA", "MOA", "QTY", "PLB", "LQ"})
    situational.update(f"{s.id}*{s.get(1)}" for s in body if (s.id, s.get(1)) in _KEPT_QUALIFIED)
    return {
        "payments": [money(amount(s.get(2))) for s in body if s.id == "BPR"],
        "payment_methods": [s.get(4) for s in body if s.id == "BPR"],
        "payment_total": money(_sum(body, "BPR", (2,))),
        "claims": len(clps),
        "distinct_clp01": len({s.get(1) for s in clps}),
        "claim_status": dict(sorted(Counter(s.get(2) for s in clps).items())),
        "charge_total": money(_sum(body, "CLP", (3,))),
        "paid_total": money(_sum(body, "CLP", (4,))),
        "patient_responsibility_total": money(_sum(body, "CLP", (5,))),
        "adjustment_total": money(_sum(body, "CAS", CAS_AMOUNTS)),
        "service_lines": sum(1 for s in body if s.id == "SVC"),
        "service_charge_total": money(_sum(body, "SVC", (2,))),
        "service_paid_total": money(_sum(body, "SVC", (3,))),
        "service_qualifiers": dict(sorted(Counter(doc.component(s.get(1), 1) for s in body if s.id == "SVC").items())),
        "provider_adjustment_total": money(_sum(body, "PLB", PLB_AMOUNTS)),
        "provider_adjustment_reasons": plb_reasons,
        "payee_id_qualifiers": [s.get(3) for s in body if s.id == "N1" and s.get(1) == "PE"],
        "payer_contacts": [s.get(1) for s in body if s.id == "PER"],
        "situational": dict(sorted(situational.items())),
    }


_KEPT_QUALIFIED = {("REF", "2U"), ("REF", "EV"), ("DTM", "405"), ("NM1", "82"), ("NM1", "TT")}


def _figures_837(doc: Document, body: list[Segment]) -> dict:
    hl_levels = Counter(s.get(3) for s in body if s.id == "HL")
    # the 2000B SBR follows its HL; any other SBR opens a 2320 (other subscriber) loop
    after_hl = {body[i + 1].ordinal for i, s in enumerate(body[:-1]) if s.id == "HL"}
    sbrs = [s for s in body if s.id == "SBR"]
    his = [s for s in body if s.id == "HI"]
    return {
        "claims": sum(1 for s in body if s.id == "CLM"),
        "claim_ids": [s.get(1) for s in body if s.id == "CLM"],
        "charge_total": money(_sum(body, "CLM", (2,))),
        "service_lines": sum(1 for s in body if s.id == "SV1"),
        "service_charge_total": money(_sum(body, "SV1", (2,))),
        "billing_providers": hl_levels["20"],
        "subscribers": hl_levels["22"],
        "dependents": hl_levels["23"],
        "claim_filing_indicators": [s.get(9) for s in sbrs if s.ordinal in after_hl],
        "other_subscribers": sum(1 for s in sbrs if s.ordinal not in after_hl),
        "diagnosis_qualifiers": dict(
            sorted(Counter(doc.component(e, 1) for s in his for e in s.elements[1:] if e).items())
        ),
        "unit_bases": dict(sorted(Counter(s.get(3) for s in body if s.id == "SV1").items())),
        "situational": dict(
            sorted(Counter(s.id for s in body if s.id in {"PWK", "PRV", "CR1", "CR2", "LIN", "SVD", "HCP"}).items())
        ),
    }


def _figures_eligibility(doc: Document, body: list[Segment]) -> dict:
    hl_levels = Counter(s.get(3) for s in body if s.id == "HL")
    result = {
        "information_sources": hl_levels["20"],
        "information_receivers": hl_levels["21"],
        "subscribers": hl_levels["22"],
        "dependents": hl_levels["23"],
        "inquiries": sum(1 for s in body if s.id == "EQ"),
    }
    if any(s.get(1) == "271" for s in body if s.id == "ST"):
        result["benefits"] = dict(sorted(Counter(s.get(1) for s in body if s.id == "EB").items()))
        result["rejections"] = _rejections_by_level(body)
    return result


def _rejections_by_level(body: list[Segment]) -> list[dict]:
    """Each AAA with the HL level it belongs to (20 source, 21 receiver, 22 subscriber, 23 dependent)."""
    level, out = "", []
    for seg in body:
        if seg.id == "HL":
            level = seg.get(3)
        elif seg.id == "AAA":
            out.append({"level": level, "reason": seg.get(3), "action": seg.get(4)})
    return out


def _figures_status(doc: Document, body: list[Segment]) -> dict:
    """276/277 and 277CA: a claim is a TRN under a patient-level HL (22/23 for 276/277, PT for 277CA)."""
    claims, claim_status, level = 0, Counter(), ""
    claim_charges, waiting = Decimal(0), False
    for seg in body:
        if seg.id == "HL":
            level, waiting = seg.get(3), False
        elif seg.id == "TRN" and level in {"22", "23", "PT"}:
            claims, waiting = claims + 1, True
        elif seg.id == "STC" and waiting:
            claim_status[doc.component(seg.get(1), 1)] += 1
            claim_charges += amount(seg.get(4))
            waiting = False
    result = {
        "hierarchy": dict(sorted(Counter(s.get(3) for s in body if s.id == "HL").items())),
        "claims": claims,
        "claim_status": dict(sorted(claim_status.items())),
        "charge_total": money(_sum([s for s in body if s.id == "AMT" and s.get(1) == "T3"], "AMT", (2,))),
    }
    if any(s.get(1) == "277" for s in body if s.id == "ST"):
        result["charge_total"] = money(claim_charges)
        result["rejected"] = sum(n for category, n in claim_status.items() if category in REJECTED_277CA)
    return result


def _figures_999(doc: Document, body: list[Segment]) -> dict:
    ta1 = [s for s in doc.segments if s.id == "TA1"]
    return {
        "interchange_acks": [s.get(4) for s in ta1],
        "acknowledged_sets": sum(1 for s in body if s.id == "AK2"),
        "set_statuses": [s.get(1) for s in body if s.id == "IK5"],
        "group_statuses": [s.get(1) for s in body if s.id == "AK9"],
        "group_counts": [[s.get(2), s.get(3), s.get(4)] for s in body if s.id == "AK9"],
        "segment_errors": [[s.get(1), s.get(2), s.get(3), s.get(4)] for s in body if s.id == "IK3"],
        "element_errors": [[s.get(1), s.get(3)] for s in body if s.id == "IK4"],
    }


# ---------------------------------------------------------------------------------------------- checks


def check(text: str) -> list[Finding]:
    """What is wrong with a file that a tokenizer can see: envelope counts and control numbers, segment ids
    outside the guide's vocabulary, HL numbering, amounts that are not numbers, and balancing (an 835 claim
    and service line, the 835 payment, an 837 claim against its lines)."""
    try:
        doc = parse(text)
    except ValueError as exc:
        return [Finding("ISA", None, "envelope", str(exc))]
    findings = _check_envelope(doc) + _check_vocabulary(doc) + _check_hl(doc) + _check_amounts(doc)
    if not any(f.code == "IK403:6" for f in findings):
        for st in doc.transaction_sets():
            findings += _BALANCE.get(st[0].get(1), lambda _st: [])(st)
    return findings


def _check_envelope(doc: Document) -> list[Finding]:
    group_of: dict[int, Segment | None] = {}
    gs = None
    for seg in doc.segments:
        if seg.id == "GS":
            gs = seg
        elif seg.id == "ST":
            group_of[seg.ordinal] = gs
    out = [f for st in doc.transaction_sets() for f in _check_set(st, group_of[st[0].ordinal])]
    return out + _check_counts(doc, "GS", "GE", "ST", 6) + _check_counts(doc, "ISA", "IEA", "GS", 13)


def _check_set(st: list[Segment], gs: Segment | None) -> list[Finding]:
    out: list[Finding] = []
    head, tail = st[0], st[-1]
    if FUNCTIONAL_GROUP.get(gs.get(1) if gs else "") != head.get(1):
        out.append(Finding("ST", 1, "IK5:6", f"ST01 {head.get(1)} does not belong in GS01 {gs and gs.get(1)}", 1))
    if head.get(3) and gs and head.get(3) != gs.get(8):
        out.append(Finding("ST", 1, "IK403:7", f"ST03 {head.get(3)} differs from GS08 {gs.get(8)}", 3))
    if tail.id != "SE":
        return out + [Finding("ST", 1, "IK5:2", "the transaction set has no SE trailer")]
    if tail.get(1) != str(len(st)):
        out.append(Finding("SE", tail.position, "IK5:4", f"SE01 says {tail.get(1)} segments, there are {len(st)}", 1))
    if tail.get(2) != head.get(2):
        out.append(Finding("SE", tail.position, "IK5:3", f"SE02 {tail.get(2)} differs from ST02 {head.get(2)}", 2))
    return out


def _check_counts(doc: Document, header: str, trailer: str, child: str, control: int) -> list[Finding]:
    """GE01/IEA01 count the sets/groups inside; GE02/IEA02 repeat GS06/ISA13."""
    out: list[Finding] = []
    head, count = None, 0
    for seg in doc.segments:
        if seg.id == header:
            head, count = seg, 0
        elif seg.id == child:
            count += 1
        elif seg.id == trailer and head and (seg.get(1) != str(count) or seg.get(2) != head.get(control)):
            reason = f"{trailer} counts {seg.get(1)} ({count} found), control {seg.get(2)} vs {head.get(control)}"
            out.append(Finding(trailer, None, "envelope", reason))
    return out


def _check_vocabulary(doc: Document) -> list[Finding]:
    out: list[Finding] = []
    for st in doc.transaction_sets():
        known = set(VOCABULARY.get(st[0].get(1), "").split())
        out += [
            Finding(s.id, s.position, "IK304:1", f"{s.id} is not a segment of the {st[0].get(1)} guide")
            for s in st
            if s.id not in known
        ]
    out += [
        Finding(s.id, None, "IK304:1", f"{s.id} outside a transaction set")
        for s in doc.segments
        if s.position is None and s.id not in ENVELOPE
    ]
    return out


def _check_hl(doc: Document) -> list[Finding]:
    out: list[Finding] = []
    for st in doc.transaction_sets():
        seen: set[str] = set()
        for s in (s for s in st if s.id == "HL"):
            if s.get(1) != str(len(seen) + 1):
                out.append(Finding("HL", s.position, "IK403:7", f"HL01 {s.get(1)} breaks the 1, 2, 3... order", 1))
            if s.get(2) and s.get(2) not in seen:
                out.append(Finding("HL", s.position, "IK403:7", f"HL02 {s.get(2)} names no earlier HL", 2))
            seen.add(s.get(1))
    return out


def _check_amounts(doc: Document) -> list[Finding]:
    out: list[Finding] = []
    for s in doc.segments:
        for p in AMOUNTS.get(s.id, ()):
            try:
                amount(s.get(p))
            except ValueError as exc:
                out.append(Finding(s.id, s.position, "IK403:6", str(exc), p))
    return out


def _claims(st: list[Segment], opener: str, closers: set[str]) -> list[list[Segment]]:
    """The segments of each claim: from its CLP (or CLM) to the next claim or the first closer."""
    claims: list[list[Segment]] = []
    current: list[Segment] | None = None
    for s in st:
        if s.id == opener:
            current = [s]
            claims.append(current)
        elif s.id in closers:
            current = None
        elif current is not None:
            current.append(s)
    return claims


def _balance_835(st: list[Segment]) -> list[Finding]:
    out: list[Finding] = []
    for claim in _claims(st, "CLP", {"LX", "PLB", "SE"}):
        clp = claim[0]
        adjustments = _sum(claim, "CAS", CAS_AMOUNTS)
        if amount(clp.get(3)) - amount(clp.get(4)) != adjustments:
            out.append(Finding("CLP", clp.position, "balance", f"CLP03 - CLP04 != CAS {adjustments}", 4))
        out += _balance_lines(claim)
    bpr = next((s for s in st if s.id == "BPR"), None)
    paid, plb = _sum(st, "CLP", (4,)), _sum(st, "PLB", PLB_AMOUNTS)
    if bpr and amount(bpr.get(2)) != paid - plb:
        out.append(Finding("BPR", bpr.position, "balance", f"BPR02 {bpr.get(2)} != CLP04 {paid} - PLB {plb}", 2))
    return out


def _balance_lines(claim: list[Segment]) -> list[Finding]:
    out: list[Finding] = []
    lines: list[list[Segment]] = []
    for s in claim[1:]:
        if s.id == "SVC":
            lines.append([s])
        elif lines:
            lines[-1].append(s)
    for line in lines:
        svc = line[0]
        adjustments = _sum(line, "CAS", CAS_AMOUNTS)
        if amount(svc.get(2)) - amount(svc.get(3)) != adjustments:
            out.append(Finding("SVC", svc.position, "balance", f"SVC02 - SVC03 != CAS {adjustments}", 3))
    return out


def _balance_837(st: list[Segment]) -> list[Finding]:
    out: list[Finding] = []
    for claim in _claims(st, "CLM", {"HL", "SE"}):
        clm, lines = claim[0], _sum(claim, "SV1", (2,))
        if amount(clm.get(2)) != lines:
            out.append(Finding("CLM", clm.position, "balance", f"CLM02 {clm.get(2)} != sum of SV102 {lines}", 2))
    return out


_BALANCE = {"835": _balance_835, "837": _balance_837}
