"""Write and read 837P professional claims, 005010X222A1.

Writing: one transaction set per billing provider, every loop in the guide's order; what a reader kept
(`Kept`) goes back where the guide has it, so a claim read from another system is written back whole.

Reading is layered, as clearinghouses check: the envelope and the guide
(x12/guides/x837p.py) decide whether a transaction set is accepted (999); then each claim is built and
checked on its own (value rules, balancing, code sets by date of service, NPI check digits): a claim
that breaks one is rejected by itself (277CA), the file and its other claims go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from x12.claim import (
    Adjustment,
    Attachment,
    BillingProvider,
    Claim,
    Interchange837,
    Kept,
    OtherPayer,
    OtherPayerLine,
    Patient,
    ProviderClaims,
    Receiver,
    ServiceLine,
    Submitter,
    code_set_problem,
)
from x12.envelope import (
    CENT,
    Element,
    Envelope,
    TransactionSet,
    amount,
    quantity,
    render_interchange,
    st_control_number,
)
from x12.errors import BALANCING, Issue, X12Error
from x12.guides.x837p import ATTACHMENT_TRANSMISSIONS, GUIDE
from x12.npi import npi_is_valid
from x12.reading import Interchange, Loop, LoopRule, ReadSet, Segment, read_envelope, read_sets
from x12.types import Address

M = TypeVar("M", bound=BaseModel)

VERSION = GUIDE.version
Row = list[Element]  # a segment to write
Unit = list[Row]  # one segment of a loop, or one whole loop inside it


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


# ---- the guide's order, for what was kept --------------------------------------------------------


def _loop_rules(rule: LoopRule) -> Iterator[LoopRule]:
    yield rule
    for item in rule.body:
        if isinstance(item, LoopRule):
            yield from _loop_rules(item)


_LOOPS = {rule.id: rule for rule in _loop_rules(GUIDE.root)}


def _text(value: Element) -> str:
    return ":".join(value) if isinstance(value, tuple) else (value or "")


def _place(loop_id: str, first: Row) -> int:
    """Where a segment (or the loop it opens) sits in the guide's loop: segments sharing an id there
    (REF*F8, REF*G1...) share a place and keep their order."""
    rule = _LOOPS[loop_id]
    for j, at, qualifiers, _ in rule.index.get(_text(first[0]), ()):
        if qualifiers is None or (at < len(first) and _text(first[at]) in qualifiers):
            return rule.run_start[j]
    return len(rule.body)


def _merge(loop_id: str, units: list[Unit], kept: tuple[Kept, ...]) -> list[Row]:
    """The loop's segments: those written from the model and those kept, in the guide's order."""
    extra: list[Unit] = [[list(s) for s in k.segments] for k in kept if k.loop == loop_id]
    if extra:
        units = sorted(units + extra, key=lambda unit: _place(loop_id, unit[0]))
    return [segment for unit in units for segment in unit]


# ---- writing -------------------------------------------------------------------------------------


def _transaction(ix: Interchange837, batch: ProviderClaims, st_control: str) -> list[Row]:
    sub, receiver = ix.submitter, ix.receiver
    submitter: list[Unit] = [[_name("41", sub.entity_type, sub.name, sub.first_name, "46", sub.id)]]
    if sub.contact_phone:
        submitter.append([["PER", "IC", sub.contact_name, "TE", sub.contact_phone]])
    segs: list[Row] = [
        ["BHT", "0019", "00", f"{ix.control_number}-{st_control}", f"{ix.created:%Y%m%d}", f"{ix.created:%H%M}", "CH"],
        *_merge("1000A", submitter, sub.kept),
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
    hl.append(_merge("2010AA", name, bp.kept))
    return _merge("2000A", hl, bp.kept)


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
        name.append([["DMG", "D8", f"{s.birth_date:%Y%m%d}", s.sex]])
    payer_name = [[_name("PR", "2", payer.name, None, payer.id_qualifier, payer.id)]]
    return [
        [["HL", str(hl), "1", "22", "1" if claim.patient else "0"]],
        [sbr],
        _merge("2010BA", name, claim.kept),
        _merge("2010BB", payer_name, claim.kept),
    ]


def _patient(patient: Patient, claim: Claim, hl: int) -> list[Unit]:
    """Loop 2000C with 2010CA: the patient when not the subscriber."""
    pat: Row = ["PAT", patient.relationship_code]
    if patient.deceased or patient.weight is not None or patient.pregnant:
        death = f"{patient.deceased:%Y%m%d}" if patient.deceased else ""
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
        [["DMG", "D8", f"{patient.birth_date:%Y%m%d}", patient.sex]],
    ]
    return [[["HL", str(hl + 1), str(hl), "23", "0"]], [pat], _merge("2010CA", name, claim.kept)]


def _claim(claim: Claim, hl: int) -> tuple[list[Row], int]:
    """Loops 2000B (and 2000C for a dependent) to 2400 for one claim; returns the segments and the
    last HL number used."""
    subscriber = _subscriber(claim, hl)
    if claim.patient is None:
        subscriber.append(_claim_loop(claim))
        return _merge("2000B", subscriber, claim.kept), hl
    patient = _patient(claim.patient, claim, hl)
    patient.append(_claim_loop(claim))
    return _merge("2000B", subscriber, claim.kept) + _merge("2000C", patient, claim.kept), hl + 1


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
        units.append(_merge("2310A", [[nm1]], claim.kept))
    if rp := claim.rendering_provider:
        nm1 = _name("82", rp.entity_type, rp.last_name, rp.first_name, "XX", rp.npi, rp.middle_name, rp.suffix)
        rendering: list[Unit] = [[nm1]]
        if rp.taxonomy_code:
            rendering.append([["PRV", "PE", "PXC", rp.taxonomy_code]])
        units.append(_merge("2310B", rendering, claim.kept))
    units += [_other_payer(other) for other in claim.other_payers]
    units += [_line(claim, line) for line in claim.lines]
    return _merge("2300", units, claim.kept)


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
    units.append(_merge("2330A", [[subscriber]], other.kept))
    payer: list[Unit] = [[_name("PR", "2", other.payer.name, None, other.payer.id_qualifier, other.payer.id)]]
    if other.adjudication_date:
        payer.append([["DTP", "573", "D8", f"{other.adjudication_date:%Y%m%d}"]])
    if other.payer_claim_control_number:
        payer.append([["REF", "F8", other.payer_claim_control_number]])
    units.append(_merge("2330B", payer, other.kept))
    return _merge("2320", units, other.kept)


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
        served = ["DTP", "472", "RD8", f"{line.service_date:%Y%m%d}-{line.service_date_to:%Y%m%d}"]
    else:
        served = ["DTP", "472", "D8", f"{line.service_date:%Y%m%d}"]
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
        units.append(_merge("2410", [[s] for s in segments], line.kept))
    for other in claim.other_payers:
        answers = [answer for answer in other.lines if answer.line_number == line.line_number]
        units += [_line_adjudication(other, answer, line) for answer in answers]
    return _merge("2400", units, line.kept)


def _line_adjudication(other: OtherPayer, answer: OtherPayerLine, line: ServiceLine) -> list[Row]:
    """Loop 2430: one other payer's answer for one line."""
    procedure: Element = answer.procedure or (line.procedure_qualifier, line.procedure_code, *line.modifiers)
    units = answer.units if answer.units is not None else line.units
    bundled = str(answer.bundled_line) if answer.bundled_line else ""
    svd: Row = ["SVD", other.payer.id, amount(answer.paid), procedure, "", quantity(units), bundled]
    adjudicated = answer.adjudication_date or other.adjudication_date
    segs: list[Unit] = [[svd], *_adjustments(answer.adjustments)]
    segs.append([["DTP", "573", "D8", f"{adjudicated:%Y%m%d}" if adjudicated else ""]])
    return _merge("2430", segs, answer.kept)


