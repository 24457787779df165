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

from x12.envelope import (
    Element,
    Envelope,
    TransactionSet,
    amount,
    components,
    element,
    read_interchange,
    render_interchange,
    st_control_number,
    to_decimal,
)
from x12.errors import X12Error
from x12.types import Code, Model, Money, Npi, Text

VERSION = "005010X214"
ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})  # acknowledged / accepted into adjudication
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})  # returned, not found, missing, invalid, relational

StatusCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,30}$")]


class ClaimStatus(Model):
    """One claim's answer (loop 2200D)."""

    patient_control_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{1,38}$")]  # TRN02, our CLM01
    category: Annotated[str, Field(pattern=r"^[A-Z][0-9A-Z]$")]  # STC01-1
    status_code: StatusCode  # STC01-2, e.g. 20 accepted for processing, 21 missing or invalid information
    entity: Annotated[str, Field(pattern=r"^[0-9A-Z]{2,3}$")] | None = None  # STC01-3: who is in error (IL, QC, 85)
    total_charge: Money
    service_date: date
    patient_last_name: Text
    patient_first_name: Text | None = None
    member_id: Code
    payer_claim_control_number: Code | None = None  # REF*1K, given when accepted

    @property
    def accepted(self) -> bool:
        return self.category in ACCEPTED_CATEGORIES


class ProviderStatuses(Model):
    name: Text
    npi: Npi
    claims: Annotated[tuple[ClaimStatus, ...], Field(min_length=1)]


class ClaimAcknowledgment(Model):
    sender_id: Annotated[str, Field(min_length=1, max_length=15)]
    receiver_id: Annotated[str, Field(min_length=1, max_length=15)]
    control_number: Annotated[int, Field(ge=1, le=999_999_999)]
    created: datetime
    usage: str = "P"
    payer_name: Text
    payer_id: Code
    submitter_name: Text
    submitter_id: Code  # the ETIN the 837 was sent with
    batch_reference: Code  # TRN02 of 2200B: the 837's BHT03, how the answer finds its file
    received: date
    providers: Annotated[tuple[ProviderStatuses, ...], Field(min_length=1)]

    @property
    def claims(self) -> tuple[ClaimStatus, ...]:
        return tuple(c for p in self.providers for c in p.claims)


def _stc(
    category: str, status: str, entity: str | None, effective: date | None, charge: Decimal, accepted: bool
) -> list[Element]:
    dated = f"{effective:%Y%m%d}" if effective else ""
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
        ["DTP", "050", "D8", f"{ack.received:%Y%m%d}"],
        ["DTP", "009", "D8", f"{day:%Y%m%d}"],
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
            body.append(["DTP", "472", "D8", f"{claim.service_date:%Y%m%d}"])
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


def _date(text: str) -> str:
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}"


def parse_277ca(text: str) -> ClaimAcknowledgment:
    """Read a 277CA; raises X12Error (without patient data) when it cannot."""
    sep, env = read_interchange(text)
    if env.functional_id != "HN" or not env.version.startswith(VERSION):
        raise X12Error(f"not a 277CA {VERSION} functional group", "GS")
    if len(env.transactions) != 1 or env.transactions[0].set_id != "277":
        raise X12Error("expected one 277 transaction set", "ST")
    header: dict[str, Any] = {}
    providers: list[dict[str, Any]] = []
    patient: list[str] | None = None
    claim: dict[str, Any] | None = None  # the 2200D being read
    in_line = False  # inside a 2220D service line status, which is not modelled
    for seg in env.transactions[0].segments:
        kind, qualifier = seg[0], element(seg, 1)
        if kind == "HL":
            patient = claim = None
            in_line = False
        elif kind == "NM1" and qualifier == "PR":
            header.update(payer_name=seg[3], payer_id=element(seg, 9))
        elif kind == "NM1" and qualifier == "41":
            header.update(submitter_name=seg[3], submitter_id=element(seg, 9))
        elif kind == "DTP" and qualifier == "050":
            header["received"] = _date(element(seg, 3))
        elif kind == "NM1" and qualifier == "85":
            providers.append(dict(name=seg[3], npi=element(seg, 9), claims=[]))
        elif kind == "NM1" and qualifier == "QC":
            patient = seg
        elif kind == "TRN" and qualifier == "2" and patient is None:
            header.setdefault("batch_reference", element(seg, 2))
        elif kind == "TRN" and qualifier == "2" and patient is not None:
            if not providers:
                raise X12Error("a claim status outside a billing provider loop", "TRN")
            claim = dict(
                patient_control_number=element(seg, 2),
                patient_last_name=patient[3],
                patient_first_name=element(patient, 4) or None,
                member_id=element(patient, 9),
            )
            providers[-1]["claims"].append(claim)
            in_line = False
        elif claim is None or in_line:
            continue
        elif kind == "SVC":
            in_line = True
        elif kind == "STC" and "category" not in claim:
            category, status, entity = (components(element(seg, 1), sep) + ["", ""])[:3]
            claim.update(
                category=category,
                status_code=status,
                entity=entity or None,
                total_charge=to_decimal(element(seg, 4), "claim charge", "STC"),
            )
        elif kind == "REF" and qualifier == "1K":
            claim["payer_claim_control_number"] = element(seg, 2)
        elif kind == "DTP" and qualifier == "472":
            claim["service_date"] = _date(element(seg, 3)[:8])
    try:
        return ClaimAcknowledgment(
            sender_id=env.sender_id,
            receiver_id=env.receiver_id,
            control_number=env.control_number,
            created=env.created,
            usage=env.usage,
            **header,
            providers=tuple(
                ProviderStatuses(name=p["name"], npi=p["npi"], claims=tuple(ClaimStatus(**c) for c in p["claims"]))
                for p in providers
            ),
        )
    except ValidationError as exc:
        problems = ("/".join(map(str, e["loc"])) + ": " + e["type"] for e in exc.errors(include_input=False))
        raise X12Error("invalid 277CA content: " + "; ".join(problems)) from None
