"""Write and read 835 remittance advice, 005010X221A1, and check that it balances."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from x12.envelope import Element, Envelope, amount, ccyymmdd, quantity, render_interchange
from x12.errors import BALANCING, Issue, X12Error
from x12.guides.x835 import GUIDE
from x12.npi import npi_is_valid
from x12.reading import Loop, ReadSet, Segment, collector_paused, read_sets, refuse_on
from x12.remittance import (
    Adjustment,
    ClaimPayment,
    Contact,
    Interchange835,
    Party,
    PostalAddress,
    ProviderAdjustment,
    Remittance,
    ServicePayment,
)

VERSION = "005010X221A1"
_CAS_PAIRS = 6  # reason/amount/quantity triples one CAS segment holds


def render_835(interchange: Interchange835) -> str:
    for remittance in interchange.remittances:
        check_balance(remittance)
    env = Envelope(
        sender_id=interchange.sender_id,
        receiver_id=interchange.receiver_id,
        control_number=interchange.control_number,
        group_control_number=interchange.group_control_number,
        created=interchange.created,
        usage=interchange.usage,
        functional_id="HP",
        version=VERSION,
    )
    return render_interchange(env, [_transaction(r) for r in interchange.remittances])


def check_balance(remittance: Remittance) -> None:
    """Raise X12Error unless every service, claim and the payment total balance to the cent."""
    for claim, line, element, reason in balance_problems(remittance):
        where = "" if claim is None else f"claim {claim + 1}" + ("" if line is None else f" service {line + 1}") + ": "
        raise X12Error(where + reason, {2: "BPR", 3: "SVC", 4: "CLP"}[element])


def balance_problems(remittance: Remittance) -> list[tuple[int | None, int | None, int, str]]:
    """What does not balance, as (claim index, line index, element, reason): each line (SVC02 - SVC03 =
    its CAS), each claim (CLP03 - CLP04 = its CAS and its lines' CAS), and the payment (BPR02 = the sum
    of CLP04 - the sum of PLB amounts)."""
    problems: list[tuple[int | None, int | None, int, str]] = []
    for n, claim in enumerate(remittance.claims):
        adjusted = _total(claim.adjustments)
        for k, svc in enumerate(claim.services):
            line_adjusted = _total(svc.adjustments)
            adjusted += line_adjusted
            gap = svc.charge - svc.paid - line_adjusted
            if gap:
                problems.append((n, k, 3, f"SVC02 - SVC03 differs from the line's adjustments by {gap:.2f}"))
        gap = claim.charge - claim.paid - adjusted
        if gap:
            problems.append((n, None, 4, f"CLP03 - CLP04 differs from the claim's adjustments by {gap:.2f}"))
    paid = sum((c.paid for c in remittance.claims), Decimal(0))
    plb = sum((p.amount for p in remittance.provider_adjustments), Decimal(0))
    if remittance.payment.amount != paid - plb:
        reason = f"BPR02 {remittance.payment.amount:.2f} is not the sum of CLP04 {paid:.2f} minus PLB {plb:.2f}"
        problems.append((None, None, 2, reason))
    return problems


def _total(adjustments: Iterable[Adjustment]) -> Decimal:
    return sum((a.amount for a in adjustments), Decimal(0))


# ---- writing -------------------------------------------------------------


def _transaction(r: Remittance) -> list[list[Element]]:
    p = r.payment
    if p.method == "ACH":
        assert p.payer_bank and p.payee_bank  # the Payment model guarantees both
        bank: list[Element] = [
            "CCP",
            "01",
            p.payer_bank.routing_number,
            "DA",
            p.payer_bank.account_number,
            p.payer_company_id,
            "",
            "01",
            p.payee_bank.routing_number,
            "DA",
            p.payee_bank.account_number,
        ]
    else:
        bank = [""] * 11
    segs: list[list[Element]] = [
        ["BPR", "H" if p.method == "NON" else "I", amount(p.amount), "C", p.method, *bank, ccyymmdd(p.date)],
        ["TRN", "1", p.trace_number, p.payer_key],
    ]
    header: list[list[Element]] = [
        ["CUR", "PR", r.currency],
        ["REF", "EV", r.receiver_id],
        ["REF", "F2", r.version_id],
        ["DTM", "405", ccyymmdd(r.production_date) if r.production_date else None],
    ]
    segs += [seg for seg in header if seg[2]]
    segs.append(["N1", "PR", r.payer.name, "XV" if r.payer.identifier else "", r.payer.identifier])
    segs += _render_address(r.payer.address)
    if r.payer.id:
        segs.append(["REF", "2U", r.payer.id])
    segs += [["REF", ref.qualifier, ref.value] for ref in r.payer.references]
    contact = ("TE", r.payer.contact_phone) if r.payer.contact_phone else ("UR", r.payer.contact_url)
    segs.append(["PER", "BL", r.payer.contact_name, *contact])
    segs += [_per(c) for c in r.payer.contacts]
    segs.append(["N1", "PE", r.payee.name, r.payee.id_qualifier, r.payee.identifier])
    if r.payee.address:
        segs += _render_address(r.payee.address)
    if r.payee.tax_id and r.payee.id_qualifier != "FI":
        segs.append(["REF", "TJ", r.payee.tax_id])
    segs += [["REF", ref.qualifier, ref.value] for ref in r.payee.references]
    if r.claims:
        segs.append(["LX", "1"])
    for claim in r.claims:
        segs += _claim(claim)
    segs += _plb(r.provider_adjustments)
    return segs


def _render_address(a: PostalAddress) -> list[list[Element]]:
    return [["N3", a.line1, a.line2], ["N4", a.city, a.state, a.zip, a.country]]


def _claim(c: ClaimPayment) -> list[list[Element]]:
    """2100 in the guide's order; what was read and kept is written back."""
    segs: list[list[Element]] = [
        [
            "CLP",
            c.patient_control_number,
            c.status,
            amount(c.charge),
            amount(c.paid),
            amount(c.patient_responsibility) if c.patient_responsibility else "",
            c.claim_filing_indicator,
            c.payer_claim_control_number,
            c.place_of_service,
            c.frequency_code,
        ],
        *_cas(c.adjustments),
        [
            "NM1",
            "QC",
            "1",
            c.patient.last_name,
            c.patient.first_name,
            "",
            "",
            "",
            c.patient.id_qualifier or ("MI" if c.patient.member_id else ""),
            c.patient.member_id,
        ],
    ]
    segs += [_nm1(p) for p in c.parties]
    segs += _adjudication(c)
    segs += [["REF", r.qualifier, r.value] for r in c.references]
    dates = (
        ("232", c.statement_from),
        ("233", c.statement_to),
        ("036", c.coverage_expiration),
        ("050", c.received_date),
    )
    segs += [["DTM", qualifier, ccyymmdd(day)] for qualifier, day in dates if day]
    segs += [_per(contact) for contact in c.contacts]
    typed = (("AU", c.coverage_amount), ("I", c.interest))
    segs += [["AMT", qualifier, amount(value)] for qualifier, value in typed if value is not None]
    segs += [["AMT", a.qualifier, amount(a.amount)] for a in c.amounts]
    segs += [["QTY", q.qualifier, quantity(q.quantity)] for q in c.quantities]
    for svc in c.services:
        segs += _service(svc)
    return segs