# ---- reading -------------------------------------------------------------------------------------
#
# 1. the envelope and the guide (x12/reading.py with x12/guides/x837p.py): a transaction set with an
#    issue is refused whole, its issues go to the 999 (IK3/IK4/IK5);
# 2. each claim of an accepted set is built as plain data and validated once by the models; what they
#    refuse, and the checks that need several values (ICD-9 or ICD-10 by date of service, CLM01 length,
#    SVD01 naming a 2330B payer), are findings of that claim at the segment they came from.

Data = dict[str, Any]
Place = tuple[str | int, ...]  # where a value sits in a model's data, as pydantic reports it
BUSINESS = 4  # WEDI SNIP 4-5: situational rules and code sets (3, balancing, is errors.BALANCING)
_NPI_STATUS, _DIAGNOSIS_STATUS, _BALANCE_STATUS, _INVALID_STATUS = "562", "255", "400", "21"


@dataclass(frozen=True)
class Finding:
    """A business rule one claim breaks: that claim is rejected (277CA STC01), never the file."""

    issue: Issue  # where (segment, position, loop, element) and why, without the value
    status: str = _INVALID_STATUS  # STC01-2: 562 NPI, 255 diagnosis code, 400 out of balance, 21 invalid
    entity: str | None = None  # STC01-3: 85 billing provider, 82 rendering, DN referring, IL, QC, PR...

    def __str__(self) -> str:
        return str(self.issue)


@dataclass(frozen=True)
class ClaimSummary:
    """What a 277CA says about a claim, read from its segments: there also when its values make no claim."""

    patient_control_number: str
    total_charge: Decimal
    service_date: date
    patient_last_name: str
    patient_first_name: str | None
    member_id: str
    payer_id: str
    payer_name: str


