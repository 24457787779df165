"""A/R's pure rules: denial categories, aging buckets, work priority and deadlines, underpayment,
the secondary payer's entries, the dunning schedule and the KPIs."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from services.ar_followup.domain.aging import OpenBalance, aging, bucket
from services.ar_followup.domain.denials import category, denial
from services.ar_followup.domain.dunning import Account, amount_due, next_statement
from services.ar_followup.domain.kpis import ClaimFacts, kpis
from services.ar_followup.domain.ledger import balances, by_party, posting_entries, secondary_entries
from services.ar_followup.domain.work import filing_deadline, priority, underpayment
from shared.contracts.events import PaymentPostedV1

ZERO = D("0.00")


def posting(
    paid="0", contractual="0", deductible="0", coinsurance="0", copay="0", denied=False, claim_adjustments=(), lines=()
) -> PaymentPostedV1:
    return PaymentPostedV1(
        posting_id=uuid.uuid4(),
        claim_id=uuid.uuid4(),
        payer_id="SIMBC",
        payer_name="SIM BLUE PLAN",
        claim_status_code="4" if denied else "1",
        denied=denied,
        payment_method="CHK",
        check_or_eft_number="T1",
        amounts={
            "charge": "180.00",
            "paid": paid,
            "contractual": contractual,
            "deductible": deductible,
            "coinsurance": coinsurance,
            "copay": copay,
            "other_patient_responsibility": "0",
            "other_adjustments": "0",
        },
        claim_adjustments=list(claim_adjustments),
        lines=list(lines),
        posted_at=datetime(2026, 3, 9, tzinfo=UTC),
    )


def co(reason: str, amount: str) -> dict:
    return {"group_code": "CO", "reason_code": reason, "amount": amount}


@pytest.mark.parametrize(
    "carc,expected",
    [
        ("16", "correctable"),
        ("50", "medical_necessity"),
        ("97", "bundling"),
        ("22", "other_payer_primary"),
        ("29", "timely_filing"),
        ("999", "other"),
    ],
)
def test_carc_categories(carc, expected):
    assert category(carc) == expected


def test_denial_ignores_the_contractual_cut_and_takes_the_largest_reason():
    line = lambda n, *adj: {
        "line_number": n,
        "procedure_code": "99214",
        "charge": "100.00",
        "paid": "0",
        "adjustments": list(adj),
    }
    refused = denial(
        posting(lines=[line(1, co("45", "40.00")), line(2, co("97", "60.00")), line(3, co("16", "20.00"))])
    )
    assert refused.category == "bundling" and refused.carc_codes == ("16", "97") and refused.amount == D("80.00")
    assert denial(posting(paid="60.00", contractual="40.00", lines=[line(1, co("45", "40.00"))])) is None


def test_a_line_denied_co16_without_prior_authorization_is_correctable():
    """SIMAETNA pays the visit and denies 71046 CO-16 when the claim has no REF*G1: the fix is a replacement."""
    visit = {
        "line_number": 1,
        "procedure_code": "99213",
        "charge": "110.00",
        "paid": "55.00",
        "adjustments": [co("45", "15.00"), {"group_code": "PR", "reason_code": "3", "amount": "40.00"}],
    }
    xray = {
        "line_number": 2,
        "procedure_code": "71046",
        "charge": "125.00",
        "paid": "0",
        "adjustments": [co("16", "125.00")],
    }
    refused = denial(posting(paid="55.00", contractual="140.00", copay="40.00", lines=[visit, xray]))
    assert (refused.category, refused.carc_codes, refused.amount) == ("correctable", ("16",), D("125.00"))


def test_aging_buckets_edges_and_groups():
    assert [bucket(d) for d in (0, 30, 31, 60, 61, 90, 91, 120, 121)] == [
        "0-30",
        "0-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "91-120",
        "91-120",
        "120+",
    ]
    today = date(2026, 6, 30)
    report = aging(
        [
            OpenBalance("SIMBC", date(2026, 6, 1), D("10.00")),
            OpenBalance("SIMBC", date(2026, 1, 1), D("5.50")),
            OpenBalance("SIMMCR", date(2026, 6, 29), ZERO),
        ],
        today,
    )
    assert report == {
        "SIMBC": {"0-30": "10.00", "31-60": "0.00", "61-90": "0.00", "91-120": "0.00", "120+": "5.50", "total": "15.50"}
    }


def test_priority_weighs_money_by_the_deadline():
    today = date(2026, 6, 1)
    near = priority(D("40.00"), date(2026, 6, 5), today)
    far = priority(D("100.00"), date(2026, 12, 1), today)
    assert near == D("120.00") and far == D("100.00") and near > far
    assert filing_deadline(date(2026, 1, 1), 90) == date(2026, 4, 1)
    assert filing_deadline(date(2026, 1, 1), None) == date(2026, 4, 1)


def test_underpayment_against_the_contracted_rate():
    line = {
        "line_number": 1,
        "procedure_code": "99214",
        "charge": "180.00",
        "paid": "80.00",
        "adjustments": [co("45", "80.00")],
    }
    paid = posting(paid="80.00", contractual="80.00", copay="20.00", lines=[line])
    assert underpayment(paid, {"99214": D("130.00")}, D("1.00")) == D("30.00")  # allowed 100 vs 130
    assert underpayment(paid, {"99214": D("100.50")}, D("1.00")) == ZERO  # within tolerance
    assert underpayment(paid, {}, D("1.00")) == ZERO


def test_secondary_payment_replaces_the_patient_part_and_still_balances():
    primary = posting(paid="95.00", contractual="50.00", deductible="20.00", copay="15.00")
    secondary = posting(paid="25.00", contractual="0", copay="5.00")
    totals: dict = {"charge": D("180.00")}
    for entries in (
        posting_entries(primary),
        secondary_entries(secondary, {"deductible": D("20.00"), "copay": D("15.00")}),
    ):
        for kind, amount in entries:
            totals[kind] = totals.get(kind, ZERO) + amount
    balance = balances(totals)
    assert balance.paid == D("120.00") and balance.patient_responsibility == D("5.00")
    assert balance.adjusted == D("55.00") and balance.insurance_balance == ZERO
    assert by_party(balance, "primary", secondary_pending=False) == {
        "primary": ZERO,
        "secondary": ZERO,
        "patient": D("5.00"),
    }
    pending = balances({"charge": D("180.00"), **dict(posting_entries(primary))})
    assert by_party(pending, "primary", secondary_pending=True)["secondary"] == D("35.00")


def test_dunning_schedule():
    first = date(2026, 1, 1)
    account = lambda stage, **kw: Account(D("50.00"), True, first, stage, first, **kw)
    assert next_statement(Account(D("50.00"), True, None, None, None), first) == "first"
    assert next_statement(Account(D("50.00"), False, None, None, None), first) is None  # insurance not done
    assert next_statement(Account(ZERO, True, None, None, None), first) is None
    assert next_statement(account("first"), date(2026, 1, 30)) is None
    assert next_statement(account("first"), date(2026, 1, 31)) == "reminder_30"
    assert next_statement(account("reminder_30"), date(2026, 3, 2)) == "reminder_60"
    assert next_statement(account("reminder_60"), date(2026, 4, 1)) == "reminder_90"
    assert next_statement(account("reminder_90"), date(2026, 5, 1)) == "final_notice"
    assert next_statement(account("final_notice"), date(2026, 5, 31)) == "collections"
    assert next_statement(account("collections"), date(2027, 1, 1)) is None
    assert next_statement(account("first"), date(2026, 4, 15)) == "reminder_90"  # missed stages are not sent late
    plan = account("first", plan_installment=D("20.00"))
    assert next_statement(plan, date(2026, 1, 31)) == "plan" and amount_due(plan) == D("20.00")
    assert next_statement(plan, date(2026, 1, 20)) is None


def test_kpis():
    facts = [
        ClaimFacts(
            "SIMBC",
            date(2026, 1, 2),
            date(2026, 1, 3),
            D("100.00"),
            D("60.00"),
            D("40.00"),
            ZERO,
            True,
            False,
            True,
            (),
            date(2026, 1, 13),
        ),
        ClaimFacts(
            "SIMBC",
            date(2026, 1, 5),
            date(2026, 1, 6),
            D("200.00"),
            ZERO,
            D("200.00"),
            ZERO,
            True,
            True,
            False,
            ("16",),
            None,
        ),
        ClaimFacts(
            "SIMMCR",
            date(2025, 9, 1),
            date(2026, 1, 10),
            D("100.00"),
            ZERO,
            ZERO,
            D("100.00"),
            False,
            False,
            False,
            (),
            None,
        ),
    ]
    result = kpis(facts, date(2026, 1, 1), date(2026, 1, 10), date(2026, 1, 10))
    assert result["period"]["claims"] == 3
    assert result["clean_claim_rate"] == "66.7" and result["first_pass_resolution_rate"] == "50.0"
    assert result["denial_rate"] == "50.0" and result["denial_rate_by_reason"] == {"16": "50.0"}
    assert result["net_collection_rate"] == "37.5"  # 60 / (400 - 240)
    assert result["days_in_ar"] == "2.5"  # 100 open / (400 / 10 days)
    assert result["ar_over_90_percent"] == "100.0" and result["average_days_to_pay"] == {"SIMBC": "10.0"}
