from datetime import date, datetime
from decimal import Decimal

import pytest

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
from x12.samples import npi
from x12.types import Address
from x12.validate import validate_x12
from x12.x835 import parse_835, render_835

D = Decimal
PAYER = RemitPayer(
    name="SIM BLUE PLAN",
    id="SIMBC",
    contact_name="EDI SUPPORT",
    contact_phone="5555550101",
    address=Address(line1="10 SIMULATED PLAZA", city="CHICAGO", state="IL", zip="60601"),
)
PAYEE = Payee(name="SAMPLE CLINIC", npi=npi(1), tax_id="123456780")


def service(charge, paid, *adjustments, code="99213", control="L1"):
    return ServicePayment(
        procedure_code=code,
        modifiers=("25",),
        charge=D(charge),
        paid=D(paid),
        service_date=date(2026, 1, 5),
        control_number=control,
        allowed=D(paid),
        adjustments=tuple(Adjustment(group=g, reason=r, amount=D(a)) for g, r, a in adjustments),
    )


def claim(pcn="PCN1", status="1", sign=1, services=None):
    services = services or (
        service("100", "60", ("CO", "45", "20"), ("PR", "1", "15"), ("PR", "2", "5")),
        service("50", "0", ("CO", "97", "50"), code="36415", control="L2"),
    )
    if sign < 0:  # a reversal repeats the claim with every amount negated
        services = tuple(
            s.model_copy(
                update={
                    "charge": -s.charge,
                    "paid": -s.paid,
                    "adjustments": tuple(a.model_copy(update={"amount": -a.amount}) for a in s.adjustments),
                }
            )
            for s in services
        )
    return ClaimPayment(
        patient_control_number=pcn,
        status=status,
        charge=sum(s.charge for s in services),
        paid=sum(s.paid for s in services),
        patient_responsibility=D(20 * sign),
        claim_filing_indicator="12",
        payer_claim_control_number="SIMX1",
        place_of_service="11",
        frequency_code="1",
        patient=Patient(last_name="SAMPLE", first_name="ALEX", member_id="M1"),
        services=services,
    )


def interchange(*claims, plb=(), method="CHK", **payment):
    total = sum(c.paid for c in claims) - sum(p.amount for p in plb)
    remittance = Remittance(
        payment=Payment(
            amount=total,
            method=method,
            date=date(2026, 2, 1),
            trace_number="TRACE1",
            payer_tax_id="990000001",
            **payment,
        ),
        payer=PAYER,
        payee=PAYEE,
        claims=claims,
        provider_adjustments=plb,
    )
    return Interchange835(
        sender_id="SIMCH",
        receiver_id="OPENRCM",
        control_number=7,
        group_control_number=7,
        created=datetime(2026, 2, 1, 8, 0),
        usage="T",
        remittances=(remittance,),
    )


def test_835_is_valid_and_reads_back_equal():
    ix = interchange(claim("PCN1"), claim("PCN2"))
    text = render_835(ix)

    assert validate_x12(text) == []
    assert parse_835(text) == ix


def test_reversal_and_provider_adjustment_balance():
    plb = (
        ProviderAdjustment(
            provider_id=PAYEE.npi,
            fiscal_period_end=date(2026, 12, 31),
            reason="WO",
            reference="SIMX0",
            amount=D("12.5"),
        ),
    )
    ix = interchange(claim("PCN1", status="22", sign=-1), claim("PCN1"), claim("PCN3"), plb=plb)
    text = render_835(ix)

    assert "BPR*I*47.5*C*CHK" in text  # 60 - 60 + 60 - 12.50
    assert validate_x12(text) == []
    assert parse_835(text) == ix


def ach_payment() -> Interchange835:
    return interchange(
        claim(),
        method="ACH",
        payer_company_id="1990000001",
        payer_bank=BankAccount(routing_number="011000015", account_number="12345"),
        payee_bank=BankAccount(routing_number="021000021", account_number="98765"),
    )


def test_ach_payment_is_valid():
    ix = ach_payment()
    text = render_835(ix)

    assert validate_x12(text) == []
    assert parse_835(text) == ix


def test_more_than_six_reasons_of_a_group_split_into_two_cas_segments():
    reasons = [("CO", str(r), "1") for r in (4, 11, 16, 18, 22, 29, 45)]
    ix = interchange(claim(services=(service("17", "10", *reasons),)))
    text = render_835(ix)

    assert text.count("CAS*CO*") == 2
    assert validate_x12(text) == []
    assert parse_835(text) == ix


def test_render_refuses_an_unbalanced_remittance():
    bad = claim().model_copy(update={"paid": D("61")})
    with pytest.raises(X12Error, match="claim 1"):
        render_835(interchange(bad))


def _good_text():
    return render_835(interchange(claim()))


def test_bank_numbers_padded_with_spaces_are_read_and_a_bad_one_is_refused_by_its_element():
    ix = ach_payment()
    text = render_835(ix)

    assert parse_835(text.replace("*01*011000015*", "*01* 011000015*")) == ix
    with pytest.raises(X12Error) as refused:
        parse_835(text.replace("*01*011000015*", "*01*01.000015*"))
    [issue] = refused.value.issues
    assert (issue.segment_id, issue.element) == ("BPR", 7)
    assert "payer_bank.routing_number (BPR07): string should match pattern '^[0-9A-Za-z]{3,12}$'" in str(issue)


def test_reader_rejects_a_wrong_se_count():
    text = _good_text().replace("SE*", "SE*1")
    with pytest.raises(X12Error, match="SE01 says"):
        parse_835(text)


def test_reader_rejects_an_unbalanced_claim():
    text = _good_text().replace("CLP*PCN1*1*150*60*", "CLP*PCN1*1*150*70*").replace("BPR*I*60*", "BPR*I*70*")
    with pytest.raises(X12Error, match="CLP03 - CLP04 differs"):
        parse_835(text)


def test_reader_rejects_an_unbalanced_service():
    text = _good_text().replace("CAS*CO*45*20~", "CAS*CO*45*21~")
    with pytest.raises(X12Error, match="SVC02 - SVC03 differs"):
        parse_835(text)


def test_reader_rejects_a_payment_total_that_is_not_the_sum():
    text = _good_text().replace("BPR*I*60*", "BPR*I*65*")
    with pytest.raises(X12Error, match="BPR02 65.00 is not the sum"):
        parse_835(text)


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t[:30] + t[31:],  # ISA one character short
        lambda t: "GS" + t[2:],
        lambda t: t.replace("IEA*1*000000007", "IEA*1*000000008"),
        lambda t: t.replace("GE*1*7", "GE*2*7"),
    ],
)
def test_reader_rejects_a_bad_envelope(damage):
    with pytest.raises(X12Error):
        parse_835(damage(_good_text()))


def test_reader_refuses_an_837():
    from x12.samples import sample_interchange
    from x12.x837p import render_837p

    with pytest.raises(X12Error, match="not HP 005010X221A1"):
        parse_835(render_837p(sample_interchange(1)))


def test_reading_pauses_the_cyclic_collector_and_leaves_it_as_it_was(monkeypatch):
    import gc

    import x12.x835 as module

    seen, real = [], module.read_sets
    monkeypatch.setattr(module, "read_sets", lambda *args: seen.append(gc.isenabled()) or real(*args))
    try:
        assert gc.isenabled()
        parse_835(_good_text())
        with pytest.raises(X12Error):
            parse_835(_good_text().replace("SE*", "SE*1"))
        assert gc.isenabled()  # after a refusal too
        gc.disable()
        parse_835(_good_text())
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
    assert seen == [False, False, False]