def _nm1(p: Party) -> list[Element]:
    return ["NM1", p.role, p.entity, p.name, p.first_name, "", "", "", p.id_qualifier, p.identifier]


def _adjudication(c: ClaimPayment) -> list[list[Element]]:
    """MIA and MOA as read; a claim built here carries its remark codes in an MOA."""
    segs: list[list[Element]] = []
    if c.inpatient is not None:
        segs.append(["MIA", *c.inpatient])
    if c.outpatient is not None:
        segs.append(["MOA", *c.outpatient])
    if c.inpatient is None and c.outpatient is None and c.remark_codes:
        if len(c.remark_codes) > 5:
            raise X12Error("a claim carries at most five MOA remark codes", "MOA")
        segs.append(["MOA", "", "", *c.remark_codes])
    return segs


def _per(contact: Contact) -> list[Element]:
    return ["PER", contact.function, contact.name, *(e for n in contact.numbers for e in (n.qualifier, n.value))]


def _service(svc: ServicePayment) -> list[list[Element]]:
    original: Element = (
        (svc.original_procedure_qualifier or "HC", svc.original_procedure_code, *svc.original_modifiers)
        if svc.original_procedure_code
        else ""
    )
    procedure = (svc.procedure_qualifier, svc.procedure_code, *svc.modifiers)
    if svc.description:
        procedure = (*procedure, *[""] * (4 - len(svc.modifiers)), svc.description)
    segs: list[list[Element]] = [
        [
            "SVC",
            procedure,
            amount(svc.charge),
            amount(svc.paid),
            svc.revenue_code,
            quantity(svc.units) if svc.units != 1 else "",
            original,
            quantity(svc.original_units) if svc.original_units is not None else "",
        ]
    ]
    if svc.service_date and svc.service_date_to:
        segs += [["DTM", "150", ccyymmdd(svc.service_date)], ["DTM", "151", ccyymmdd(svc.service_date_to)]]
    elif svc.service_date:
        segs.append(["DTM", "472", ccyymmdd(svc.service_date)])
    segs += _cas(svc.adjustments)
    segs += [["REF", r.qualifier, r.value] for r in svc.references]
    if svc.control_number:
        segs.append(["REF", "6R", svc.control_number])
    if svc.allowed is not None:
        segs.append(["AMT", "B6", amount(svc.allowed)])
    segs += [["AMT", a.qualifier, amount(a.amount)] for a in svc.amounts]
    segs += [["QTY", q.qualifier, quantity(q.quantity)] for q in svc.quantities]
    segs += [["LQ", "HE", code] for code in svc.remark_codes]
    segs += [["LQ", "RX", code] for code in svc.pharmacy_codes]
    return segs