@dataclass(frozen=True)
class ReadClaim:
    summary: ClaimSummary
    claim: Claim | None  # None when its values cannot make a claim (the findings say why)
    findings: tuple[Finding, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.claim is not None and not self.findings


@dataclass(frozen=True)
class ReadProvider:
    """One billing provider (2000A) and its claims; name and NPI as sent, for the 277CA."""

    name: str
    npi: str
    billing_provider: BillingProvider | None
    claims: tuple[ReadClaim, ...]


@dataclass(frozen=True)
class ReadSet837:
    """One transaction set: refused by the guide (`issues`), or read into providers and claims."""

    raw: ReadSet
    submitter: Submitter | None = None
    receiver: Receiver | None = None
    providers: tuple[ReadProvider, ...] = ()

    @property
    def issues(self) -> tuple[Issue, ...]:
        return self.raw.issues

    @property
    def accepted(self) -> bool:
        return not self.raw.issues


@dataclass(frozen=True)
class Reading837:
    """An 837P interchange read in layers: its envelope, and each transaction set with what was found."""

    interchange: Interchange
    sets: tuple[ReadSet837, ...]

    @property
    def claims(self) -> tuple[ReadClaim, ...]:
        return tuple(c for s in self.sets for p in s.providers for c in p.claims)

    @property
    def issues(self) -> tuple[Issue, ...]:
        return tuple(i for s in self.sets for i in s.issues)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for c in self.claims for f in c.findings)

    def interchange837(self, only_accepted: bool = True) -> Interchange837 | None:
        """The claims read without an issue or a finding (or every claim its models could hold, with
        `only_accepted` false), as one interchange; None when there is none."""
        batches = []
        for read_set in self.sets:
            for provider in read_set.providers:
                claims = tuple(c.claim for c in provider.claims if c.claim and (c.accepted or not only_accepted))
                if provider.billing_provider is not None and claims:
                    batches.append(ProviderClaims(billing_provider=provider.billing_provider, claims=claims))
        first = next((s for s in self.sets if s.submitter is not None and s.receiver is not None), None)
        if not batches or first is None or first.submitter is None or first.receiver is None:
            return None
        return Interchange837(
            sender_id=self.interchange.sender_id,
            receiver_id=self.interchange.receiver_id,
            control_number=self.interchange.control_number,
            group_control_number=first.raw.group.control_number,
            created=first.raw.group.created,
            usage=self.interchange.usage,
            submitter=first.submitter,
            receiver=first.receiver,
            transactions=tuple(batches),
        )


def parse_837p(text: str) -> Interchange837:
    """Read an 837P that must be wholly good: X12Error names every issue and finding (segment, position,
    loop, element and reason, never a value) when one transaction set or one claim is not."""
    reading = read_837p(text)
    problems = list(reading.issues) + [f.issue for f in reading.findings]
    if problems:
        raise X12Error.of(problems)
    accepted = reading.interchange837()
    if accepted is None:
        raise X12Error("the interchange holds no claim", "ST")
    return accepted


def read_837p(text: str) -> Reading837:
    """Read an 837P written by any submitter, in layers; X12Error only when the envelope cannot be read
    or a functional group is not an 837P 005010X222A1 one."""
    interchange, sets = read_sets(text, GUIDE)
    return Reading837(interchange, tuple(_read_set(s) for s in sets))


def claim_numbers_by_set(text: str) -> dict[str, tuple[str, ...]]:
    """The patient control numbers (CLM01) of each transaction set (ST02) of an 837 interchange, as
    a 999 answers per set; X12Error when its envelope cannot be read."""
    return {
        raw.control_number: tuple(segment[1] for segment in raw.segments if segment.id == "CLM")
        for group in read_envelope(text).groups
        for raw in group.sets
    }


def _raw(segment: Segment) -> tuple[str, ...]:
    """A segment as kept: its elements, components joined by ":" and repetitions by "^" (how we write)."""
    sep = segment.separators
    if sep.component == ":" and sep.repetition == "^":
        return tuple(segment.elements)
    return tuple(e.replace(sep.component, ":").replace(sep.repetition, "^") for e in segment.elements)


def _keep(kept: list[Data], loop_id: str, segments: Iterable[Segment]) -> None:
    raw = [_raw(s) for s in segments]
    if raw:
        kept.append({"loop": loop_id, "segments": raw})


def _whole(loop: Loop) -> list[Segment]:
    """A loop's segments and those of the loops inside it, in file order."""
    return [segment for inner in loop.walk() for segment in inner.segments]


def _iso(day: str) -> str | None:
    """A CCYYMMDD the guide layer checked, as the ISO date pydantic reads ("" stays None)."""
    return f"{day[:4]}-{day[4:6]}-{day[6:8]}" if day else None


