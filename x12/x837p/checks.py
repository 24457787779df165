"""A claim's business checks: what the models refuse, and the checks that need several values, as
findings of that claim at the segment they came from; and the summary a 277CA gives of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from x12.claim import code_set_problem
from x12.envelope import CENT
from x12.errors import BALANCING, Issue
from x12.npi import npi_is_valid
from x12.reading import Loop, Segment
from x12.x837p.results import (
    BALANCE_STATUS,
    BUSINESS,
    DIAGNOSIS_STATUS,
    INVALID_STATUS,
    NPI_STATUS,
    ClaimSummary,
    Finding,
)
from x12.x837p.segments import Data, Place, iso

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Data, places: dict[Place, Segment], control: str, into: list[Finding]) -> M | None:
    """The model, or None with what it refuses added to `into` as findings at the segments they came from."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        into += [_finding(e["loc"], e["msg"], places, control) for e in exc.errors(include_input=False)]
        return None


def _finding(loc: Place, message: str, places: dict[Place, Segment], control: str) -> Finding:
    status, element, level = INVALID_STATUS, None, BUSINESS
    if "sum of the line charges" in message:
        loc, status, element, level = (), BALANCE_STATUS, 2, BALANCING
    elif "diagnosis code" in message:
        loc, status, element = ("diagnoses",), DIAGNOSIS_STATUS, 1
    size = next((n for n in range(len(loc), -1, -1) if loc[:n] in places), 0)
    segment = places[loc[:size]]
    field = ".".join(str(part) for part in loc) or "claim"
    reason = f"{field} read from {segment.id}: {message[0].lower()}{message[1:]}"
    issue = Issue(segment.id, segment.position, segment.loop, reason, None, element, level=level)
    entity = segment[1] if segment.id == "NM1" else None
    return Finding(replace(issue, transaction_control_number=control), status, entity)


def claim_checks(loop: Loop, data: Data, places: dict[Place, Segment], control: str) -> list[Finding]:
    """What needs several values: CLM02 against the lines' SV102, the code set by date of service and
    one code set in the HI, CLM01 within the guide's 20 characters, SVD01 naming a 2330B payer, an NDC
    in its 11-digit form."""
    found: list[tuple[Segment, int | None, str, str, int]] = []  # segment, element, reason, status, level
    clm, hi = loop.opener, places[("diagnoses",)]
    charges = sum((Decimal(line["charge"]) for line in data["lines"]), Decimal(0))
    if Decimal(clm[2]) != charges:
        reason = f"CLM02 {Decimal(clm[2]):.2f} is not the sum of the lines' SV102 ({charges:.2f})"
        found.append((clm, 2, reason, BALANCE_STATUS, BALANCING))
    served = [(line["service_date"], line["service_date_to"] or line["service_date"]) for line in data["lines"]]
    first, last = date.fromisoformat(min(s for s, _ in served)), date.fromisoformat(max(e for _, e in served))
    if problem := code_set_problem(data["diagnosis_qualifier"], first, last):
        found.append((hi, 1, problem, DIAGNOSIS_STATUS, BUSINESS))
    others = {hi.component(n, 1) for n in range(2, len(hi.elements)) if hi[n]}
    if others - {"ABF" if data["diagnosis_qualifier"] == "ABK" else "BF"}:
        reason = "the diagnosis codes mix ICD-10-CM (ABK/ABF) and ICD-9-CM (BK/BF)"
        found.append((hi, 2, reason, DIAGNOSIS_STATUS, BUSINESS))
    if len(clm[1]) > 20:
        found.append((clm, 1, "CLM01 is longer than the 20 characters the guide allows", INVALID_STATUS, BUSINESS))
    for svd in _unmatched_adjudications(loop, data["other_payers"]):
        found.append((svd, 1, "SVD01 names no other payer of a 2330B loop", INVALID_STATUS, BUSINESS))
    for lin in _malformed_ndcs(loop):
        found.append((lin, 3, "LIN03 is not an NDC in 5-4-2 form (11 digits, no hyphens)", INVALID_STATUS, BUSINESS))
    return [
        Finding(
            Issue(s.id, s.position, s.loop, reason, None, element, level=level, transaction_control_number=control),
            status,
        )
        for s, element, reason, status, level in found
    ]


def _malformed_ndcs(loop: Loop) -> list[Segment]:
    """LIN segments naming a drug by NDC (LIN02 N4) whose LIN03 is not the guide's 11-digit 5-4-2 form."""
    drugs = (drug.opener for line in loop.children("2400") for drug in line.children("2410"))
    return [
        lin for lin in drugs if lin[2] == "N4" and not (len(lin[3]) == 11 and lin[3].isascii() and lin[3].isdigit())
    ]


def _unmatched_adjudications(loop: Loop, others: list[Data]) -> list[Segment]:
    payers = {o.get("payer", {}).get("id") for o in others}
    return [
        adjudication.opener
        for line in loop.children("2400")
        for adjudication in line.children("2430")
        if adjudication.opener[1] not in payers
    ]


def npi_findings(loops: list[Loop], control: str) -> list[Finding]:
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
            NPI_STATUS,
            s[1],
        )
        for loop in loops
        for inner in loop.walk()
        for s in inner.segments
        if s.id == "NM1" and s[8] == "XX" and not npi_is_valid(s[9])
    ]


def summary(subscriber: Loop, patient: Loop | None, loop: Loop) -> ClaimSummary:
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
        service_date=date.fromisoformat(iso(served[3][:8]) or ""),
        patient_last_name=person[3],
        patient_first_name=person[4] or None,
        member_id=insured.opener[9],
        payer_id=payer.opener[9],
        payer_name=payer.opener[3],
    )
