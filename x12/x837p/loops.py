"""Each loop of a claim as plain data for the models (x12/claim.py), noting the segment each value
came from (`places`, for findings) and keeping what the models do not hold (`kept`)."""

from __future__ import annotations

from decimal import Decimal

from x12.guides.x837p import ATTACHMENT_TRANSMISSIONS
from x12.reading import Loop, Segment
from x12.x837p.segments import Data, Place, address_data, iso, keep, person_name, whole


def subscriber_data(subscriber: Loop, places: dict[Place, Segment], kept: list[Data]) -> Data:
    """2000B (SBR), 2010BA (the subscriber) and 2010BB (the payer the claim is sent to)."""
    sbr = subscriber.seg("SBR")
    name_loop, payer_loop = subscriber.child("2010BA"), subscriber.child("2010BB")
    assert sbr is not None and name_loop is not None and payer_loop is not None  # the guide layer requires them
    keep(kept, "2000B", subscriber.segs("PAT"))
    nm1, payer, dmg = name_loop.opener, payer_loop.opener, name_loop.seg("DMG")
    keep(kept, "2010BA", (s for s in name_loop.segments[1:] if s.id not in ("N3", "N4", "DMG")))
    keep(kept, "2010BB", payer_loop.segments[1:])
    places.update({("subscriber",): nm1, ("payer",): payer, ("payer_responsibility",): sbr})
    if dmg is not None:
        places[("subscriber", "birth_date")] = places[("subscriber", "sex")] = dmg
    person = person_name(nm1) | {
        "entity_type": nm1[2],
        "id_qualifier": nm1[8],
        "member_id": nm1[9],
        "group_number": sbr[3] or None,
        "group_name": sbr[4] or None,
        "address": address_data(name_loop, kept, "2010BA"),
        "birth_date": iso(dmg[2]) if dmg else None,
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


def patient_data(patient: Loop, places: dict[Place, Segment], kept: list[Data]) -> Data:
    """2000C (PAT) and 2010CA: the patient when not the subscriber."""
    pat, name_loop = patient.seg("PAT"), patient.child("2010CA")
    assert pat is not None and name_loop is not None  # the guide layer requires them
    nm1, dmg = name_loop.opener, name_loop.seg("DMG")
    assert dmg is not None
    keep(kept, "2010CA", (s for s in name_loop.segments[1:] if s.id not in ("N3", "N4", "DMG")))
    places.update({("patient",): nm1, ("patient", "birth_date"): dmg, ("patient", "relationship_code"): pat})
    return person_name(nm1) | {
        "relationship_code": pat[1],
        "birth_date": iso(dmg[2]),
        "sex": dmg[3],
        "address": address_data(name_loop, kept, "2010CA"),
        "deceased": iso(pat[6]) if pat[5] == "D8" else None,
        "weight": pat[8] or None,
        "pregnant": pat[9] == "Y",
    }


def claim_data(loop: Loop, places: dict[Place, Segment], kept: list[Data]) -> Data:
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
        keep(kept, "2300", [segment])


def _attachment_data(pwk: Segment) -> Data:
    return {"report_type": pwk[1], "transmission": pwk[2], "control_number": pwk[6] or None}


def _providers(loop: Loop, data: Data, places: dict[Place, Segment], kept: list[Data]) -> None:
    """The first 2310A and the 2310B as models; a second referring provider and 2310C-F kept whole."""
    for inner in loop.loops:
        nm1 = inner.opener
        if inner.id == "2310A" and "referring_provider" not in data:
            keep(kept, "2310A", inner.segments[1:])
            data["referring_provider"] = person_name(nm1) | {"role": nm1[1], "npi": nm1[9] or None}
            places[("referring_provider",)] = nm1
        elif inner.id == "2310B":
            prv = inner.seg("PRV", "PE")
            keep(kept, "2310B", (s for s in inner.segments[1:] if s is not prv))
            rendering = {"entity_type": nm1[2], "npi": nm1[9] or None, "taxonomy_code": prv[3] if prv else None}
            data["rendering_provider"] = person_name(nm1) | rendering
            places[("rendering_provider",)] = nm1
        elif inner.id not in ("2320", "2400"):
            keep(kept, "2300", whole(inner))


def _cas(segment: Segment) -> list[Data]:
    """One CAS holds up to six reason/amount/quantity triples of one group."""
    cas = segment.padded(19)
    return [
        {"group": cas[1], "reason": cas[n], "amount": cas[n + 1], "quantity": cas[n + 2] or None}
        for n in range(2, 19, 3)
        if cas[n]
    ]


def other_payer_data(loop: Loop, k: int, places: dict[Place, Segment]) -> Data:
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
            keep(kept, "2320", [segment])
    for inner in loop.loops:
        if inner.id == "2330A":
            data |= _other_subscriber(inner, kept)
        elif inner.id == "2330B":
            data |= _other_payer_name(inner, sbr, kept)
            places[("other_payers", k, "payer")] = inner.opener
        else:
            keep(kept, "2320", whole(inner))
    return data | {"kept": kept}


def _other_subscriber(loop: Loop, kept: list[Data]) -> Data:
    nm1 = loop.opener
    keep(kept, "2330A", loop.segments[1:])
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
            data["adjudication_date"] = iso(segment[3])
        elif segment.id == "REF" and segment[1] == "F8":
            data["payer_claim_control_number"] = segment[2]
        else:
            keep(kept, "2330B", [segment])
    return data


def line_data(loop: Loop, n: int, claim_place: str, others: list[Data], places: dict[Place, Segment]) -> Data:
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
            keep(kept, "2400", whole(inner))
    return data | {"kept": kept}


def _line_segment(segment: Segment, data: Data, kept: list[Data], at: Place, places: dict[Place, Segment]) -> None:
    kind, qualifier = segment.id, segment[1]
    if kind == "PWK" and segment[2] in ATTACHMENT_TRANSMISSIONS.split():
        places[(*at, "attachments", len(data["attachments"]))] = segment
        data["attachments"].append(_attachment_data(segment))
    elif kind == "DTP" and qualifier == "472":
        first, _, last = segment[3].partition("-")
        data["service_date"], data["service_date_to"] = iso(first), iso(last)
        places[(*at, "service_date")] = places[(*at, "service_date_to")] = segment
    elif kind == "REF" and qualifier == "6R":
        data["control_number"], places[(*at, "control_number")] = segment[2], segment
    else:
        keep(kept, "2400", [segment])


def _drug(loop: Loop, kept: list[Data]) -> Data:
    lin, ctp = loop.opener, loop.seg("CTP")
    assert ctp is not None  # the guide layer requires it
    keep(kept, "2410", loop.segs("REF"))
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
            day = iso(segment[3])
            answer["adjudication_date"] = None if day == other.get("adjudication_date") else day
        else:
            keep(kept, "2430", [segment])
    other["lines"].append(answer | {"kept": kept})


def _same_number(a: str, b: str) -> bool:
    try:
        return Decimal(a) == Decimal(b)
    except ArithmeticError:
        return False