def _validated(model: type[M], data: Data, places: dict[Place, Segment], control: str, into: list[Finding]) -> M | None:
    """The model, or None with what it refuses added to `into` as findings at the segments they came from."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        into += [_finding(e["loc"], e["msg"], places, control) for e in exc.errors(include_input=False)]
        return None


def _finding(loc: Place, message: str, places: dict[Place, Segment], control: str) -> Finding:
    status, element, level = _INVALID_STATUS, None, BUSINESS
    if "sum of the line charges" in message:
        loc, status, element, level = (), _BALANCE_STATUS, 2, BALANCING
    elif "diagnosis code" in message:
        loc, status, element = ("diagnoses",), _DIAGNOSIS_STATUS, 1
    size = next((n for n in range(len(loc), -1, -1) if loc[:n] in places), 0)
    segment = places[loc[:size]]
    field = ".".join(str(part) for part in loc) or "claim"
    reason = f"{field} read from {segment.id}: {message[0].lower()}{message[1:]}"
    issue = Issue(segment.id, segment.position, segment.loop, reason, None, element, level=level)
    entity = segment[1] if segment.id == "NM1" else None
    return Finding(replace(issue, transaction_control_number=control), status, entity)


def _address_data(loop: Loop, kept: list[Data], loop_id: str) -> Data | None:
    """N3/N4 as an address, or kept as read when the model cannot hold them (a foreign address, a
    short ZIP code): the guide layer has checked them, the payer may still use them."""
    n3, n4 = loop.seg("N3"), loop.seg("N4")
    if n3 is None or n4 is None:
        return None
    data = {"line1": n3[1], "line2": n3[2] or None, "city": n4[1], "state": n4[2], "zip": n4[3]}
    try:
        if len(n4.elements) > 4:
            raise ValueError("a country or subdivision")
        Address.model_validate(data)
    except ValueError:
        _keep(kept, loop_id, [n3])
        _keep(kept, loop_id, [n4])
        return None
    return data


def _person_name(nm1: Segment) -> Data:
    return {
        "last_name": nm1[3],
        "first_name": nm1[4] or None,
        "middle_name": nm1[5] or None,
        "suffix": nm1[7] or None,
    }


def _read_set(read: ReadSet) -> ReadSet837:
    if read.issues:
        return ReadSet837(read)
    root, control = read.root, read.control_number
    header: list[Finding] = []
    submitter_loop, receiver_loop = root.child("1000A"), root.child("1000B")
    assert submitter_loop is not None and receiver_loop is not None  # the guide layer requires both
    submitter = _validated(Submitter, _submitter(submitter_loop), {(): submitter_loop.opener}, control, header)
    nm1 = receiver_loop.opener
    receiver = _validated(Receiver, {"name": nm1[3], "id": nm1[9]}, {(): nm1}, control, header)
    providers = tuple(_read_provider(loop, control, header) for loop in root.children("2000A"))
    return ReadSet837(read, submitter, receiver, providers)


def _submitter(loop: Loop) -> Data:
    nm1 = loop.opener
    data: Data = {"entity_type": nm1[2], "name": nm1[3], "first_name": nm1[4] or None, "id": nm1[9]}
    kept: list[Data] = []
    for per in loop.segs("PER"):
        phone_only = per[3] == "TE" and len(per[4]) == 10 and per[4].isdigit() and len(per.elements) <= 5
        if phone_only and "contact_phone" not in data:
            data.update(contact_name=per[2] or None, contact_phone=per[4])
        else:
            _keep(kept, "1000A", [per])
    return data | {"kept": kept}


def _read_provider(loop: Loop, control: str, header: list[Finding]) -> ReadProvider:
    name_loop = loop.child("2010AA")
    assert name_loop is not None  # the guide layer requires it
    nm1, prv = name_loop.opener, loop.seg("PRV", "BI")
    kept: list[Data] = []
    for segment in loop.segments[1:]:
        if segment is not prv:
            _keep(kept, "2000A", [segment])
    for inner in loop.loops:
        if inner.id in ("2010AB", "2010AC"):
            _keep(kept, "2000A", _whole(inner))
    tax = next(s for s in name_loop.segs("REF") if s[1] in ("EI", "SY"))  # required by the guide
    for segment in name_loop.segments[1:]:
        if segment.id not in ("N3", "N4") and segment is not tax:
            _keep(kept, "2010AA", [segment])
    data = {
        "organization_name": nm1[3],
        "first_name": nm1[4] or None,
        "middle_name": nm1[5] or None,
        "suffix": nm1[7] or None,
        "entity_type": nm1[2],
        "npi": nm1[9] or None,
        "tax_id": tax[2],
        "tax_id_qualifier": tax[1],
        "taxonomy_code": prv[3] if prv else None,
        "address": _address_data(name_loop, kept, "2010AA"),
        "kept": kept,
    }
    findings = list(header) + _npi_findings([name_loop], control)
    places: dict[Place, Segment] = {(): nm1, ("tax_id",): tax}
    if prv is not None:
        places[("taxonomy_code",)] = prv
    provider = _validated(BillingProvider, data, places, control, findings)
    claims = tuple(_read_claims(loop, control, findings))
    return ReadProvider(nm1[3], nm1[9], provider, claims)


def _read_claims(provider: Loop, control: str, inherited: list[Finding]) -> Iterator[ReadClaim]:
    for subscriber in provider.children("2000B"):
        for claim in subscriber.children("2300"):
            yield _read_claim(subscriber, None, claim, control, inherited)
        for patient in subscriber.children("2000C"):
            for claim in patient.children("2300"):
                yield _read_claim(subscriber, patient, claim, control, inherited)


def _read_claim(
    subscriber: Loop, patient: Loop | None, loop: Loop, control: str, inherited: list[Finding]
) -> ReadClaim:
    """One claim (2300) with its subscriber (2000B) and patient (2000C): the checks across its values,
    then its data validated by the models; every problem a finding of this claim alone."""
    places: dict[Place, Segment] = {(): loop.opener}
    kept: list[Data] = []
    data = _subscriber_data(subscriber, places, kept)
    if patient is not None:
        data["patient"] = _patient_data(patient, places, kept)
    data |= _claim_data(loop, places, kept)
    others = [_other_payer_data(other, k, places) for k, other in enumerate(loop.children("2320"))]
    lines = [
        _line_data(line, n, data["place_of_service"], others, places) for n, line in enumerate(loop.children("2400"))
    ]
    data |= {"other_payers": others, "lines": lines, "kept": kept}
    findings = list(inherited) + _claim_checks(loop, data, places, control) + _npi_findings([loop], control)
    refused: list[Finding] = []
    claim = _validated(Claim, data, places, control, refused)
    findings += [f for f in refused if f.status != _BALANCE_STATUS]  # the checks above say it with the amounts
    findings.sort(key=lambda f: f.issue.position or 0)
    return ReadClaim(_summary(subscriber, patient, loop), claim, tuple(findings))


def _subscriber_data(subscriber: Loop, places: dict[Place, Segment], kept: list[Data]) -> Data:
    """2000B (SBR), 2010BA (the subscriber) and 2010BB (the payer the claim is sent to)."""
    sbr = subscriber.seg("SBR")
    name_loop, payer_loop = subscriber.child("2010BA"), subscriber.child("2010BB")
    assert sbr is not None and name_loop is not None and payer_loop is not None  # the guide layer requires them
    _keep(kept, "2000B", subscriber.segs("PAT"))
    nm1, payer, dmg = name_loop.opener, payer_loop.opener, name_loop.seg("DMG")
    _keep(kept, "2010BA", (s for s in name_loop.segments[1:] if s.id not in ("N3", "N4", "DMG")))
    _keep(kept, "2010BB", payer_loop.segments[1:])
    places.update({("subscriber",): nm1, ("payer",): payer, ("payer_responsibility",): sbr})
    if dmg is not None:
        places[("subscriber", "birth_date")] = places[("subscriber", "sex")] = dmg
    person = _person_name(nm1) | {
        "entity_type": nm1[2],
        "id_qualifier": nm1[8],
        "member_id": nm1[9],
        "group_number": sbr[3] or None,
        "group_name": sbr[4] or None,
        "address": _address_data(name_loop, kept, "2010BA"),
        "birth_date": _iso(dmg[2]) if dmg else None,
        "sex": dmg[3] if dmg else None,
    }
    return {
        "subscriber": person,
        "payer": _payer(payer, sbr),
        "payer_responsibility": sbr[1],
        "insurance_type": sbr[5] or None,
    }


def _payer(nm1: Segment, sbr: Segment) -> Data:
    return {"name": nm1[3], "id": nm1[9], "id_qualifier": nm1[8], "claim_filing_indicator": sbr[9] or None}


def _patient_data(patient: Loop, places: dict[Place, Segment], kept: list[Data]) -> Data:
    """2000C (PAT) and 2010CA: the patient when not the subscriber."""
    pat, name_loop = patient.seg("PAT"), patient.child("2010CA")
    assert pat is not None and name_loop is not None  # the guide layer requires them
    nm1, dmg = name_loop.opener, name_loop.seg("DMG")
    assert dmg is not None
    _keep(kept, "2010CA", (s for s in name_loop.segments[1:] if s.id not in ("N3", "N4", "DMG")))
    places.update({("patient",): nm1, ("patient", "birth_date"): dmg, ("patient", "relationship_code"): pat})
    return _person_name(nm1) | {
        "relationship_code": pat[1],
        "birth_date": _iso(dmg[2]),
        "sex": dmg[3],
        "address": _address_data(name_loop, kept, "2010CA"),
        "deceased": _iso(pat[6]) if pat[5] == "D8" else None,
        "weight": pat[8] or None,
        "pregnant": pat[9] == "Y",
    }


def _claim_data(loop: Loop, places: dict[Place, Segment], kept: list[Data]) -> Data:
    """The 2300 loop's own segments, its referring (2310A) and rendering (2310B) providers; the rest kept."""
    clm = loop.opener.padded(20)
    location = loop.opener.components(5) + ["", "", ""]
    causes = (loop.opener.components(11) if clm[11] else []) + [""] * 5
    data: Data = {
        "patient_control_number": clm[1],
        "total_charge": clm[2],
        "place_of_service": location[0],
        "frequency_code": location[2],
        "signature_on_file": clm[6],
        "assignment": clm[7],
        "benefits_assigned": clm[8],
        "release_of_information": clm[9],
        "patient_signature_source": clm[10] or None,
        "related_causes": [cause for cause in causes[:2] if cause],
        "accident_state": causes[3] or None,
        "accident_country": causes[4] or None,
        "special_program": clm[12] or None,
        "delay_reason": clm[20] or None,
        "attachments": [],
    }
    for segment in loop.segments[1:]:
        _claim_segment(segment, data, places, kept)
    _providers(loop, data, places, kept)
    return data


