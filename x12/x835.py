"""Write and read 835 remittance advice, 005010X221A1, and check that it balances."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from x12.envelope import (
    Cursor,
    Element,
    Envelope,
    Segment,
    Separators,
    amount,
    components,
    element,
    quantity,
    read_interchange,
    render_interchange,
    to_decimal,
)
from x12.errors import X12Error
from x12.remittance import (
    Adjustment,
    BankAccount,
    ClaimPayment,
    Interchange835,
    Patient,
    Payee,
    Payment,
    ProviderAdjustment,
    RemitPayer,
    Remittance,
    ServicePayment,
)
from x12.types import Address

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
    for n, claim in enumerate(remittance.claims, start=1):
        for s, svc in enumerate(claim.services, start=1):
            if svc.charge != svc.paid + _total(svc.adjustments):
                raise X12Error(f"claim {n} service {s}: charge != paid + adjustments", "SVC")
        line_adjustments = sum(_total(svc.adjustments) for svc in claim.services)
        if claim.charge != claim.paid + _total(claim.adjustments) + line_adjustments:
            raise X12Error(f"claim {n}: charge != paid + claim and line adjustments", "CLP")
        if claim.services and claim.charge != sum(svc.charge for svc in claim.services):
            raise X12Error(f"claim {n}: charge != sum of its service charges", "CLP")
    expected = sum(c.paid for c in remittance.claims) - sum(p.amount for p in remittance.provider_adjustments)
    if remittance.payment.amount != expected:
        raise X12Error("BPR total != sum of claim payments - provider adjustments", "BPR")


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
        ["BPR", "H" if p.method == "NON" else "I", amount(p.amount), "C", p.method, *bank, f"{p.date:%Y%m%d}"],
        ["TRN", "1", p.trace_number, "1" + p.payer_tax_id],
        ["N1", "PR", r.payer.name],
        *_address(r.payer.address),
        ["REF", "2U", r.payer.id],
        ["PER", "BL", r.payer.contact_name, "TE", r.payer.contact_phone],
        ["N1", "PE", r.payee.name, "XX", r.payee.npi],
    ]
    if r.payee.tax_id:
        segs.append(["REF", "TJ", r.payee.tax_id])
    if r.claims:
        segs.append(["LX", "1"])
    for claim in r.claims:
        segs += _claim(claim)
    segs += _plb(r.provider_adjustments)
    return segs


def _address(a: Address) -> list[list[Element]]:
    return [["N3", a.line1, a.line2], ["N4", a.city, a.state, a.zip]]


def _claim(c: ClaimPayment) -> list[list[Element]]:
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
        ["NM1", "QC", "1", c.patient.last_name, c.patient.first_name, "", "", "", "MI", c.patient.member_id],
    ]
    if c.remark_codes:
        if len(c.remark_codes) > 5:
            raise X12Error("a claim carries at most five MOA remark codes", "MOA")
        segs.append(["MOA", "", "", *c.remark_codes])
    for qualifier, day in (("232", c.statement_from), ("233", c.statement_to), ("050", c.received_date)):
        if day:
            segs.append(["DTM", qualifier, f"{day:%Y%m%d}"])
    for qualifier, value in (("AU", c.coverage_amount), ("I", c.interest)):
        if value is not None:
            segs.append(["AMT", qualifier, amount(value)])
    for svc in c.services:
        original: Element = (
            ("HC", svc.original_procedure_code, *svc.original_modifiers) if svc.original_procedure_code else ""
        )
        segs.append(
            [
                "SVC",
                ("HC", svc.procedure_code, *svc.modifiers),
                amount(svc.charge),
                amount(svc.paid),
                "",
                quantity(svc.units) if svc.units != 1 else "",
                original,
                quantity(svc.original_units) if svc.original_units is not None else "",
            ]
        )
        if svc.service_date:
            segs.append(["DTM", "472", f"{svc.service_date:%Y%m%d}"])
        segs += _cas(svc.adjustments)
        if svc.control_number:
            segs.append(["REF", "6R", svc.control_number])
        if svc.allowed is not None:
            segs.append(["AMT", "B6", amount(svc.allowed)])
        segs += [["LQ", "HE", code] for code in svc.remark_codes]
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
            seg: list[Element] = ["PLB", provider, f"{period:%Y%m%d}"]
            for adj in adjs[start : start + _CAS_PAIRS]:
                seg += [(adj.reason, adj.reference) if adj.reference else adj.reason, amount(adj.amount)]
            segs.append(seg)
    return segs


# ---- reading -------------------------------------------------------------


def parse_835(text: str) -> Interchange835:
    """Read an 835 and check that it balances; raises X12Error (without patient data) otherwise."""
    sep, env = read_interchange(text)
    if env.functional_id != "HP" or env.version != VERSION:
        raise X12Error(f"not an 835 {VERSION} functional group", "GS")
    try:
        remittances = []
        for ts in env.transactions:
            if ts.set_id != "835":
                raise X12Error("transaction set is not an 835", "ST")
            remittances.append(_read_transaction(Cursor(ts.segments), sep))
        interchange = Interchange835(
            sender_id=env.sender_id,
            receiver_id=env.receiver_id,
            control_number=env.control_number,
            group_control_number=env.group_control_number,
            created=env.created,
            usage=env.usage,
            remittances=tuple(remittances),
        )
    except ValidationError as exc:
        problems = ("/".join(map(str, e["loc"])) + ": " + e["type"] for e in exc.errors(include_input=False))
        raise X12Error("invalid 835 content: " + "; ".join(problems)) from None
    for remittance in interchange.remittances:
        check_balance(remittance)
    return interchange


def _date(text: str, segment_id: str) -> date:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise X12Error(f"{segment_id}: bad date", segment_id) from None


def _read_transaction(cur: Cursor, sep: Separators) -> Remittance:
    bpr = cur.take("BPR")
    trn = cur.take("TRN")
    method = element(bpr, 4)
    banks = {}
    if method == "ACH":
        banks = dict(
            payer_bank=BankAccount(routing_number=element(bpr, 7), account_number=element(bpr, 9)),
            payee_bank=BankAccount(routing_number=element(bpr, 13), account_number=element(bpr, 15)),
            payer_company_id=element(bpr, 10),
        )
    payment = Payment(
        amount=to_decimal(element(bpr, 2), "payment amount", "BPR"),
        method=method,
        date=_date(element(bpr, 16), "BPR"),
        trace_number=element(trn, 2),
        payer_tax_id=element(trn, 3)[1:],
        **banks,
    )
    cur.skip_unknown("N1")
    payer_name = cur.take("N1", "PR")[2]
    payer_address = Address(
        line1=(n3 := cur.take("N3"))[1],
        line2=element(n3, 2) or None,
        city=(n4 := cur.take("N4"))[1],
        state=element(n4, 2),
        zip=element(n4, 3),
    )
    refs: dict[str, str] = {}
    per: Segment = []
    while not cur.peek("N1"):
        seg = cur.next()
        if seg[0] == "REF":
            refs[element(seg, 1)] = element(seg, 2)
        elif seg[0] == "PER" and element(seg, 1) == "BL":
            per = seg
    payer = RemitPayer(
        name=payer_name,
        id=refs.get("2U", ""),
        address=payer_address,
        contact_name=element(per, 2),
        contact_phone=element(per, 4),
    )
    pe = cur.take("N1", "PE")
    tax_id = None
    while not cur.at_end() and not cur.peek("LX", "CLP", "PLB"):
        seg = cur.next()
        if seg[0] == "REF" and element(seg, 1) == "TJ":
            tax_id = element(seg, 2)
    payee = Payee(name=pe[2], npi=element(pe, 4), tax_id=tax_id)
    claims = []
    while cur.peek("LX", "TS3", "TS2", "CLP"):
        seg = cur.next()
        if seg[0] == "CLP":
            claims.append(_read_claim(seg, cur, sep))
    adjustments = []
    while cur.peek("PLB"):
        adjustments += _read_plb(cur.next(), sep)
    if not cur.at_end():
        raise cur.fail("unexpected segment")
    return Remittance(
        payment=payment, payer=payer, payee=payee, claims=tuple(claims), provider_adjustments=tuple(adjustments)
    )


_CLAIM_DATES = {"232": "statement_from", "233": "statement_to", "050": "received_date"}
_CLAIM_AMOUNTS = {"AU": "coverage_amount", "I": "interest"}
_MIA_REMARKS = (5, 20, 21, 22, 23)  # MIA05 and MIA20-23; MOA03-07 are 3..7


def _read_claim(clp: Segment, cur: Cursor, sep: Separators) -> ClaimPayment:
    adjustments: list[Adjustment] = []
    remarks: list[str] = []
    extra: dict[str, object] = {}
    patient = None
    while not cur.at_end() and not cur.peek("SVC", "CLP", "LX", "PLB"):
        seg = cur.next()
        if seg[0] == "CAS":
            adjustments += _read_cas(seg)
        elif seg[0] == "NM1" and element(seg, 1) == "QC":
            patient = Patient(last_name=seg[3], first_name=element(seg, 4) or None, member_id=element(seg, 9))
        elif seg[0] == "MOA":
            remarks += [element(seg, i) for i in range(3, 8) if element(seg, i)]
        elif seg[0] == "MIA":
            remarks += [element(seg, i) for i in _MIA_REMARKS if element(seg, i)]
        elif seg[0] == "DTM" and element(seg, 1) in _CLAIM_DATES:
            extra[_CLAIM_DATES[element(seg, 1)]] = _date(element(seg, 2), "DTM")
        elif seg[0] == "AMT" and element(seg, 1) in _CLAIM_AMOUNTS:
            extra[_CLAIM_AMOUNTS[element(seg, 1)]] = to_decimal(element(seg, 2), "claim amount", "AMT")
    services = []
    while cur.peek("SVC"):
        services.append(_read_service(cur.next(), cur, sep))
    return ClaimPayment(
        patient_control_number=clp[1],
        status=element(clp, 2),
        charge=to_decimal(element(clp, 3), "claim charge", "CLP"),
        paid=to_decimal(element(clp, 4), "claim payment", "CLP"),
        patient_responsibility=to_decimal(element(clp, 5) or "0", "patient responsibility", "CLP"),
        claim_filing_indicator=element(clp, 6),
        payer_claim_control_number=element(clp, 7),
        place_of_service=element(clp, 8) or None,
        frequency_code=element(clp, 9) or None,
        patient=patient,
        adjustments=tuple(adjustments),
        services=tuple(services),
        remark_codes=tuple(remarks),
        **extra,
    )


def _read_service(svc: Segment, cur: Cursor, sep: Separators) -> ServicePayment:
    procedure = components(svc[1], sep)
    if procedure[0] not in ("HC", "AD", "ER", "WK"):  # medical procedure code qualifiers
        raise cur.fail("unsupported SVC procedure qualifier")
    adjustments: list[Adjustment] = []
    remarks: list[str] = []
    service_date = control = allowed = None
    while not cur.at_end() and not cur.peek("SVC", "CLP", "LX", "PLB"):
        seg = cur.next()
        if seg[0] == "CAS":
            adjustments += _read_cas(seg)
        elif seg[0] == "LQ" and element(seg, 1) == "HE":
            remarks.append(element(seg, 2))
        elif seg[0] == "DTM" and element(seg, 1) in ("472", "150"):
            service_date = _date(element(seg, 2), "DTM")
        elif seg[0] == "REF" and element(seg, 1) == "6R":
            control = element(seg, 2)
        elif seg[0] == "AMT" and element(seg, 1) == "B6":
            allowed = to_decimal(element(seg, 2), "allowed amount", "AMT")
    return ServicePayment(
        procedure_code=procedure[1],
        modifiers=tuple(procedure[2:]),
        charge=to_decimal(element(svc, 2), "service charge", "SVC"),
        paid=to_decimal(element(svc, 3), "service payment", "SVC"),
        units=to_decimal(element(svc, 5) or "1", "units", "SVC"),
        service_date=service_date,
        adjustments=tuple(adjustments),
        control_number=control,
        allowed=allowed,
        remark_codes=tuple(remarks),
        **_original_procedure(svc, sep),
    )


def _original_procedure(svc: Segment, sep: Separators) -> dict[str, Any]:
    """SVC06/07: the billed code and units when the payer adjudicated another code or split the line."""
    original = components(element(svc, 6), sep) if element(svc, 6) else []
    result: dict[str, Any] = {}
    if len(original) > 1:
        result = dict(original_procedure_code=original[1], original_modifiers=tuple(m for m in original[2:6] if m))
    if element(svc, 7):
        result["original_units"] = to_decimal(element(svc, 7), "original units", "SVC")
    return result


def _read_cas(cas: Segment) -> list[Adjustment]:
    adjustments = []
    for i in range(2, len(cas), 3):
        if cas[i]:
            quantity = element(cas, i + 2)
            adjustments.append(
                Adjustment(
                    group=cas[1],
                    reason=cas[i],
                    amount=to_decimal(element(cas, i + 1), "adjustment", "CAS"),
                    quantity=to_decimal(quantity, "adjustment quantity", "CAS") if quantity else None,
                )
            )
    return adjustments


def _read_plb(plb: Segment, sep: Separators) -> list[ProviderAdjustment]:
    """One PLB holds up to six reason/amount pairs."""
    adjustments = []
    for i in range(3, len(plb), 2):
        if plb[i]:
            reason, *reference = components(plb[i], sep)
            adjustments.append(
                ProviderAdjustment(
                    provider_id=plb[1],
                    fiscal_period_end=_date(element(plb, 2), "PLB"),
                    reason=reason,
                    reference=reference[0] if reference else None,
                    amount=to_decimal(element(plb, i + 1), "provider adjustment", "PLB"),
                )
            )
    return adjustments
