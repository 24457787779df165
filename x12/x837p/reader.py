"""Read 837P professional claims written by any submitter, 005010X222A1, in layers as clearinghouses
check:

1. the envelope and the guide (x12/reading.py with x12/guides/x837p.py): a transaction set with an
   issue is refused whole, its issues go to the 999 (IK3/IK4/IK5);
2. each claim of an accepted set is built as plain data (x12/x837p/loops.py) and validated once by the
   models; what they refuse, and the checks that need several values (x12/x837p/checks.py), are
   findings of that claim at the segment they came from (277CA): the file and its other claims go on."""

from __future__ import annotations

from collections.abc import Iterator

from x12.claim import BillingProvider, Claim, Interchange837, Receiver, Submitter
from x12.errors import X12Error
from x12.guides.x837p import GUIDE
from x12.reading import Loop, ReadSet, Segment, read_envelope, read_sets
from x12.x837p.checks import claim_checks, npi_findings, summary, validated
from x12.x837p.known import known_lines
from x12.x837p.loops import claim_data, line_data, other_payer_data, patient_data, subscriber_data
from x12.x837p.results import BALANCE_STATUS, Finding, ReadClaim, Reading837, ReadProvider, ReadSet837
from x12.x837p.segments import Data, Place, address_data, keep, whole


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


def _read_set(read: ReadSet) -> ReadSet837:
    if read.issues:
        return ReadSet837(read)
    root, control = read.root, read.control_number
    header: list[Finding] = []
    submitter_loop, receiver_loop = root.child("1000A"), root.child("1000B")
    assert submitter_loop is not None and receiver_loop is not None  # the guide layer requires both
    submitter = validated(Submitter, _submitter(submitter_loop), {(): submitter_loop.opener}, control, header)
    nm1 = receiver_loop.opener
    receiver = validated(Receiver, {"name": nm1[3], "id": nm1[9]}, {(): nm1}, control, header)
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
            keep(kept, "1000A", [per])
    return data | {"kept": kept}


def _read_provider(loop: Loop, control: str, header: list[Finding]) -> ReadProvider:
    name_loop = loop.child("2010AA")
    assert name_loop is not None  # the guide layer requires it
    nm1, prv = name_loop.opener, loop.seg("PRV", "BI")
    kept: list[Data] = []
    for segment in loop.segments[1:]:
        if segment is not prv:
            keep(kept, "2000A", [segment])
    for inner in loop.loops:
        if inner.id in ("2010AB", "2010AC"):
            keep(kept, "2000A", whole(inner))
    tax = next(s for s in name_loop.segs("REF") if s[1] in ("EI", "SY"))  # required by the guide
    for segment in name_loop.segments[1:]:
        if segment.id not in ("N3", "N4") and segment is not tax:
            keep(kept, "2010AA", [segment])
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
        "address": address_data(name_loop, kept, "2010AA"),
        "kept": kept,
    }
    findings = list(header) + npi_findings([name_loop], control)
    places: dict[Place, Segment] = {(): nm1, ("tax_id",): tax}
    if prv is not None:
        places[("taxonomy_code",)] = prv
    provider = validated(BillingProvider, data, places, control, findings)
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
    data = subscriber_data(subscriber, places, kept)
    if patient is not None:
        data["patient"] = patient_data(patient, places, kept)
    data |= claim_data(loop, places, kept)
    others = [other_payer_data(other, k, places) for k, other in enumerate(loop.children("2320"))]
    line_loops = loop.children("2400")
    lines = [line_data(line, n, data["place_of_service"], others, places) for n, line in enumerate(line_loops)]
    data |= {"other_payers": others, "lines": lines, "kept": kept}
    findings = list(inherited) + claim_checks(loop, data, places, control) + npi_findings([loop], control)
    refused: list[Finding] = []
    validating = data | {"lines": known_lines(line_loops, lines, data["place_of_service"])}
    claim = validated(Claim, validating, places, control, refused)
    findings += [f for f in refused if f.status != BALANCE_STATUS]  # the checks above say it with the amounts
    findings.sort(key=lambda f: f.issue.position or 0)
    return ReadClaim(summary(subscriber, patient, loop), claim, tuple(findings))
