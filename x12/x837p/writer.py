"""Write 837P professional claims, 005010X222A1: one transaction set per billing provider, every
loop in the guide's order, with what a reader kept put back where the guide has it (x12/x837p/order.py)."""

from __future__ import annotations

from x12.claim import (
    Adjustment,
    Attachment,
    Claim,
    Interchange837,
    OtherPayer,
    OtherPayerLine,
    Patient,
    ProviderClaims,
    ServiceLine,
)
from x12.envelope import (
    Element,
    Envelope,
    TransactionSet,
    amount,
    ccyymmdd,
    quantity,
    render_interchange,
    st_control_number,
)
from x12.guides.x837p import GUIDE
from x12.types import Address
from x12.x837p.order import Row, Unit, merge

VERSION = GUIDE.version


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


def _transaction(ix: Interchange837, batch: ProviderClaims, st_control: str) -> list[Row]:
    sub, receiver = ix.submitter, ix.receiver
    submitter: list[Unit] = [[_name("41", sub.entity_type, sub.name, sub.first_name, "46", sub.id)]]
    if sub.contact_phone:
        submitter.append([["PER", "IC", sub.contact_name, "TE", sub.contact_phone]])
    segs: list[Row] = [
        ["BHT", "0019", "00", f"{ix.control_number}-{st_control}", f"{ix.created:%Y%m%d}", f"{ix.created:%H%M}", "CH"],
        *merge("1000A", submitter, sub.kept),
        _name("40", "2", receiver.name, None, "46", receiver.id),
    ]
    segs += _billing_provider(batch)
    hl = 1
    for claim in batch.claims:
        claim_segments, hl = _claim(claim, hl + 1)
        segs += claim_segments
    return segs


def _name(
    qualifier: str,
    entity: str,
    last: str,
    first: str | None,
    id_qualifier: str | None,
    identifier: str | None,
    middle: str | None = None,
    suffix: str | None = None,
) -> Row:
    return ["NM1", qualifier, entity, last, first, middle, "", suffix, id_qualifier if identifier else "", identifier]


def _address(address: Address | None) -> list[Unit]:
    if address is None:
        return []
    return [[["N3", address.line1, address.line2]], [["N4", address.city, address.state, address.zip]]]


def _billing_provider(batch: ProviderClaims) -> list[Row]:
    bp = batch.billing_provider
    hl: list[Unit] = [[["HL", "1", "", "20", "1"]]]
    if bp.taxonomy_code:
        hl.append([["PRV", "BI", "PXC", bp.taxonomy_code]])
    name: list[Unit] = [
        [_name("85", bp.entity_type, bp.organization_name, bp.first_name, "XX", bp.npi, bp.middle_name, bp.suffix)],
        *_address(bp.address),
        [["REF", bp.tax_id_qualifier, bp.tax_id]],
    ]
    hl.append(merge("2010AA", name, bp.kept))
    return merge("2000A", hl, bp.kept)


def _subscriber(claim: Claim, hl: int) -> list[Unit]:
    """Loop 2000B with 2010BA and 2010BB."""
    s, payer = claim.subscriber, claim.payer
    sbr: Row = ["SBR", claim.payer_responsibility, "" if claim.patient else "18", s.group_number, s.group_name]
    sbr += [claim.insurance_type, "", "", "", payer.claim_filing_indicator]
    name: list[Unit] = [
        [_name("IL", s.entity_type, s.last_name, s.first_name, s.id_qualifier, s.member_id, s.middle_name, s.suffix)]
    ]
    name += _address(s.address)
    if s.birth_date is not None:
        name.append([["DMG", "D8", ccyymmdd(s.birth_date), s.sex]])
    payer_name = [[_name("PR", "2", payer.name, None, payer.id_qualifier, payer.id)]]
    return [
        [["HL", str(hl), "1", "22", "1" if claim.patient else "0"]],
        [sbr],
        merge("2010BA", name, claim.kept),
        merge("2010BB", payer_name, claim.kept),
    ]