def _claim_segment(segment: Segment, data: Data, places: dict[Place, Segment], kept: list[Data]) -> None:
    kind, qualifier = segment.id, segment[1]
    if kind == "PWK":
        places[("attachments", len(data["attachments"]))] = segment
        data["attachments"].append(_attachment_data(segment))
    elif kind == "AMT" and qualifier == "F5":
        data["patient_paid"] = segment[2]
    elif kind == "REF" and qualifier in ("F8", "G1"):
        field = "payer_claim_control_number" if qualifier == "F8" else "prior_authorization"
        data[field], places[(field,)] = segment[2], segment
    elif kind == "HI" and segment.component(1, 1) in ("ABK", "BK"):
        data["diagnosis_qualifier"] = segment.component(1, 1)
        data["diagnoses"] = [segment.component(n, 2) for n in range(1, len(segment.elements)) if segment[n]]
        places[("diagnoses",)] = segment
    else:
        _keep(kept, "2300", [segment])


def _attachment_data(pwk: Segment) -> Data:
    return {"report_type": pwk[1], "transmission": pwk[2], "control_number": pwk[6] or None}


def _providers(loop: Loop, data: Data, places: dict[Place, Segment], kept: list[Data]) -> None:
    """The first 2310A and the 2310B as models; a second referring provider and 2310C-F kept whole."""
    for inner in loop.loops:
        nm1 = inner.opener
        if inner.id == "2310A" and "referring_provider" not in data:
            _keep(kept, "2310A", inner.segments[1:])
            data["referring_provider"] = _person_name(nm1) | {"role": nm1[1], "npi": nm1[9] or None}
            places[("referring_provider",)] = nm1
        elif inner.id == "2310B":
            prv = inner.seg("PRV", "PE")
            _keep(kept, "2310B", (s for s in inner.segments[1:] if s is not prv))
            rendering = {"entity_type": nm1[2], "npi": nm1[9] or None, "taxonomy_code": prv[3] if prv else None}
            data["rendering_provider"] = _person_name(nm1) | rendering
            places[("rendering_provider",)] = nm1
        elif inner.id not in ("2320", "2400"):
            _keep(kept, "2300", _whole(inner))