def _cas(adjustments: tuple[Adjustment, ...]) -> list[list[Element]]:
    by_group: dict[str, list[Adjustment]] = {}
    for adj in adjustments:
        by_group.setdefault(adj.group, []).append(adj)
    segs: list[list[Element]] = []
    for group, adjs in by_group.items():
        for start in range(0, len(adjs), _CAS_PAIRS):
            seg: list[Element] = ["CAS", group]
            for adj in adjs[start : start + _CAS_PAIRS]:
                seg += [adj.reason, amount(adj.amount), quantity(adj.quantity) if adj.quantity is not None else ""]
            segs.append(seg)
    return segs


def _plb(adjustments: tuple[ProviderAdjustment, ...]) -> list[list[Element]]:
    """One PLB per provider and fiscal period, up to six reason/amount pairs each."""
    by_period: dict[tuple[str, date], list[ProviderAdjustment]] = {}
    for adj in adjustments:
        by_period.setdefault((adj.provider_id, adj.fiscal_period_end), []).append(adj)
    segs: list[list[Element]] = []
    for (provider, period), adjs in by_period.items():
        for start in range(0, len(adjs), _CAS_PAIRS):
            seg: list[Element] = ["PLB", provider, ccyymmdd(period)]
            for adj in adjs[start : start + _CAS_PAIRS]:
                seg += [(adj.reason, adj.reference) if adj.reference else adj.reason, amount(adj.amount)]
            segs.append(seg)
    return segs


# ---- reading -------------------------------------------------------------
#
# Three layers, as clearinghouses check: the envelope and the guide (x12/guides/x835.py: segments,
# loops, usage, codes, numbers and dates), then the models' value rules, then balancing. The models are
# built as plain data and validated once: pydantic's errors come back to the segment they were read from.

Data = dict[str, Any]
Place = tuple[str | int, ...]  # where a value sits in the Interchange835 data, as pydantic reports it
_CLAIM_DATES = {"232": "statement_from", "233": "statement_to", "050": "received_date", "036": "coverage_expiration"}
_MIA_REMARKS = (5, 20, 21, 22, 23)  # MIA05 and MIA20-23; MOA03-07 are 3..7