def _patient(patient: Patient, claim: Claim, hl: int) -> list[Unit]:
    """Loop 2000C with 2010CA: the patient when not the subscriber."""
    pat: Row = ["PAT", patient.relationship_code]
    if patient.deceased or patient.weight is not None or patient.pregnant:
        death = ccyymmdd(patient.deceased) if patient.deceased else ""
        weight = quantity(patient.weight) if patient.weight is not None else ""
        pat += [
            "",
            "",
            "",
            "D8" if death else "",
            death,
            "01" if weight else "",
            weight,
            "Y" if patient.pregnant else "",
        ]
    name: list[Unit] = [
        [_name("QC", "1", patient.last_name, patient.first_name, None, None, patient.middle_name, patient.suffix)],
        *_address(patient.address),
        [["DMG", "D8", ccyymmdd(patient.birth_date), patient.sex]],
    ]
    return [[["HL", str(hl + 1), str(hl), "23", "0"]], [pat], merge("2010CA", name, claim.kept)]


def _claim(claim: Claim, hl: int) -> tuple[list[Row], int]:
    """Loops 2000B (and 2000C for a dependent) to 2400 for one claim; returns the segments and the
    last HL number used."""
    subscriber = _subscriber(claim, hl)
    if claim.patient is None:
        subscriber.append(_claim_loop(claim))
        return merge("2000B", subscriber, claim.kept), hl
    patient = _patient(claim.patient, claim, hl)
    patient.append(_claim_loop(claim))
    return merge("2000B", subscriber, claim.kept) + merge("2000C", patient, claim.kept), hl + 1


def _clm(claim: Claim) -> Row:
    causes: Element = ""
    if claim.related_causes:
        causes = (*claim.related_causes, *[""] * (3 - len(claim.related_causes)), claim.accident_state or "")
        causes = (*causes, claim.accident_country or "")
    return [
        "CLM",
        claim.patient_control_number,
        amount(claim.total_charge),
        "",
        "",
        (claim.place_of_service, "B", claim.frequency_code),
        claim.signature_on_file,
        claim.assignment,
        claim.benefits_assigned,
        claim.release_of_information,
        claim.patient_signature_source,
        causes,
        claim.special_program,
        *[""] * 7,
        claim.delay_reason,
    ]


def _attachment(a: Attachment) -> Row:
    return ["PWK", a.report_type, a.transmission, "", "", "AC" if a.control_number else "", a.control_number]


def _claim_loop(claim: Claim) -> list[Row]:
    """Loop 2300 and everything in it."""
    units: list[Unit] = [[_clm(claim)], *[[_attachment(a)] for a in claim.attachments]]
    if claim.patient_paid is not None:
        units.append([["AMT", "F5", amount(claim.patient_paid)]])
    for qualifier, value in (("F8", claim.payer_claim_control_number), ("G1", claim.prior_authorization)):
        if value:
            units.append([["REF", qualifier, value]])
    principal, *others = claim.diagnoses
    secondary = "ABF" if claim.diagnosis_qualifier == "ABK" else "BF"
    units.append([["HI", (claim.diagnosis_qualifier, principal), *((secondary, code) for code in others)]])
    if ref := claim.referring_provider:
        nm1 = _name(ref.role, "1", ref.last_name, ref.first_name, "XX", ref.npi, ref.middle_name, ref.suffix)
        units.append(merge("2310A", [[nm1]], claim.kept))
    if rp := claim.rendering_provider:
        nm1 = _name("82", rp.entity_type, rp.last_name, rp.first_name, "XX", rp.npi, rp.middle_name, rp.suffix)
        rendering: list[Unit] = [[nm1]]
        if rp.taxonomy_code:
            rendering.append([["PRV", "PE", "PXC", rp.taxonomy_code]])
        units.append(merge("2310B", rendering, claim.kept))
    units += [_other_payer(other) for other in claim.other_payers]
    units += [_line(claim, line) for line in claim.lines]
    return merge("2300", units, claim.kept)


def _adjustments(adjustments: tuple[Adjustment, ...]) -> list[Unit]:
    """One CAS per group code, at most six reason/amount/quantity triples each (the segment's limit)."""
    units: list[Unit] = []
    for group in dict.fromkeys(a.group for a in adjustments):
        mine = [a for a in adjustments if a.group == group]
        for start in range(0, len(mine), 6):
            triples = (
                (a.reason, amount(a.amount), quantity(a.quantity) if a.quantity is not None else "")
                for a in mine[start : start + 6]
            )
            units.append([["CAS", group, *(e for triple in triples for e in triple)]])
    return units


