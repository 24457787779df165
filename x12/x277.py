"""Write and read the 277 claim acknowledgment (277CA), 005010X214: the payer's front end says, claim
by claim, whether it accepted the claim into adjudication (STC category A1/A2) or rejected it
(A3, A4, A6, A7, A8) with a status code and the entity in error.

One transaction set: the payer (2000A) -> the submitter (2000B, with the batch totals) -> each
billing provider (2000C) -> each claim's patient (2000D, one 2200D per claim)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, ValidationError

from x12.envelope import Element, Envelope, TransactionSet, amount, ccyymmdd, render_interchange, st_control_number
from x12.errors import X12Error
from x12.guides.x214 import GUIDE
from x12.reading import Loop, Segment, read_sets, refuse_on
from x12.types import Model, Money, Text

VERSION = "005010X214"
ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})  # acknowledged / accepted into adjudication
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})  # returned, not found, missing, invalid, relational

StatusCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,30}$")]


Identifier = Annotated[str, Field(pattern=r"^[^*:^~\r\n]{1,80}$")]


class ClaimStatus(Model):
    """One claim's answer (loop 2200D)."""

    patient_control_number: Annotated[str, Field(pattern=r"^[^*:^~\r\n]{1,38}$")]  # TRN02, our CLM01
    category: Annotated[str, Field(pattern=r"^[A-Z][0-9A-Z]$")]  # STC01-1
    status_code: StatusCode  # STC01-2, e.g. 20 accepted for processing, 21 missing or invalid information
    entity: Annotated[str, Field(pattern=r"^[0-9A-Z]{2,3}$")] | None = None  # STC01-3: who is in error (IL, QC, 85)
    total_charge: Money
    service_date: date
    patient_last_name: Text
    patient_first_name: Text | None = None
    member_id: Identifier
    payer_claim_control_number: Identifier | None = None  # REF*1K, given when accepted
    line_statuses: tuple[tuple[str, str, str], ...] = ()  # 2220D: (procedure code, STC01-1, STC01-2) per line

    @property
    def accepted(self) -> bool:
        return self.category in ACCEPTED_CATEGORIES


class ProviderStatuses(Model):
    name: Text
    npi: Identifier  # NM109: the NPI (NM108 XX), or the tax id (FI) or a payer-assigned id (SV)
    claims: tuple[ClaimStatus, ...] = ()  # a provider whose claims were all rejected at the batch may have none


class ClaimAcknowledgment(Model):
    sender_id: Annotated[str, Field(min_length=1, max_length=15)]
    receiver_id: Annotated[str, Field(min_length=1, max_length=15)]
    control_number: Annotated[int, Field(ge=1, le=999_999_999)]
    created: datetime
    usage: str = "P"
    payer_name: Text  # 2100A: the payer, or the clearinghouse (NM1*AY) that answers for it
    payer_id: Identifier
    submitter_name: Text
    submitter_id: Identifier  # the ETIN the 837 was sent with
    batch_reference: Identifier  # TRN02 of 2200B: the 837's BHT03, how the answer finds its file
    received: date
    providers: Annotated[tuple[ProviderStatuses, ...], Field(min_length=1)]

    @property
    def claims(self) -> tuple[ClaimStatus, ...]:
        return tuple(c for p in self.providers for c in p.claims)


def _stc(
    category: str, status: str, entity: str | None, effective: date | None, charge: Decimal, accepted: bool
) -> list[Element]:
    dated = ccyymmdd(effective) if effective else ""
    return ["STC", (category, status, entity or ""), dated, "WQ" if accepted else "U", amount(charge)]


def _totals(claims: tuple[ClaimStatus, ...], accepted_qty: str, rejected_qty: str) -> list[list[Element]]:
    ok = [c for c in claims if c.accepted]
    bad = [c for c in claims if not c.accepted]
    segs: list[list[Element]] = []
    if ok:
        segs.append(["QTY", accepted_qty, str(len(ok))])
    if bad:
        segs.append(["QTY", rejected_qty, str(len(bad))])
    if ok:
        segs.append(["AMT", "YU", amount(sum((c.total_charge for c in ok), Decimal(0)))])
    if bad:
        segs.append(["AMT", "YY", amount(sum((c.total_charge for c in bad), Decimal(0)))])
    return segs


