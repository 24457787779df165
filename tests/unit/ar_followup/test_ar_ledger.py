"""The claim ledger: entries from a posting, balances, and the claim's A/R status."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from services.ar_followup.domain.ledger import Balances, balances, posting_entries, reopened_denial_reversed, status
from shared.contracts.events import Adjustment, AmountsByCategory, PaymentPostedV1

D = Decimal
ZERO = D("0.00")


def posting(denied=False, **amounts) -> PaymentPostedV1:
    values = (
        dict(
            charge=D("180.00"),
            paid=ZERO,
            contractual=ZERO,
            deductible=ZERO,
            coinsurance=ZERO,
            copay=ZERO,
            other_patient_responsibility=ZERO,
            other_adjustments=ZERO,
        )
        | amounts
    )
    return PaymentPostedV1(
        posting_id=uuid.uuid4(),
        claim_id=uuid.UUID(int=5),
        payer_id="SIMBC",
        payer_name="SIM BLUE PLAN",
        claim_status_code="4" if denied else "1",
        denied=denied,
        payment_method="CHK",
        check_or_eft_number="T1",
        payment_date=date(2026, 3, 9),
        date_of_service=date(2026, 3, 2),
        amounts=AmountsByCategory(**values),
        posted_at=datetime(2026, 3, 9, tzinfo=UTC),
    )


def totals(*entry_lists, charge: Decimal | None = None) -> dict[str, Decimal]:
    """What db.totals_by_kind returns: the sum per kind of every entry of the claim."""
    result: dict[str, Decimal] = {}
    if charge is not None:
        result["charge"] = charge
    for entries in entry_lists:
        for kind, amount in entries:
            result[kind] = result.get(kind, ZERO) + amount
    return result


FULLY_PAID = posting(paid=D("95.00"), contractual=D("50.00"), copay=D("25.00"), coinsurance=D("10.00"))
DENIED = posting(denied=True, contractual=D("180.00"))


def test_posting_entries_one_per_nonzero_category():
    entries = posting_entries(
        posting(
            paid=D("60.00"),
            contractual=D("50.00"),
            deductible=D("40.00"),
            coinsurance=D("10.00"),
            copay=D("15.00"),
            other_patient_responsibility=D("3.00"),
            other_adjustments=D("2.00"),
        )
    )
    assert sorted(entries) == sorted(
        [
            ("payment", D("60.00")),
            ("contractual", D("50.00")),
            ("deductible", D("40.00")),
            ("coinsurance", D("10.00")),
            ("copay", D("15.00")),
            ("other_patient", D("3.00")),
            ("other_adjustment", D("2.00")),
        ]
    )


def test_posting_entries_skip_zero_amounts_and_never_repeat_the_charge():
    entries = posting_entries(FULLY_PAID)
    assert dict(entries) == {
        "payment": D("95.00"),
        "contractual": D("50.00"),
        "copay": D("25.00"),
        "coinsurance": D("10.00"),
    }
    assert len(entries) == 4  # the charge comes from claim.submitted, once


def test_posting_entries_keep_negative_reversal_amounts():
    assert dict(posting_entries(posting(paid=D("-95.00"), contractual=D("-50.00")))) == {
        "payment": D("-95.00"),
        "contractual": D("-50.00"),
    }


def test_submitted_but_not_adjudicated_is_open_with_the_whole_charge_on_insurance():
    balance = balances(totals(charge=D("180.00")))
    assert balance == Balances(D("180.00"), ZERO, ZERO, ZERO, D("180.00"))
    assert status(submitted=True, adjudicated=False, denied=False, balance=balance) == "open"


def test_fully_paid_claim():
    balance = balances(totals(posting_entries(FULLY_PAID), charge=D("180.00")))
    assert balance.paid == D("95.00") and balance.adjusted == D("50.00")
    assert balance.patient_responsibility == D("35.00")
    assert balance.insurance_balance == ZERO
    assert (
        balance.charge == balance.paid + balance.adjusted + balance.patient_responsibility + balance.insurance_balance
    )
    assert status(True, True, False, balance) == "paid"


def test_other_adjustments_reduce_the_insurance_balance():
    paid = posting(paid=D("100.00"), contractual=D("60.00"), other_adjustments=D("20.00"))
    balance = balances(totals(posting_entries(paid), charge=D("180.00")))
    assert balance.adjusted == D("80.00") and balance.insurance_balance == ZERO


def test_short_paid_claim_is_partially_paid():
    short = posting(paid=D("95.00"), contractual=D("50.00"))
    balance = balances(totals(posting_entries(short), charge=D("180.00")))
    assert balance.insurance_balance == D("35.00")
    assert status(True, True, False, balance) == "partially_paid"


def test_denied_claim():
    balance = balances(totals(posting_entries(DENIED), charge=D("180.00")))
    assert balance.paid == ZERO and balance.adjusted == D("180.00") and balance.insurance_balance == ZERO
    assert status(True, True, True, balance) == "denied"


def test_payment_before_the_claim_awaits_the_claim():
    balance = balances(totals(posting_entries(FULLY_PAID)))  # no charge entry yet
    assert balance.charge == ZERO and balance.insurance_balance == D("-180.00")
    assert status(submitted=False, adjudicated=True, denied=False, balance=balance) == "awaiting_claim"


def test_payment_then_claim_in_either_order_gives_the_same_balances():
    claim_first = balances(totals([("charge", D("180.00"))], posting_entries(FULLY_PAID)))
    payment_first = balances(totals(posting_entries(FULLY_PAID), [("charge", D("180.00"))]))
    assert claim_first == payment_first and status(True, True, False, payment_first) == "paid"


def test_reversal_reopens_the_balance():
    reversal = posting(paid=D("-95.00"), contractual=D("-50.00"), copay=D("-25.00"), coinsurance=D("-10.00"))
    balance = balances(totals(posting_entries(FULLY_PAID), posting_entries(reversal), charge=D("180.00")))
    assert balance.insurance_balance == D("180.00") and balance.paid == ZERO and balance.adjusted == ZERO


def test_empty_ledger():
    assert balances({}) == Balances(ZERO, ZERO, ZERO, ZERO, ZERO)


def test_a_reversal_of_a_denial_a_r_reopened_cancels_a_r_s_own_reversal_once():
    refused = {"group_code": "CO", "reason_code": "16", "amount": "-180.00"}
    cut = {"group_code": "CO", "reason_code": "45", "amount": "-20.00"}
    reversal = posting(contractual=D("-200.00")).model_copy(
        update={
            "outcome": "reversed",
            "claim_status_code": "22",
            "claim_adjustments": [Adjustment(**refused), Adjustment(**cut)],
        }
    )
    assert reopened_denial_reversed(reversal, D("-180.00")) == D("180.00")  # A/R's undo is undone
    assert reopened_denial_reversed(reversal, D("-100.00")) == D("100.00")  # never more than A/R booked
    assert reopened_denial_reversed(reversal, ZERO) == ZERO  # nothing reopened: the payer's reversal stands
    assert reopened_denial_reversed(posting(contractual=D("180.00")), D("-180.00")) == ZERO  # not a reversal