def parse_835(text: str) -> Interchange835:
    """Read an 835 and check that it balances; X12Error names every issue (segment, position, loop,
    element and reason, without patient data) when it does not follow the guide or does not balance."""
    with collector_paused():
        return _parse_835(text)


def _parse_835(text: str) -> Interchange835:
    interchange, sets = read_sets(text, GUIDE)
    refuse_on(sets)
    places: dict[Place, Segment] = {}
    group = interchange.groups[0]
    data: Data = {
        "sender_id": interchange.sender_id,
        "receiver_id": interchange.receiver_id,
        "control_number": interchange.control_number,
        "group_control_number": group.control_number,
        "created": group.created,
        "usage": interchange.usage,
        "remittances": [_read_remittance(s.root, ("remittances", n), places) for n, s in enumerate(sets)],
    }
    try:
        result = Interchange835.model_validate(data)
    except ValidationError as exc:
        errors = [e for e in exc.errors(include_input=False) if e["loc"] != ("remittances",)]  # not the echo
        raise X12Error.of([_content_issue(e["loc"], e["msg"], places, sets) for e in errors]) from None
    issues = [issue for n, r in enumerate(result.remittances) for issue in _balance_issues(r, n, places, sets)]
    if issues:
        raise X12Error.of(issues)
    return result


def _content_issue(loc: Place, message: str, places: dict[Place, Segment], sets: list[ReadSet]) -> Issue:
    """A value the models refuse, at the segment it came from (the nearest one recorded)."""
    for size in range(len(loc), 0, -1):
        segment = places.get(loc[:size])
        if segment is not None:
            break
    field = ".".join(str(part) for part in loc[size:]) or "value"
    control = sets[int(loc[1])].control_number if len(loc) > 1 and isinstance(loc[1], int) else None
    if segment is None:
        return Issue("ST", 1, None, f"{field}: {message}", "8", transaction_control_number=control)
    element = _BPR_ELEMENTS.get(field) if segment.id == "BPR" else None
    name = f"{field} ({segment.id}{element:02d})" if element else f"{field} read from {segment.id}"
    reason = f"{name}: {message[:1].lower()}{message[1:]}"  # the message as said: a pattern keeps its case
    return Issue(
        segment.id,
        segment.position,
        segment.loop,
        reason,
        "8",
        element=element,
        ik4="7",
        transaction_control_number=control,
    )


# Where the payment's fields come from in BPR, so a refusal names the element.
_BPR_ELEMENTS = {
    "amount": 2,
    "method": 4,
    "payer_bank.routing_number": 7,
    "payer_bank.account_number": 9,
    "payee_bank.routing_number": 13,
    "payee_bank.account_number": 15,
    "date": 16,
}


def _balance_issues(remittance: Remittance, n: int, places: dict[Place, Segment], sets: list[ReadSet]) -> list[Issue]:
    issues = []
    for claim, line, element, reason in balance_problems(remittance):
        if claim is None:
            place: Place = ("remittances", n, "payment")
        else:
            place = ("remittances", n, "claims", claim) + (("services", line) if line is not None else ())
        segment = places[place]
        control = sets[n].control_number
        issues.append(
            Issue(
                segment.id,
                segment.position,
                segment.loop,
                reason,
                None,
                element,
                level=BALANCING,
                transaction_control_number=control,
            )
        )
    return issues


def _iso(day: str) -> str | None:
    """A CCYYMMDD the guide layer checked, as the ISO date pydantic reads ("" stays None)."""
    return f"{day[:4]}-{day[4:6]}-{day[6:8]}" if day else None