def _cas(segment: Segment) -> list[Data]:
    """One CAS holds up to six reason/amount/quantity triples of one group."""
    cas = segment.padded(19)
    return [
        {"group": cas[1], "reason": cas[n], "amount": cas[n + 1], "quantity": cas[n + 2] or None}
        for n in range(2, 19, 3)
        if cas[n]
    ]


def _other_payer_data(loop: Loop, k: int, places: dict[Place, Segment]) -> Data:
    """2320 with 2330A (the other subscriber) and 2330B (the other payer); 2330C-G kept whole."""
    sbr = loop.opener
    places[("other_payers", k)] = sbr
    data: Data = {
        "responsibility": sbr[1],
        "relationship_code": sbr[2],
        "group_number": sbr[3] or None,
        "group_name": sbr[4] or None,
        "insurance_type": sbr[5] or None,
        "adjustments": [],
        "lines": [],
    }
    kept: list[Data] = []
    amounts = {"D": "paid", "A8": "non_covered", "EAF": "remaining_patient_liability"}
    for segment in loop.segments[1:]:
        if segment.id == "CAS":
            data["adjustments"] += _cas(segment)
        elif segment.id == "AMT":
            data[amounts[segment[1]]] = segment[2]
        elif segment.id == "OI":
            data |= {"benefits_assigned": segment[3], "patient_signature_source": segment[4] or None}
            data["release_of_information"] = segment[6]
        else:
            _keep(kept, "2320", [segment])
    for inner in loop.loops:
        if inner.id == "2330A":
            data |= _other_subscriber(inner, kept)
        elif inner.id == "2330B":
            data |= _other_payer_name(inner, sbr, kept)
            places[("other_payers", k, "payer")] = inner.opener
        else:
            _keep(kept, "2320", _whole(inner))
    return data | {"kept": kept}


