"""Write and read 837P professional claims, 005010X222A1."""

from __future__ import annotations


from pydantic import ValidationError

from x12.claim import (
    BillingProvider,
    Claim,
    Interchange837,
    Payer,
    ProviderClaims,
    Receiver,
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
    quantity,
    element,
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
    for hl, claim in enumerate(batch.claims, start=2):
        segs += _claim(claim, hl)
    return segs


def _address(address: Address) -> list[list[Element]]:
    return [["N3", address.line1, address.line2], ["N4", address.city, address.state, address.zip]]


def _claim(claim: Claim, hl: int) -> list[list[Element]]:
    s, payer = claim.subscriber, claim.payer
    segs: list[list[Element]] = [
        ["HL", str(hl), "1", "22", "0"],  # the subscriber is the patient: no 2000C child
        ["SBR", "P", s.relationship_code, s.group_number, "", "", "", "", "", payer.claim_filing_indicator],
        ["NM1", "IL", "1", s.last_name, s.first_name, "", "", "", "MI", s.member_id],
        *_address(s.address),
        ["DMG", "D8", f"{s.birth_date:%Y%m%d}", s.sex],
        ["NM1", "PR", "2", payer.name, "", "", "", "", "PI", payer.id],
        ["CLM", claim.patient_control_number, amount(claim.total_charge), "", "",
         (claim.place_of_service, "B", claim.frequency_code), "Y", "A", "Y", "Y"],
    ]
    if claim.payer_claim_control_number:
        segs.append(["REF", "F8", claim.payer_claim_control_number])
    if claim.prior_authorization:
        segs.append(["REF", "G1", claim.prior_authorization])
    principal, *others = claim.diagnoses
    segs.append(["HI", ("ABK", principal), *(("ABF", code) for code in others)])
    if rp := claim.rendering_provider:
        segs.append(["NM1", "82", "1", rp.last_name, rp.first_name, "", "", "", "XX", rp.npi])
    for line in claim.lines:
        pos = line.place_of_service if line.place_of_service != claim.place_of_service else ""
        segs += [
            ["LX", str(line.line_number)],
            ["SV1", ("HC", line.procedure_code, *line.modifiers), amount(line.charge), "UN", quantity(line.units),
             pos, "", tuple(str(p) for p in line.diagnosis_pointers)],
            ["DTP", "472", "D8", f"{line.service_date:%Y%m%d}"],
            ["REF", "6R", line.control_number],
        ]
    return segs



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
    submitter = Submitter(name=nm1[3], id=element(nm1, 9), contact_name=element(per, 2),
                          contact_phone=element(per, 4))
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
    provider = BillingProvider(organization_name=nm1[3], npi=element(nm1, 9), tax_id=tax_id,
                               taxonomy_code=element(prv, 3) if prv else "", address=address)
    claims = []
    while not cur.at_end():
        claims.append(_read_claim(cur, sep))
    return submitter, receiver, ProviderClaims(billing_provider=provider, claims=tuple(claims))


def _read_address(cur: Cursor) -> Address:
    n3, n4 = cur.take("N3"), cur.take("N4")
    return Address(line1=n3[1], line2=element(n3, 2) or None, city=n4[1], state=element(n4, 2),
                   zip=element(n4, 3))


def _read_claim(cur: Cursor, sep: Separators) -> Claim:
    hl = cur.take("HL")
    if element(hl, 3) != "22":
        raise cur.fail("expected a subscriber HL (22)")
    if element(hl, 4) == "1":
        raise cur.fail("dependent patients (loop 2000C) are not supported yet")
    sbr = cur.take("SBR")
    cur.skip_unknown("NM1")
    nm1 = cur.take("NM1", "IL")
    address = _read_address(cur)
    dmg = cur.take("DMG")
    birth = element(dmg, 2)
    subscriber = Subscriber(
        member_id=element(nm1, 9), first_name=element(nm1, 4), last_name=nm1[3],
        birth_date=f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", sex=element(dmg, 3), address=address,
        group_number=element(sbr, 3) or None, relationship_code=element(sbr, 2),
    )
    cur.skip_unknown("NM1")
    nm1 = cur.take("NM1", "PR")
    payer = Payer(name=nm1[3], id=element(nm1, 9), claim_filing_indicator=element(sbr, 9))
    cur.skip_unknown("CLM")
    clm = cur.take("CLM")
    pos, _, frequency = (components(element(clm, 5), sep) + ["", ""])[:3]
    refs: dict[str, str] = {}
    diagnoses: list[str] = []
    rendering = None
    while not cur.at_end() and not cur.peek("LX", "HL"):
        seg = cur.next()
        if seg[0] == "REF":
            refs[element(seg, 1)] = element(seg, 2)
        elif seg[0] == "HI" and not diagnoses:
            diagnoses = [components(e, sep)[1] for e in seg[1:] if e]
        elif seg[0] == "NM1" and element(seg, 1) == "82":
            rendering = RenderingProvider(npi=element(seg, 9), first_name=element(seg, 4), last_name=seg[3])
    lines = []
    while cur.peek("LX"):
        lines.append(_read_line(cur, sep, pos))
    return Claim(
        patient_control_number=clm[1], subscriber=subscriber, payer=payer,
        total_charge=to_decimal(element(clm, 2), "total charge", "CLM"), place_of_service=pos,
        frequency_code=frequency, payer_claim_control_number=refs.get("F8"), diagnoses=tuple(diagnoses),
        rendering_provider=rendering, prior_authorization=refs.get("G1"), lines=tuple(lines),
    )


def _read_line(cur: Cursor, sep: Separators, claim_pos: str) -> ServiceLine:
    lx = cur.take("LX")
    sv1 = cur.take("SV1")
    procedure = components(sv1[1], sep)
    if procedure[0] != "HC":
        raise cur.fail("only HC procedure codes are supported")
    service_date = control = ""
    while not cur.at_end() and not cur.peek("LX", "HL"):
        seg = cur.next()
        if seg[0] == "DTP" and element(seg, 1) == "472":
            service_date = element(seg, 3)[:8]  # RD8 ranges keep their first day
        elif seg[0] == "REF" and element(seg, 1) == "6R":
            control = element(seg, 2)
    return ServiceLine(
        line_number=lx[1], procedure_code=procedure[1], modifiers=tuple(procedure[2:]),
        charge=to_decimal(element(sv1, 2), "line charge", "SV1"),
        units=to_decimal(element(sv1, 4), "units", "SV1"),
        place_of_service=element(sv1, 5) or claim_pos,
        diagnosis_pointers=tuple(components(element(sv1, 7), sep)),
        service_date=f"{service_date[:4]}-{service_date[4:6]}-{service_date[6:]}", control_number=control,
    )