def _read_remittance(root: Loop, at: Place, places: dict[Place, Segment]) -> Data:
    header = {s.id if s.id != "REF" and s.id != "DTM" else f"{s.id}*{s[1]}": s for s in root.segments}
    bpr, trn = header["BPR"], header["TRN"]
    places[at + ("payment",)] = bpr
    payer, payee = root.child("1000A"), root.child("1000B")
    assert payer is not None and payee is not None  # the guide layer requires both
    places[at + ("payer",)], places[at + ("payee",)] = payer.opener, payee.opener
    claims: list[Data] = []
    summaries: list[Data] = []
    for number in root.children("2000"):
        for claim in number.children("2100"):
            places[at + ("claims", len(claims))] = claim.opener
            claims.append(_read_claim(claim, at + ("claims", len(claims)), places))
        if number.seg("TS3") or number.seg("TS2"):
            summaries.append(_read_summary(number))
    adjustments: list[Data] = []
    for plb in root.segs("PLB"):
        for adjustment in _read_plb(plb):
            places[at + ("provider_adjustments", len(adjustments))] = plb
            adjustments.append(adjustment)
    currency, production, receiver, version = (header.get(k) for k in ("CUR", "DTM*405", "REF*EV", "REF*F2"))
    return {
        "payment": _read_payment(bpr, trn),
        "payer": _read_payer(payer),
        "payee": _read_payee(payee),
        "claims": claims,
        "provider_adjustments": adjustments,
        "production_date": _iso(production[2]) if production else None,
        "receiver_id": receiver[2] if receiver else None,
        "version_id": version[2] if version else None,
        "currency": currency[2] if currency else None,
        "provider_summaries": summaries,
        "findings": _payee_findings(payee.opener),
    }


def _payee_findings(n1: Segment) -> list[str]:
    if n1[3] == "XX" and not npi_is_valid(n1[4]):
        return ["payee N104 fails the NPI check digit"]
    return []


def _read_payment(bpr: Segment, trn: Segment) -> Data:
    payer_id = trn[3]
    tax_id = payer_id[1:] if len(payer_id) == 10 and payer_id.isdigit() and payer_id[0] == "1" else None
    banks: Data = {}
    # Bank identifiers as payers' systems pad them (" 121000248"): the spaces are no part of the number.
    if bpr[7].strip() and bpr[9].strip():
        banks["payer_bank"] = {"routing_number": bpr[7].strip(), "account_number": bpr[9].strip()}
    if bpr[13].strip() and bpr[15].strip():
        banks["payee_bank"] = {"routing_number": bpr[13].strip(), "account_number": bpr[15].strip()}
    return {
        "amount": bpr[2],
        "method": bpr[4],
        "date": _iso(bpr[16]),
        "handling_code": bpr[1],
        "credit": bpr[3] == "C",
        "trace_number": trn[2],
        "payer_identifier": None if tax_id else payer_id,
        "payer_tax_id": tax_id,
        "payer_company_id": bpr[10] or None,
        **banks,
    }


def _read_address(loop: Loop) -> Data | None:
    n3, n4 = loop.seg("N3"), loop.seg("N4")
    if n3 is None or n4 is None:
        return None
    return {
        "line1": n3[1],
        "line2": n3[2] or None,
        "city": n4[1],
        "state": n4[2] or None,
        "zip": n4[3] or None,
        "country": n4[4] or None,
    }


def _read_contact(per: Segment) -> Data:
    numbers = [{"qualifier": per[n], "value": per[n + 1]} for n in (3, 5, 7) if per[n] and per[n + 1]]
    return {"function": per[1], "name": per[2] or None, "numbers": numbers}


def _read_payer(loop: Loop) -> Data:
    """The payer; the first PER*BL gives the contact fields, REF*2U the id, the other REF and PER are
    kept as read."""
    n1 = loop.opener
    references = [{"qualifier": s[1], "value": s[2]} for s in loop.segs("REF")]
    contacts = [_read_contact(s) for s in loop.segs("PER")]
    technical: Data = next((c for c in contacts if c["function"] == "BL"), {"name": None, "numbers": []})
    given: list[Data] = technical["numbers"]
    numbers = {number["qualifier"]: number["value"] for number in given}
    phone = numbers.get("TE", "")
    if len(numbers) == len(given) and set(numbers) <= {"TE", "UR"} and len(phone) in (0, 10) and technical in contacts:
        contacts.remove(technical)  # wholly in the contact fields
    return {
        "name": n1[2],
        "identifier": n1[4] or None,
        "id": next((r["value"] for r in references if r["qualifier"] == "2U"), ""),
        "address": _read_address(loop),
        "contact_name": technical["name"],
        "contact_phone": phone if len(phone) == 10 and phone.isdigit() else None,
        "contact_url": numbers.get("UR"),
        "references": [r for r in references if r["qualifier"] != "2U"],
        "contacts": contacts,
    }