def _other_subscriber(loop: Loop, kept: list[Data]) -> Data:
    nm1 = loop.opener
    _keep(kept, "2330A", loop.segments[1:])
    return {
        "subscriber_last_name": nm1[3],
        "subscriber_first_name": nm1[4] or None,
        "subscriber_middle_name": nm1[5] or None,
        "subscriber_suffix": nm1[7] or None,
        "subscriber_entity_type": nm1[2],
        "member_id_qualifier": nm1[8],
        "member_id": nm1[9],
    }


def _other_payer_name(loop: Loop, sbr: Segment, kept: list[Data]) -> Data:
    data: Data = {"payer": _payer(loop.opener, sbr)}
    for segment in loop.segments[1:]:
        if segment.id == "DTP":
            data["adjudication_date"] = _iso(segment[3])
        elif segment.id == "REF" and segment[1] == "F8":
            data["payer_claim_control_number"] = segment[2]
        else:
            _keep(kept, "2330B", [segment])
    return data


def _line_data(loop: Loop, n: int, claim_place: str, others: list[Data], places: dict[Place, Segment]) -> Data:
    """2400 with its drug (2410) and each other payer's adjudication (2430, added to that payer's lines)."""
    lx, sv1 = loop.opener, loop.seg("SV1")
    assert sv1 is not None  # the guide layer requires it
    procedure = sv1.components(1) + [""] * 7
    places[("lines", n)] = sv1
    data: Data = {
        "line_number": lx[1],
        "procedure_qualifier": procedure[0],
        "procedure_code": procedure[1],
        "modifiers": [m for m in procedure[2:6] if m],
        "description": procedure[6] or None,
        "charge": sv1[2],
        "unit_basis": sv1[3],
        "units": sv1[4],
        "place_of_service": sv1[5] or claim_place,
        "diagnosis_pointers": [p for p in sv1.components(7) if p],
        "emergency": sv1[9] == "Y",
        "epsdt": sv1[11] == "Y",
        "family_planning": sv1[12] == "Y",
        "copay_exempt": sv1[15] == "0",
        "attachments": [],
    }
    kept: list[Data] = []
    for segment in loop.segments[2:]:
        _line_segment(segment, data, kept, ("lines", n), places)
    for inner in loop.loops:
        if inner.id == "2410":
            data["drug"] = _drug(inner, kept)
        elif inner.id == "2430":
            _adjudication(inner, data, others)
        else:
            _keep(kept, "2400", _whole(inner))
    return data | {"kept": kept}


def _line_segment(segment: Segment, data: Data, kept: list[Data], at: Place, places: dict[Place, Segment]) -> None:
    kind, qualifier = segment.id, segment[1]
    if kind == "PWK" and segment[2] in ATTACHMENT_TRANSMISSIONS.split():
        places[(*at, "attachments", len(data["attachments"]))] = segment
        data["attachments"].append(_attachment_data(segment))
    elif kind == "DTP" and qualifier == "472":
        first, _, last = segment[3].partition("-")
        data["service_date"], data["service_date_to"] = _iso(first), _iso(last)
        places[(*at, "service_date")] = places[(*at, "service_date_to")] = segment
    elif kind == "REF" and qualifier == "6R":
        data["control_number"], places[(*at, "control_number")] = segment[2], segment
    else:
        _keep(kept, "2400", [segment])


def _drug(loop: Loop, kept: list[Data]) -> Data:
    lin, ctp = loop.opener, loop.seg("CTP")
    assert ctp is not None  # the guide layer requires it
    _keep(kept, "2410", loop.segs("REF"))
    return {"qualifier": lin[2], "code": lin[3], "quantity": ctp[4], "unit": ctp.component(5, 1)}


def _adjudication(loop: Loop, line: Data, others: list[Data]) -> None:
    """A 2430 goes to the other payer its SVD01 names (2330B NM109); one naming none is a finding. What
    it repeats (the line's procedure and units, the payer's date) is left to them, as written here."""
    svd = loop.opener
    other = next((o for o in others if o.get("payer", {}).get("id") == svd[1]), None)
    if other is None:
        return
    billed = [line["procedure_qualifier"], line["procedure_code"], *line["modifiers"]]
    answer: Data = {
        "line_number": line["line_number"],
        "paid": svd[2],
        "procedure": [] if svd.components(3) == billed else svd.components(3),
        "units": None if _same_number(svd[5], line["units"]) else svd[5],
        "bundled_line": svd[6] or None,
        "adjustments": [],
    }
    kept: list[Data] = []
    for segment in loop.segments[1:]:
        if segment.id == "CAS":
            answer["adjustments"] += _cas(segment)
        elif segment.id == "DTP":
            day = _iso(segment[3])
            answer["adjudication_date"] = None if day == other.get("adjudication_date") else day
        else:
            _keep(kept, "2430", [segment])
    other["lines"].append(answer | {"kept": kept})