def _other_payer(other: OtherPayer) -> list[Row]:
    """Loops 2320, 2330A and 2330B: the other payer, its subscriber, what it paid and adjusted."""
    sbr: Row = ["SBR", other.responsibility, other.relationship_code, other.group_number, other.group_name]
    sbr += [other.insurance_type, "", "", "", other.payer.claim_filing_indicator]
    units: list[Unit] = [[sbr], *_adjustments(other.adjustments)]
    for qualifier, value in (("D", other.paid), ("A8", other.non_covered), ("EAF", other.remaining_patient_liability)):
        if value is not None:
            units.append([["AMT", qualifier, amount(value)]])
    oi: Row = ["OI", "", "", other.benefits_assigned, other.patient_signature_source, "", other.release_of_information]
    units.append([oi])
    subscriber = _name(
        "IL",
        other.subscriber_entity_type,
        other.subscriber_last_name,
        other.subscriber_first_name,
        other.member_id_qualifier,
        other.member_id,
        other.subscriber_middle_name,
        other.subscriber_suffix,
    )
    units.append(merge("2330A", [[subscriber]], other.kept))
    payer: list[Unit] = [[_name("PR", "2", other.payer.name, None, other.payer.id_qualifier, other.payer.id)]]
    if other.adjudication_date:
        payer.append([["DTP", "573", "D8", ccyymmdd(other.adjudication_date)]])
    if other.payer_claim_control_number:
        payer.append([["REF", "F8", other.payer_claim_control_number]])
    units.append(merge("2330B", payer, other.kept))
    return merge("2320", units, other.kept)


def _sv1(claim: Claim, line: ServiceLine) -> Row:
    procedure: tuple[str, ...] = (line.procedure_qualifier, line.procedure_code, *line.modifiers)
    if line.description:
        procedure = (*procedure, *[""] * (4 - len(line.modifiers)), line.description)
    flags = ("Y" if line.emergency else "", "", "Y" if line.epsdt else "", "Y" if line.family_planning else "")
    return [
        "SV1",
        procedure,
        amount(line.charge),
        line.unit_basis,
        quantity(line.units),
        line.place_of_service if line.place_of_service != claim.place_of_service else "",
        "",
        tuple(str(p) for p in line.diagnosis_pointers),
        "",
        *flags,
        "",
        "",
        "0" if line.copay_exempt else "",
    ]


def _line(claim: Claim, line: ServiceLine) -> list[Row]:
    """Loop 2400 with its drug (2410) and the other payers' adjudication of it (2430)."""
    served: Row
    if line.service_date_to is not None:
        served = ["DTP", "472", "RD8", f"{ccyymmdd(line.service_date)}-{ccyymmdd(line.service_date_to)}"]
    else:
        served = ["DTP", "472", "D8", ccyymmdd(line.service_date)]
    units: list[Unit] = [[["LX", str(line.line_number)]], [_sv1(claim, line)]]
    units += [[_attachment(a)] for a in line.attachments]
    units.append([served])
    if line.control_number:
        units.append([["REF", "6R", line.control_number]])
    if drug := line.drug:
        segments: list[Row] = [
            ["LIN", "", drug.qualifier, drug.code],
            ["CTP", "", "", "", quantity(drug.quantity), (drug.unit,)],
        ]
        units.append(merge("2410", [[s] for s in segments], line.kept))
    for other in claim.other_payers:
        answers = [answer for answer in other.lines if answer.line_number == line.line_number]
        units += [_line_adjudication(other, answer, line) for answer in answers]
    return merge("2400", units, line.kept)


def _line_adjudication(other: OtherPayer, answer: OtherPayerLine, line: ServiceLine) -> list[Row]:
    """Loop 2430: one other payer's answer for one line."""
    procedure: Element = answer.procedure or (line.procedure_qualifier, line.procedure_code, *line.modifiers)
    units = answer.units if answer.units is not None else line.units
    bundled = str(answer.bundled_line) if answer.bundled_line else ""
    svd: Row = ["SVD", other.payer.id, amount(answer.paid), procedure, "", quantity(units), bundled]
    adjudicated = answer.adjudication_date or other.adjudication_date
    segs: list[Unit] = [[svd], *_adjustments(answer.adjustments)]
    segs.append([["DTP", "573", "D8", ccyymmdd(adjudicated) if adjudicated else ""]])
    return merge("2430", segs, answer.kept)
