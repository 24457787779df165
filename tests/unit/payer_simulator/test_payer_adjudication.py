from datetime import date
from decimal import Decimal

import pytest

from payer_simulator.domain.adjudication import adjudicate, denial_reason
from payer_simulator.domain.contracts import Contract, load_contracts
from x12.claim import Claim, ServiceLine
from x12.samples import PAYERS, sample_claim, sample_interchange

D = Decimal
CONTRACT = load_contracts()["SIMBC"].model_copy(
    update={
        "fee_schedule": {"99213": D("90.00"), "71046": D("40.00"), "36415": D("8.00")},
        "default_allowed_percent": D("0.50"),
        "annual_deductible": D("100.00"),
        "coinsurance_rate": D("0.20"),
        "office_visit_copay": D("25.00"),
    }
)


def pcn_where(reason):
    return next(p for p in (f"T{i}" for i in range(10_000)) if denial_reason(p) == reason)


def claim(*lines, pcn=None):
    """A claim of (procedure code, charge) lines for member M1 of SIMBC, not denied unless `pcn` says so."""
    service_lines = tuple(
        ServiceLine(
            line_number=i,
            procedure_code=code,
            units=D(1),
            charge=D(charge),
            diagnosis_pointers=(1,),
            service_date=date(2026, 3, 1),
            place_of_service="11",
            control_number=f"L{i}",
        )
        for i, (code, charge) in enumerate(lines, start=1)
    )
    base = sample_claim(0, payer=PAYERS[0], member=1)
    return Claim.model_validate(
        base.model_dump()
        | {
            "patient_control_number": pcn or pcn_where(None),
            "lines": service_lines,
            "total_charge": sum(line.charge for line in service_lines),
        }
    )


def adjustments(service):
    return {f"{a.group}-{a.reason}": a.amount for a in service.adjustments}


def assert_balanced(payment):
    for s in payment.services:
        assert s.charge == s.paid + sum(a.amount for a in s.adjustments)
    assert payment.charge == payment.paid + sum(a.amount for s in payment.services for a in s.adjustments)
    assert payment.patient_responsibility == sum(
        a.amount for s in payment.services for a in s.adjustments if a.group == "PR"
    )


def test_deductible_partially_met_across_two_claims_of_one_member():
    first = adjudicate(claim(("71046", "100")), CONTRACT, D("30.00"), "C1")
    [line] = first.payment.services
    # allowed 40 -> CO-45 60; deductible left 70 takes all 40
    assert adjustments(line) == {"CO-45": D("60.00"), "PR-1": D("40.00")} and line.paid == 0
    assert first.deductible_met == D("70.00")

    second = adjudicate(claim(("71046", "100")), CONTRACT, first.deductible_met, "C2")
    [line] = second.payment.services
    # 30 of deductible left, then 20% of the remaining 10
    assert adjustments(line) == {"CO-45": D("60.00"), "PR-1": D("30.00"), "PR-2": D("2.00")}
    assert line.paid == D("8.00") and second.deductible_met == D("100.00")
    assert_balanced(first.payment)
    assert_balanced(second.payment)


def test_office_visit_pays_the_copay_once_per_claim():
    result = adjudicate(claim(("99213", "150"), ("99213", "150")), CONTRACT, D("100.00"), "C1")
    visit, second = result.payment.services

    assert adjustments(visit) == {"CO-45": D("60.00"), "PR-3": D("25.00")} and visit.paid == D("65.00")
    assert adjustments(second) == {"CO-45": D("60.00"), "PR-2": D("18.00")} and second.paid == D("72.00")
    assert result.payment.status == "1"
    assert result.payment.patient_responsibility == D("43.00")
    assert_balanced(result.payment)


def test_coinsurance_after_the_deductible_is_met_rounds_half_up():
    result = adjudicate(claim(("99999", "100.05")), CONTRACT, D("100.00"), "C1")
    [line] = result.payment.services

    # default 50% of 100.05 = 50.025 -> 50.03 allowed; 20% coinsurance = 10.006 -> 10.01
    assert line.allowed == D("50.03")
    assert adjustments(line) == {"CO-45": D("50.02"), "PR-2": D("10.01")} and line.paid == D("40.02")
    assert_balanced(result.payment)


def test_allowed_is_never_more_than_the_charge():
    result = adjudicate(claim(("99213", "50")), CONTRACT, D("100.00"), "C1")
    [line] = result.payment.services

    assert line.allowed == D("50") and "CO-45" not in adjustments(line)


def test_anesthesia_minutes_are_priced_as_a_share_of_the_charge_not_as_units():
    by_minutes = claim(("99213", "300"))
    line = by_minutes.lines[0].model_copy(update={"unit_basis": "MJ", "units": D(61)})
    by_minutes = by_minutes.model_copy(update={"lines": (line,)})

    [service] = adjudicate(by_minutes, CONTRACT, D("100.00"), "C1").payment.services

    assert service.allowed == D("150.00")  # 50 % of the charge; 61 x the unit fee would be the whole charge
    assert_balanced(adjudicate(by_minutes, CONTRACT, D("100.00"), "C1").payment)


@pytest.mark.parametrize("reason", ["16", "50", "29"])
def test_a_denied_claim_writes_off_every_line(reason):
    result = adjudicate(claim(("99213", "150"), ("36415", "20"), pcn=pcn_where(reason)), CONTRACT, D(0), "C1")

    assert result.payment.status == "4" and result.payment.paid == 0
    assert [adjustments(s) for s in result.payment.services] == [{f"CO-{reason}": D("150")}, {f"CO-{reason}": D("20")}]
    assert result.deductible_met == 0
    assert_balanced(result.payment)


def test_a_bundled_procedure_denies_only_the_last_line():
    result = adjudicate(claim(("99213", "150"), ("36415", "20"), pcn=pcn_where("97")), CONTRACT, D("100"), "C1")
    visit, bundled = result.payment.services

    assert result.payment.status == "1"
    assert visit.paid == D("65.00") and adjustments(bundled) == {"CO-97": D("20")} and bundled.paid == 0
    assert_balanced(result.payment)


def test_a_zero_charge_line_has_no_adjustments():
    result = adjudicate(claim(("36415", "0"), ("71046", "100")), CONTRACT, D("100"), "C1")
    zero, _ = result.payment.services

    assert zero.paid == 0 and zero.adjustments == ()
    assert_balanced(result.payment)


def test_denials_are_stable_and_about_one_in_fifteen():
    pcns = [f"PCN{n:08d}" for n in range(3000)]
    denied = [p for p in pcns if denial_reason(p)]

    assert denied == [p for p in pcns if denial_reason(p)]
    assert 150 < len(denied) < 250
    assert {denial_reason(p) for p in denied} == {"16", "50", "97", "29"}


def test_every_line_of_many_claims_balances():
    contracts = load_contracts()
    for c in sample_interchange(300, 3).claims:
        assert_balanced(adjudicate(c, contracts[c.payer.id], D("0"), "C").payment)


def test_contracts_file_has_the_sample_payers():
    assert {"SIMBC", "SIMAETNA", "SIMMCR"} <= load_contracts().keys()
    assert isinstance(CONTRACT, Contract)