def _same_number(a: str, b: str) -> bool:
    try:
        return Decimal(a) == Decimal(b)
    except ArithmeticError:
        return False


def _unmatched_adjudications(loop: Loop, others: list[Data]) -> list[Segment]:
    payers = {o.get("payer", {}).get("id") for o in others}
    return [
        adjudication.opener
        for line in loop.children("2400")
        for adjudication in line.children("2430")
        if adjudication.opener[1] not in payers
    ]


def _claim_checks(loop: Loop, data: Data, places: dict[Place, Segment], control: str) -> list[Finding]:
    """What needs several values: CLM02 against the lines' SV102, the code set by date of service and
    one code set in the HI, CLM01 within the guide's 20 characters, SVD01 naming a 2330B payer."""
    found: list[tuple[Segment, int | None, str, str, int]] = []  # segment, element, reason, status, level
    clm, hi = loop.opener, places[("diagnoses",)]
    charges = sum((Decimal(line["charge"]) for line in data["lines"]), Decimal(0))
    if Decimal(clm[2]) != charges:
        reason = f"CLM02 {Decimal(clm[2]):.2f} is not the sum of the lines' SV102 ({charges:.2f})"
        found.append((clm, 2, reason, _BALANCE_STATUS, BALANCING))
    served = [(line["service_date"], line["service_date_to"] or line["service_date"]) for line in data["lines"]]
    first, last = date.fromisoformat(min(s for s, _ in served)), date.fromisoformat(max(e for _, e in served))
    if problem := code_set_problem(data["diagnosis_qualifier"], first, last):
        found.append((hi, 1, problem, _DIAGNOSIS_STATUS, BUSINESS))
    others = {hi.component(n, 1) for n in range(2, len(hi.elements)) if hi[n]}
    if others - {"ABF" if data["diagnosis_qualifier"] == "ABK" else "BF"}:
        reason = "the diagnosis codes mix ICD-10-CM (ABK/ABF) and ICD-9-CM (BK/BF)"
        found.append((hi, 2, reason, _DIAGNOSIS_STATUS, BUSINESS))
    if len(clm[1]) > 20:
        found.append((clm, 1, "CLM01 is longer than the 20 characters the guide allows", _INVALID_STATUS, BUSINESS))
    for svd in _unmatched_adjudications(loop, data["other_payers"]):
        found.append((svd, 1, "SVD01 names no other payer of a 2330B loop", _INVALID_STATUS, BUSINESS))
    return [
        Finding(
            Issue(s.id, s.position, s.loop, reason, None, element, level=level, transaction_control_number=control),
            status,
        )
        for s, element, reason, status, level in found
    ]


def _npi_findings(loops: list[Loop], control: str) -> list[Finding]:
    """Every provider named by NPI (NM108 XX) in these loops and those inside them whose check digit
    fails: a finding with the provider's role as the entity in error (85 billing, 82 rendering...)."""
    return [
        Finding(
            Issue(
                "NM1",
                s.position,
                s.loop,
                f"NM109 of NM1*{s[1]} fails the NPI check digit",
                None,
                9,
                level=BUSINESS,
                transaction_control_number=control,
            ),
            _NPI_STATUS,
            s[1],
        )
        for loop in loops
        for inner in loop.walk()
        for s in inner.segments
        if s.id == "NM1" and s[8] == "XX" and not npi_is_valid(s[9])
    ]


def _summary(subscriber: Loop, patient: Loop | None, loop: Loop) -> ClaimSummary:
    """From the segments the guide layer requires (and checked: CLM02 a number, DTP*472 a date)."""
    person_loop = patient.child("2010CA") if patient is not None else subscriber.child("2010BA")
    insured, payer = subscriber.child("2010BA"), subscriber.child("2010BB")
    first_line = loop.child("2400")
    assert person_loop is not None and insured is not None and payer is not None and first_line is not None
    served = first_line.seg("DTP", "472")
    assert served is not None
    person, clm = person_loop.opener, loop.opener
    return ClaimSummary(
        patient_control_number=clm[1],
        total_charge=Decimal(clm[2]).quantize(CENT, ROUND_HALF_UP),  # as a 277CA echoes it
        service_date=date.fromisoformat(_iso(served[3][:8]) or ""),
        patient_last_name=person[3],
        patient_first_name=person[4] or None,
        member_id=insured.opener[9],
        payer_id=payer.opener[9],
        payer_name=payer.opener[3],
    )