def _tax_id(value: str) -> str | None:
    """A 9-digit tax id, written with or without its hyphen (12-3456789); None when it is not one."""
    digits = value.replace("-", "")
    return digits if len(digits) == 9 and digits.isdigit() else None


def _read_payee(loop: Loop) -> Data:
    n1 = loop.opener
    qualifier, identifier = n1[3], n1[4]
    references = [{"qualifier": s[1], "value": s[2]} for s in loop.segs("REF")]
    reference_tax_id = next((_tax_id(r["value"]) for r in references if r["qualifier"] == "TJ"), None)
    tax_id = _tax_id(identifier) if qualifier == "FI" else None
    return {
        "name": n1[2],
        "id_qualifier": qualifier,
        "npi": identifier if qualifier == "XX" else None,
        "tax_id": tax_id or reference_tax_id,
        "id_code": identifier if qualifier != "XX" and not tax_id else None,
        "address": _read_address(loop),
        "references": [r for r in references if r["qualifier"] != "TJ"],
    }


def _read_summary(number: Loop) -> Data:
    ts3, ts2 = number.seg("TS3"), number.seg("TS2")
    summary: Data = {"header_number": number.opener[1], "claims": len(number.children("2100"))}
    if ts3 is not None:
        summary.update(
            provider_id=ts3[1],
            facility_code=ts3[2],
            fiscal_period_end=_iso(ts3[3]),
            claim_count=ts3[4],
            total_charge=ts3[5],
            summary=tuple(ts3.elements[1:]),
        )
    if ts2 is not None:
        summary["supplemental"] = tuple(ts2.elements[1:])
    return summary


def _read_claim(loop: Loop, at: Place, places: dict[Place, Segment]) -> Data:
    """One 2100 loop: what is absent is left out (the models' defaults), lists only when there is one."""
    clp = loop.opener.padded(9)
    claim: Data = {
        "patient_control_number": clp[1],
        "status": clp[2],
        "charge": clp[3],
        "paid": clp[4],
        "patient_responsibility": clp[5] or "0",
        "claim_filing_indicator": clp[6],
        "payer_claim_control_number": clp[7],
    }
    if clp[8]:
        claim["place_of_service"] = clp[8]
    if clp[9]:
        claim["frequency_code"] = clp[9]
    for segment in loop.segments[1:]:
        _claim_segment(segment, claim)
    services: list[Data] = []
    for line in loop.loops:
        places[at + ("services", len(services))] = line.opener
        services.append(_read_service(line))
    claim["services"] = services
    return claim


def _claim_segment(segment: Segment, claim: Data) -> None:
    s = segment.padded(9)
    kind, qualifier = s[0], s[1]
    if kind == "CAS":
        claim.setdefault("adjustments", []).extend(_read_cas(segment))
    elif kind == "NM1" and qualifier == "QC":
        claim["patient"] = {
            "last_name": s[3] or None,
            "first_name": s[4] or None,
            "member_id": s[9] or None,
            "id_qualifier": s[8] if s[8] != "MI" else None,
        }
    elif kind == "NM1":
        party = {"role": qualifier, "entity": s[2] or "1", "name": s[3] or None, "first_name": s[4] or None}
        claim.setdefault("parties", []).append({**party, "id_qualifier": s[8] or None, "identifier": s[9] or None})
        if qualifier == "82" and s[8] == "XX" and not npi_is_valid(s[9]):
            claim.setdefault("findings", []).append("rendering provider NM109 fails the NPI check digit")
    elif kind in ("MIA", "MOA"):
        claim["inpatient" if kind == "MIA" else "outpatient"] = tuple(segment.elements[1:])
        remarks = _MIA_REMARKS if kind == "MIA" else range(3, 8)
        claim.setdefault("remark_codes", []).extend(segment[n] for n in remarks if segment[n])
    elif kind == "DTM":
        claim[_CLAIM_DATES[qualifier]] = _iso(s[2])
    elif kind == "AMT" and qualifier in ("AU", "I"):
        claim["coverage_amount" if qualifier == "AU" else "interest"] = s[2]
    elif kind == "PER":
        claim.setdefault("contacts", []).append(_read_contact(segment))
    else:  # REF, AMT, QTY kept as read
        field, name = _KEPT[kind]
        claim.setdefault(field, []).append({"qualifier": qualifier, name: s[2]})


