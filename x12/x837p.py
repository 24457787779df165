"""Write and read 837P professional claims, 005010X222A1."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from x12.claim import (
    Adjustment,
    BillingProvider,
    Claim,
    Interchange837,
    OtherPayer,
    Patient,
    Payer,
    ProviderClaims,
    Receiver,
    ReferringProvider,
    RenderingProvider,
    ServiceLine,
    Submitter,
    Subscriber,
)
from x12.envelope import (
    Cursor,
    Element,
    Envelope,
    Separators,
    TransactionSet,
    amount,
    components,
    element,
    quantity,
    read_interchange,
    render_interchange,
    st_control_number,
    to_decimal,
)
from x12.errors import X12Error
from x12.types import Address

VERSION = "005010X222A1"


def envelope_of(interchange: Interchange837) -> Envelope:
    """The envelope render_837p writes for this interchange (what a 999 acknowledges)."""
    return Envelope(
        sender_id=interchange.sender_id,
        receiver_id=interchange.receiver_id,
        control_number=interchange.control_number,
        group_control_number=interchange.group_control_number,
        created=interchange.created,
        usage=interchange.usage,
        functional_id="HC",
        version=VERSION,
        transactions=tuple(TransactionSet("837", st_control_number(i)) for i in range(len(interchange.transactions))),
    )


def render_837p(interchange: Interchange837) -> str:
    bodies = [
        _transaction(interchange, batch, st_control_number(i)) for i, batch in enumerate(interchange.transactions)
    ]
    return render_interchange(envelope_of(interchange), bodies)


def _transaction(ix: Interchange837, batch: ProviderClaims, st_control: str) -> list[list[Element]]:
    sub, bp = ix.submitter, batch.billing_provider
    segs: list[list[Element]] = [
        ["BHT", "0019", "00", f"{ix.control_number}-{st_control}", f"{ix.created:%Y%m%d}", f"{ix.created:%H%M}", "CH"],
        ["NM1", "41", "2", sub.name, "", "", "", "", "46", sub.id],
        ["PER", "IC", sub.contact_name, "TE", sub.contact_phone],
        ["NM1", "40", "2", ix.receiver.name, "", "", "", "", "46", ix.receiver.id],
        ["HL", "1", "", "20", "1"],
        ["PRV", "BI", "PXC", bp.taxonomy_code],
        ["NM1", "85", "2", bp.organization_name, "", "", "", "", "XX", bp.npi],
        *_address(bp.address),
        ["REF", "EI", bp.tax_id],
    ]
    hl = 1
    for claim in batch.claims:
        claim_segments, hl = _claim(claim, hl + 1)
        segs += claim_segments
    return segs


def _address(address: Address) -> list[list[Element]]:
    return [["N3", address.line1, address.line2], ["N4", address.city, address.state, address.zip]]


def _claim(claim: Claim, hl: int) -> tuple[list[list[Element]], int]:
    """Loops 2000B (and 2000C for a dependent) to 2400 for one claim; returns the segments and the
    last HL number used."""
    s, payer, patient = claim.subscriber, claim.payer, claim.patient
    segs: list[list[Element]] = [
        ["HL", str(hl), "1", "22", "1" if patient else "0"],
        [
            "SBR",
            claim.payer_responsibility,
            "" if patient else "18",
            s.group_number,
            "",
            "",
            "",
            "",
            "",
            payer.claim_filing_indicator,
        ],
        ["NM1", "IL", "1", s.last_name, s.first_name, "", "", "", "MI", s.member_id],
        *_address(s.address),
        ["DMG", "D8", f"{s.birth_date:%Y%m%d}", s.sex],
        ["NM1", "PR", "2", payer.name, "", "", "", "", "PI", payer.id],
    ]
    last_hl = hl
    if patient:
        last_hl = hl + 1
        segs += [
            ["HL", str(last_hl), str(hl), "23", "0"],
            ["PAT", patient.relationship_code],
            ["NM1", "QC", "1", patient.last_name, patient.first_name],
            *_address(patient.address),
            ["DMG", "D8", f"{patient.birth_date:%Y%m%d}", patient.sex],
        ]
    segs.append(
        [
            "CLM",
            claim.patient_control_number,
            amount(claim.total_charge),
            "",
            "",
            (claim.place_of_service, "B", claim.frequency_code),
            "Y",
            "A",
            "Y",
            "Y",
        ]
    )
    if claim.payer_claim_control_number:
        segs.append(["REF", "F8", claim.payer_claim_control_number])
    if claim.prior_authorization:
        segs.append(["REF", "G1", claim.prior_authorization])
    principal, *others = claim.diagnoses
    segs.append(["HI", ("ABK", principal), *(("ABF", code) for code in others)])
    if ref := claim.referring_provider:
        segs.append(["NM1", "DN", "1", ref.last_name, ref.first_name, "", "", "", "XX", ref.npi])
    if rp := claim.rendering_provider:
        segs.append(["NM1", "82", "1", rp.last_name, rp.first_name, "", "", "", "XX", rp.npi])
        if rp.taxonomy_code:
            segs.append(["PRV", "PE", "PXC", rp.taxonomy_code])
    for other in claim.other_payers:
        segs += _other_payer(other)
    for line in claim.lines:
        pos = line.place_of_service if line.place_of_service != claim.place_of_service else ""
        segs += [
            ["LX", str(line.line_number)],
            [
                "SV1",
                ("HC", line.procedure_code, *line.modifiers),
                amount(line.charge),
                "UN",
                quantity(line.units),
                pos,
                "",
                tuple(str(p) for p in line.diagnosis_pointers),
            ],
            ["DTP", "472", "D8", f"{line.service_date:%Y%m%d}"],
            ["REF", "6R", line.control_number],
        ]
        for other in claim.other_payers:
            segs += _other_payer_line(other, line)
    return segs, last_hl


def _adjustments(adjustments: tuple[Adjustment, ...]) -> list[list[Element]]:
    """One CAS per group code, at most six reason/amount pairs each (the segment's limit)."""
    segs: list[list[Element]] = []
    for group in dict.fromkeys(a.group for a in adjustments):
        mine = [a for a in adjustments if a.group == group]
        for start in range(0, len(mine), 6):
            segs.append(["CAS", group, *(e for a in mine[start : start + 6] for e in (a.reason, amount(a.amount), ""))])
    return segs


def _other_payer(other: OtherPayer) -> list[list[Element]]:
    """Loops 2320, 2330A and 2330B: the other payer, its subscriber, what it paid and adjusted."""
    segs: list[list[Element]] = [
        [
            "SBR",
            other.responsibility,
            other.relationship_code,
            other.group_number,
            "",
            "",
            "",
            "",
            "",
            other.payer.claim_filing_indicator,
        ],
        *_adjustments(other.adjustments),
    ]
    if other.paid is not None:
        segs.append(["AMT", "D", amount(other.paid)])
    segs += [
        ["OI", "", "", "Y", "", "", "Y"],
        ["NM1", "IL", "1", other.subscriber_last_name, other.subscriber_first_name, "", "", "", "MI", other.member_id],
        ["NM1", "PR", "2", other.payer.name, "", "", "", "", "PI", other.payer.id],
    ]
    if other.adjudication_date:
        segs.append(["DTP", "573", "D8", f"{other.adjudication_date:%Y%m%d}"])
    if other.payer_claim_control_number:
        segs.append(["REF", "F8", other.payer_claim_control_number])
    return segs


def _other_payer_line(other: OtherPayer, line: ServiceLine) -> list[list[Element]]:
    """Loop 2430 for one line, when the other payer adjudicated it."""
    answer = next((a for a in other.lines if a.line_number == line.line_number), None)
    if answer is None:
        return []
    return [
        [
            "SVD",
            other.payer.id,
            amount(answer.paid),
            ("HC", line.procedure_code, *line.modifiers),
            "",
            quantity(line.units),
        ],
        *_adjustments(answer.adjustments),
        ["DTP", "573", "D8", f"{other.adjudication_date:%Y%m%d}"],
    ]


# ---- reading -------------------------------------------------------------


def parse_837p(text: str) -> Interchange837:
    """Read an 837P written by any submitter; raises X12Error (without patient data) when it cannot."""
    sep, env = read_interchange(text)
    if env.functional_id != "HC" or env.version != VERSION:
        raise X12Error(f"not an 837P {VERSION} functional group", "GS")
    try:
        submitter = receiver = None
        batches = []
        for ts in env.transactions:
            if ts.set_id != "837":
                raise X12Error("transaction set is not an 837", "ST")
            try:
                submitter, receiver, batch = _read_transaction(Cursor(ts.segments), sep)
            except X12Error as exc:
                exc.transaction_control_number = ts.control_number
                raise
            batches.append(batch)
        return Interchange837(
            sender_id=env.sender_id,
            receiver_id=env.receiver_id,
            control_number=env.control_number,
            group_control_number=env.group_control_number,
            created=env.created,
            usage=env.usage,
            submitter=submitter,
            receiver=receiver,
            transactions=tuple(batches),
        )
    except ValidationError as exc:
        raise X12Error(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """Where and why, never the offending value (it may be patient data)."""
    problems = ("/".join(str(p) for p in e["loc"]) + ": " + e["type"] for e in exc.errors(include_input=False))
    return "invalid 837P content: " + "; ".join(problems)


def _read_transaction(cur: Cursor, sep: Separators) -> tuple[Submitter, Receiver, ProviderClaims]:
    cur.take("BHT")
    nm1 = cur.take("NM1", "41")
    per = cur.take("PER", "IC")
    submitter = Submitter(name=nm1[3], id=element(nm1, 9), contact_name=element(per, 2), contact_phone=element(per, 4))
    nm1 = cur.take("NM1", "40")
    receiver = Receiver(name=nm1[3], id=element(nm1, 9))
    hl = cur.take("HL")
    if element(hl, 3) != "20":
        raise cur.fail("expected the billing provider HL (20)")
    prv = cur.optional("PRV", "BI")
    cur.skip_unknown("NM1")
    nm1 = cur.take("NM1", "85")
    address = _read_address(cur)
    cur.skip_unknown("REF", "HL")
    tax_id = ""
    while ref := cur.optional("REF"):
        tax_id = element(ref, 2) if element(ref, 1) == "EI" else tax_id
    cur.skip_unknown("HL")
    provider = BillingProvider(
        organization_name=nm1[3],
        npi=element(nm1, 9),
        tax_id=tax_id,
        taxonomy_code=element(prv, 3) if prv else "",
        address=address,
    )
    claims = []
    while not cur.at_end():
        claims.append(_read_claim(cur, sep))
    return submitter, receiver, ProviderClaims(billing_provider=provider, claims=tuple(claims))


def _read_address(cur: Cursor) -> Address:
    n3, n4 = cur.take("N3"), cur.take("N4")
    return Address(line1=n3[1], line2=element(n3, 2) or None, city=n4[1], state=element(n4, 2), zip=element(n4, 3))


def _date(text: str) -> str:
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}"


def _read_person(cur: Cursor) -> tuple[list[str], Address, list[str]]:
    nm1 = cur.take("NM1")
    address = _read_address(cur)
    return nm1, address, cur.take("DMG")


def _read_claim(cur: Cursor, sep: Separators) -> Claim:
    hl = cur.take("HL")
    if element(hl, 3) != "22":
        raise cur.fail("expected a subscriber HL (22)")
    sbr = cur.take("SBR")
    cur.skip_unknown("NM1")
    if not cur.peek("NM1", qualifier="IL"):
        raise cur.fail("expected the subscriber NM1*IL")
    nm1, address, dmg = _read_person(cur)
    subscriber = Subscriber(
        member_id=element(nm1, 9),
        first_name=element(nm1, 4),
        last_name=nm1[3],
        birth_date=_date(element(dmg, 2)),
        sex=element(dmg, 3),
        address=address,
        group_number=element(sbr, 3) or None,
    )
    cur.skip_unknown("NM1")
    nm1 = cur.take("NM1", "PR")
    payer = Payer(name=nm1[3], id=element(nm1, 9), claim_filing_indicator=element(sbr, 9))
    patient = None
    cur.skip_unknown("CLM", "HL")
    if element(hl, 4) == "1":
        if element(cur.take("HL"), 3) != "23":
            raise cur.fail("expected a patient HL (23)")
        pat = cur.take("PAT")
        nm1, address, dmg = _read_person(cur)
        patient = Patient(
            relationship_code=element(pat, 1),
            first_name=element(nm1, 4),
            last_name=nm1[3],
            birth_date=_date(element(dmg, 2)),
            sex=element(dmg, 3),
            address=address,
        )
        cur.skip_unknown("CLM")
    clm = cur.take("CLM")
    pos, _, frequency = (components(element(clm, 5), sep) + ["", ""])[:3]
    refs: dict[str, str] = {}
    diagnoses: list[str] = []
    rendering = referring = None
    others: list[dict[str, Any]] = []
    while not cur.at_end() and not cur.peek("LX", "HL"):
        seg = cur.next()
        if seg[0] == "SBR":
            others.append(_read_other_payer(cur, seg))
        elif seg[0] == "REF":
            refs[element(seg, 1)] = element(seg, 2)
        elif seg[0] == "HI" and not diagnoses:
            diagnoses = [components(e, sep)[1] for e in seg[1:] if e]
        elif seg[0] == "NM1" and element(seg, 1) == "82":
            taxonomy = cur.take("PRV")[3] if cur.peek("PRV", qualifier="PE") else None
            rendering = RenderingProvider(
                npi=element(seg, 9), first_name=element(seg, 4), last_name=seg[3], taxonomy_code=taxonomy
            )
        elif seg[0] == "NM1" and element(seg, 1) == "DN":
            referring = ReferringProvider(npi=element(seg, 9), first_name=element(seg, 4), last_name=seg[3])
    lines = []
    by_payer = {other["payer"].id: other for other in others}
    while cur.peek("LX"):
        lines.append(_read_line(cur, sep, pos, by_payer))
    return Claim(
        patient_control_number=clm[1],
        subscriber=subscriber,
        patient=patient,
        payer=payer,
        payer_responsibility=element(sbr, 1),
        other_payers=tuple(OtherPayer(**o) for o in others),
        total_charge=to_decimal(element(clm, 2), "total charge", "CLM"),
        place_of_service=pos,
        frequency_code=frequency,
        payer_claim_control_number=refs.get("F8"),
        diagnoses=tuple(diagnoses),
        referring_provider=referring,
        rendering_provider=rendering,
        prior_authorization=refs.get("G1"),
        lines=tuple(lines),
    )


def _read_cas(seg: list[str]) -> list[Adjustment]:
    return [
        Adjustment(group=seg[1], reason=seg[i], amount=to_decimal(element(seg, i + 1), "adjustment", "CAS"))
        for i in range(2, len(seg), 3)
        if seg[i]
    ]


def _read_other_payer(cur: Cursor, sbr: list[str]) -> dict[str, Any]:
    """Loop 2320 and its 2330A/B, as keyword arguments of OtherPayer (its lines come later, in 2430)."""
    other: dict[str, Any] = dict(
        responsibility=element(sbr, 1),
        relationship_code=element(sbr, 2),
        group_number=element(sbr, 3) or None,
        adjustments=[],
        lines=[],
    )
    while not cur.at_end() and not cur.peek("LX", "HL", "SBR"):
        seg = cur.next()
        if seg[0] == "CAS":
            other["adjustments"] += _read_cas(seg)
        elif seg[0] == "AMT" and element(seg, 1) == "D":
            other["paid"] = to_decimal(element(seg, 2), "paid amount", "AMT")
        elif seg[0] == "NM1" and element(seg, 1) == "IL":
            other.update(subscriber_last_name=seg[3], subscriber_first_name=element(seg, 4), member_id=element(seg, 9))
        elif seg[0] == "NM1" and element(seg, 1) == "PR":
            other["payer"] = Payer(name=seg[3], id=element(seg, 9), claim_filing_indicator=element(sbr, 9))
        elif seg[0] == "DTP" and element(seg, 1) == "573":
            other["adjudication_date"] = _date(element(seg, 3))
        elif seg[0] == "REF" and element(seg, 1) == "F8":
            other["payer_claim_control_number"] = element(seg, 2)
    if "payer" not in other:
        raise cur.fail("loop 2320 has no other payer (2330B NM1*PR)")
    return other


def _read_line(cur: Cursor, sep: Separators, claim_pos: str, other_payers: dict[str, dict[str, Any]]) -> ServiceLine:
    lx = cur.take("LX")
    sv1 = cur.take("SV1")
    procedure = components(sv1[1], sep)
    if procedure[0] != "HC":
        raise cur.fail("only HC procedure codes are supported")
    service_date = control = ""
    answer: dict[str, Any] | None = None
    while not cur.at_end() and not cur.peek("LX", "HL"):
        seg = cur.next()
        if seg[0] == "DTP" and element(seg, 1) == "472":
            service_date = element(seg, 3)[:8]  # RD8 ranges keep their first day
        elif seg[0] == "REF" and element(seg, 1) == "6R":
            control = element(seg, 2)
        elif seg[0] == "SVD":
            if element(seg, 1) not in other_payers:
                raise X12Error(f"SVD names a payer without a loop 2320 at segment {cur.position - 1}", "SVD")
            answer = dict(line_number=lx[1], paid=to_decimal(element(seg, 2), "paid amount", "SVD"), adjustments=[])
            other_payers[element(seg, 1)]["lines"].append(answer)
        elif seg[0] == "CAS" and answer is not None:
            answer["adjustments"] += _read_cas(seg)
    return ServiceLine(
        line_number=lx[1],
        procedure_code=procedure[1],
        modifiers=tuple(procedure[2:]),
        charge=to_decimal(element(sv1, 2), "line charge", "SV1"),
        units=to_decimal(element(sv1, 4), "units", "SV1"),
        place_of_service=element(sv1, 5) or claim_pos,
        diagnosis_pointers=tuple(components(element(sv1, 7), sep)),
        service_date=_date(service_date),
        control_number=control,
    )
