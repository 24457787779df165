"""The 835 reader on a hand-written remittance that holds every case payments must post: every
CLP02 status, CAS at claim and line level in every group with several reasons in one segment,
SVC modifiers, bundled and unbundled lines, DTM/AMT/MOA/LQ, PLB, two transactions (check and EFT)."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from x12.errors import X12Error
from x12.validate import validate_x12
from x12.x835 import parse_835, render_835

D = Decimal
TEXT = (Path(__file__).parents[1] / "payments" / "eras" / "every-case.835.x12").read_text()


def claims_by_status():
    """The first claim of each status."""
    found = {}
    for claim in (c for r in parse_835(TEXT).remittances for c in r.claims):
        found.setdefault(claim.status, claim)
    return found


def test_the_file_is_valid_and_every_claim_status_is_read():
    assert validate_x12(TEXT) == []
    ix = parse_835(TEXT)
    assert len(ix.remittances) == 2
    statuses = [c.status for r in ix.remittances for c in r.claims]
    assert set(statuses) >= {"1", "2", "3", "4", "19", "20", "21", "22", "23"}


def test_payment_header_check_and_eft():
    check, eft = parse_835(TEXT).remittances
    assert (check.payment.method, check.payment.trace_number, check.payment.amount) == ("CHK", "CHK10001", D("425"))
    assert (eft.payment.method, eft.payment.trace_number, eft.payment.amount) == ("ACH", "EFT20001", D("62"))
    assert eft.payment.payer_bank.routing_number == "011000015" and eft.payment.payee_bank.account_number == "98765"
    assert check.payer.id == "SIMBC" and check.payee.npi == "1000000012" and check.payee.tax_id == "123456780"
    assert check.payment.date == date(2026, 3, 10)


def test_claim_dates_amounts_and_remarks():
    paid = claims_by_status()["1"]
    assert paid.patient_control_number == "PCNA1"
    assert (paid.statement_from, paid.statement_to, paid.received_date) == (date(2026, 3, 2),) * 2 + (date(2026, 3, 5),)
    assert paid.coverage_amount == D("220") and paid.remark_codes == ("MA01", "N130")
    first, second = paid.services
    assert (first.procedure_code, first.modifiers, first.control_number, first.allowed) == (
        "99214",
        ("25",),
        "1",
        D("170"),
    )
    # several reasons of one group in one CAS segment, with a quantity on the first
    assert [(a.group, a.reason, a.amount, a.quantity) for a in first.adjustments] == [
        ("CO", "45", D("30"), None),
        ("PR", "1", D("40"), D("1")),
        ("PR", "3", D("30"), None),
    ]
    assert second.remark_codes == ("N59",)


def test_claim_level_adjustments_in_every_group():
    groups = {a.group for c in claims_by_status().values() for a in c.adjustments}
    line_groups = {a.group for c in claims_by_status().values() for s in c.services for a in s.adjustments}
    assert groups | line_groups == {"CO", "PR", "OA", "PI"}
    secondary = claims_by_status()["2"]
    assert [(a.group, a.reason) for a in secondary.adjustments] == [("PI", "94")]


def test_denial_reversal_and_correction():
    ix = parse_835(TEXT)
    denied = claims_by_status()["4"]
    assert denied.paid == 0 and denied.remark_codes == ("M15",)
    assert denied.services[0].units == D("2") and denied.services[0].remark_codes == ("N115",)
    pcnh = [c for c in ix.remittances[0].claims if c.patient_control_number == "PCNH1"]
    reversal, corrected = pcnh
    assert (reversal.status, reversal.charge, reversal.paid) == ("22", D("-100"), D("-80"))
    assert reversal.adjustments[0].amount == D("-20")
    assert (corrected.status, corrected.paid, corrected.frequency_code) == ("1", D("90"), "7")


def test_bundled_and_unbundled_lines():
    (unbundled_claim,) = [c for c in parse_835(TEXT).remittances[0].claims if c.patient_control_number == "PCNJ1"]
    split_a, split_b, paid, bundled = unbundled_claim.services
    assert (split_a.original_procedure_code, split_b.original_procedure_code) == ("80053", "80053")
    assert split_a.control_number == split_b.control_number == "1"
    assert (bundled.procedure_code, bundled.paid, bundled.adjustments[0].reason) == ("36415", 0, "97")
    assert paid.original_procedure_code is None


def test_provider_level_adjustments():
    eft = parse_835(TEXT).remittances[1]
    assert [(p.reason, p.reference, p.amount) for p in eft.provider_adjustments] == [
        ("WO", "SIMICN0000", D("12.5")),
        ("L6", None, D("-2.5")),
    ]
    assert eft.payment.amount == sum(c.paid for c in eft.claims) - sum(p.amount for p in eft.provider_adjustments)


def test_what_is_read_renders_back_to_the_same_remittance():
    ix = parse_835(TEXT)
    text = render_835(ix)
    assert validate_x12(text) == []
    assert parse_835(text) == ix


def test_institutional_mia_remarks_are_read():
    text = _swap("MOA***M15~", "MIA*0****M15~")
    denied = {c.status: c for c in parse_835(text).remittances[0].claims}["4"]
    assert denied.remark_codes == ("M15",)


def _swap(old: str, new: str, text: str = TEXT) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: _swap("IEA*1*000000101", "IEA*1*000000102", t), "IEA"),
        (lambda t: _swap("GE*2*101", "GE*1*101", t), "GE does not count"),
        (lambda t: _swap("SE*19*0002", "SE*18*0002", t), "SE01 says"),
        (lambda t: _swap("GS*HP", "GS*HC", t), "not HP 005010X221A1"),
        (lambda t: _swap("BPR*I*425*", "BPR*I*426*", t), "BPR02 .* is not the sum"),
        (lambda t: _swap("CAS*PR*1*40*1*3*30~", "CAS*PR*1*40*1*3*31~", t), "SVC02 - SVC03 differs"),
        (lambda t: _swap("CLP*PCNF1*20*50*40", "CLP*PCNF1*20*50*41", t), "CLP03 - CLP04 differs"),
        (
            lambda t: _swap(
                "PLB*1000000012*20261231*WO:SIMICN0000*12.5", "PLB*1000000012*20261231*WO:SIMICN0000*12", t
            ),
            "BPR02 .* is not the sum",
        ),
        (lambda t: _swap("CLP*PCNA1*1*", "CLP*PCNA1*9*", t), "status"),
        (lambda t: _swap("CAS*CO*45*30~", "CAS*XX*45*30~", t), "group"),
        (lambda t: _swap("SVC*HC:99214:25*200*", "SVC*HC:99214:25*2O0*", t), "not a number"),
        (lambda t: _swap("DTM*232*20260302", "DTM*232*20261302", t), "not a date"),
        (lambda t: t[: t.index("SE*95")], "IEA"),
    ],
)
def test_a_damaged_file_is_refused_with_a_clear_reason(damage, message):
    with pytest.raises(X12Error, match=message):
        parse_835(damage(TEXT))


def test_reasons_never_quote_patient_data():
    damaged = _swap("NM1*QC*1*SAMPLE*ALEX****MI*M1~", "NM1*QC*1*SAMPLE*ALEX****MI*M 1 ~ ~", TEXT)
    try:
        parse_835(damaged)
    except X12Error as exc:
        assert "SAMPLE" not in str(exc) and "ALEX" not in str(exc)