def _read_service(loop: Loop) -> Data:
    """One 2110 loop. Its segments' qualifiers and values are there: the guide layer required them."""
    svc = loop.opener.padded(7)
    procedure = svc[1].split(loop.opener.separators.component) + [""] * 6
    service: Data = {
        "procedure_qualifier": procedure[0],
        "procedure_code": procedure[1],
        "charge": svc[2],
        "paid": svc[3],
    }
    modifiers = [m for m in procedure[2:6] if m]
    for name, value in (
        ("modifiers", modifiers),
        ("description", procedure[6]),
        ("revenue_code", svc[4]),
        ("units", svc[5]),
    ):
        if value:
            service[name] = value
    if svc[6] or svc[7]:
        service.update(_read_original_procedure(loop.opener))
    for segment in loop.segments[1:]:
        kind, qualifier, value = segment.id, segment.elements[1], segment.elements[2]
        if kind == "CAS":
            service.setdefault("adjustments", []).extend(_read_cas(segment))
        elif kind == "DTM":
            service["service_date_to" if qualifier == "151" else "service_date"] = _iso(value)
        elif kind == "REF" and qualifier == "6R":
            service["control_number"] = value
        elif kind == "AMT" and qualifier == "B6":
            service["allowed"] = value
        elif kind == "LQ":
            service.setdefault("remark_codes" if qualifier == "HE" else "pharmacy_codes", []).append(value)
        else:  # REF, AMT, QTY kept as read
            field, name = _KEPT[kind]
            service.setdefault(field, []).append({"qualifier": qualifier, name: value})
    return service


_KEPT = {"REF": ("references", "value"), "AMT": ("amounts", "amount"), "QTY": ("quantities", "quantity")}


def _read_original_procedure(svc: Segment) -> Data:
    """SVC06/07: the billed code and units when the payer adjudicated another code or split the line."""
    original = svc.components(6) if svc[6] else []
    result: Data = {}
    if len(original) > 1:
        result = {
            "original_procedure_qualifier": original[0],
            "original_procedure_code": original[1],
            "original_modifiers": [m for m in original[2:6] if m],
        }
    if svc[7]:
        result["original_units"] = svc[7]
    return result


def _read_cas(segment: Segment) -> list[Data]:
    """One CAS holds up to six reason/amount/quantity triples of one group."""
    cas = segment.elements
    size = len(cas)
    group = cas[1] if size > 1 else ""
    return [
        {
            "group": group,
            "reason": cas[n],
            "amount": cas[n + 1] if n + 1 < size else "",
            "quantity": (cas[n + 2] if n + 2 < size else "") or None,
        }
        for n in range(2, size, 3)
        if cas[n]
    ]


def _read_plb(plb: Segment) -> list[Data]:
    """One PLB holds up to six reason/amount pairs; the reason is a composite (code and reference)."""
    adjustments = []
    for n in (3, 5, 7, 9, 11, 13):
        if plb[n]:
            reason = plb.components(n)
            adjustments.append(
                {
                    "provider_id": plb[1],
                    "fiscal_period_end": _iso(plb[2]),
                    "reason": reason[0],
                    "reference": reason[1] if len(reason) > 1 and reason[1] else None,
                    "amount": plb[n + 1],
                }
            )
    return adjustments