def render_277ca(ack: ClaimAcknowledgment) -> str:
    day = ack.created.date()
    total = sum((c.total_charge for c in ack.claims), Decimal(0))
    body: list[list[Element]] = [
        ["BHT", "0085", "08", f"{ack.control_number}", f"{ack.created:%Y%m%d}", f"{ack.created:%H%M}", "TH"],
        ["HL", "1", "", "20", "1"],
        ["NM1", "PR", "2", ack.payer_name, "", "", "", "", "PI", ack.payer_id],
        ["TRN", "1", f"{ack.control_number}"],
        ["DTP", "050", "D8", ccyymmdd(ack.received)],
        ["DTP", "009", "D8", ccyymmdd(day)],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "41", "2", ack.submitter_name, "", "", "", "", "46", ack.submitter_id],
        ["TRN", "2", ack.batch_reference],
        _stc("A1", "19", "PR", day, total, True),  # the batch was received
        *_totals(ack.claims, "90", "AA"),
    ]
    hl = 2
    for provider in ack.providers:
        hl += 1
        provider_hl = hl
        body += [
            ["HL", str(provider_hl), "2", "19", "1"],
            ["NM1", "85", "2", provider.name, "", "", "", "", "XX", provider.npi],
            ["TRN", "1", "0"],
            _stc("A1", "19", "PR", None, sum((c.total_charge for c in provider.claims), Decimal(0)), True),
            *_totals(provider.claims, "QA", "QC"),
        ]
        for claim in provider.claims:
            hl += 1
            body += [
                ["HL", str(hl), str(provider_hl), "PT"],
                [
                    "NM1",
                    "QC",
                    "1",
                    claim.patient_last_name,
                    claim.patient_first_name,
                    "",
                    "",
                    "",
                    "MI",
                    claim.member_id,
                ],
                ["TRN", "2", claim.patient_control_number],
                _stc(claim.category, claim.status_code, claim.entity, day, claim.total_charge, claim.accepted),
            ]
            if claim.payer_claim_control_number:
                body.append(["REF", "1K", claim.payer_claim_control_number])
            body.append(["DTP", "472", "D8", ccyymmdd(claim.service_date)])
    env = Envelope(
        sender_id=ack.sender_id,
        receiver_id=ack.receiver_id,
        control_number=ack.control_number,
        group_control_number=ack.control_number,
        created=ack.created,
        usage=ack.usage,
        functional_id="HN",
        version=VERSION,
        transactions=(TransactionSet("277", st_control_number(0)),),
    )
    return render_interchange(env, [body])


def parse_277ca(text: str) -> ClaimAcknowledgment:
    """Read a 277CA on the X214 guide; X12Error (without patient data) naming every issue when it does
    not follow the guide or its values do not fit the model."""
    interchange, sets = read_sets(text, GUIDE)
    refuse_on(sets)
    header: dict[str, Any] = {}
    providers: list[dict[str, Any]] = []
    for read in sets:
        for source in read.root.children("2000A"):
            _read_source(source, header, providers)
    try:
        return ClaimAcknowledgment(
            sender_id=interchange.sender_id,
            receiver_id=interchange.receiver_id,
            control_number=interchange.control_number,
            created=interchange.groups[0].created,
            usage=interchange.usage,
            **header,
            providers=tuple(providers),
        )
    except ValidationError as exc:
        problems = ("/".join(map(str, e["loc"])) + ": " + e["type"] for e in exc.errors(include_input=False))
        raise X12Error("invalid 277CA content: " + "; ".join(problems)) from None


def _name(level: Loop, name_loop: str) -> Segment:
    name = level.child(name_loop)
    assert name is not None  # required by the guide
    return name.opener


def _read_source(source: Loop, header: dict[str, Any], providers: list[dict[str, Any]]) -> None:
    payer = _name(source, "2100A")
    receipt = source.child("2200A")
    header.setdefault("payer_name", payer[3])
    header.setdefault("payer_id", payer[9])
    if receipt is not None and (received := receipt.seg("DTP", "050")) is not None:
        header.setdefault("received", _iso(received[3]))
    for receiver in source.children("2000B"):
        submitter, trace = _name(receiver, "2100B"), receiver.child("2200B")
        header.setdefault("submitter_name", submitter[3])
        header.setdefault("submitter_id", submitter[9])
        if trace is not None:
            header.setdefault("batch_reference", trace.opener[2])
        for level in receiver.children("2000C"):
            provider = _name(level, "2100C")
            claims = [
                _read_claim(patient, claim)
                for patient in level.children("2000D")
                for claim in patient.children("2200D")
            ]
            providers.append({"name": provider[3], "npi": provider[9], "claims": claims})


def _read_claim(patient: Loop, claim: Loop) -> dict[str, Any]:
    name = _name(patient, "2100D")
    stc = claim.segs("STC")[0]  # the first is the claim's status; more may follow (STC10, STC11 too)
    control, service = claim.seg("REF", "1K"), claim.seg("DTP", "472")
    return {
        "patient_control_number": claim.opener[2],
        "patient_last_name": name[3],
        "patient_first_name": name[4] or None,
        "member_id": name[9],
        "category": stc.component(1, 1),
        "status_code": stc.component(1, 2),
        "entity": stc.component(1, 3) or None,
        "total_charge": stc[4],
        "service_date": _iso(service[3]) if service else None,
        "payer_claim_control_number": control[2] if control else None,
        "line_statuses": tuple(
            (line.opener.component(1, 2), line.segs("STC")[0].component(1, 1), line.segs("STC")[0].component(1, 2))
            for line in claim.loops
        ),
    }


def _iso(text: str) -> str:
    """The first day of a D8 or RD8 period, ISO (the guide layer checked it)."""
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}"
