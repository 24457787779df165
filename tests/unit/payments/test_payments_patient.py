"""Applying patient payments to open balances, and refunds."""

import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.payments.domain.patient_payments import OpenBalance, PatientPaymentError, apply_payment, plan_refund

D = Decimal
OLD, MID, NEW = (uuid.UUID(int=n) for n in (1, 2, 3))
BALANCES = [
    OpenBalance(NEW, date(2026, 3, 1), D("40.00")),
    OpenBalance(OLD, date(2026, 1, 5), D("25.00")),
    OpenBalance(MID, date(2026, 2, 1), D("0.00")),
]


def test_oldest_first_and_the_rest_is_credit():
    assert apply_payment(D("50.00"), BALANCES) == [(OLD, D("25.00")), (NEW, D("25.00"))]
    assert apply_payment(D("100.00"), BALANCES) == [(OLD, D("25.00")), (NEW, D("40.00"))]  # 35.00 left as credit
    assert apply_payment(D("10.00"), BALANCES) == [(OLD, D("10.00"))]
    assert apply_payment(D("10.00"), []) == []


def test_a_chosen_claim_only():
    assert apply_payment(D("30.00"), BALANCES, NEW) == [(NEW, D("30.00"))]
    assert apply_payment(D("90.00"), BALANCES, NEW) == [(NEW, D("40.00"))]
    with pytest.raises(PatientPaymentError) as refused:
        apply_payment(D("5.00"), BALANCES, uuid.UUID(int=9))
    assert refused.value.field == "claim_id"


def test_a_negative_balance_takes_nothing():
    assert apply_payment(D("5.00"), [OpenBalance(OLD, date(2026, 1, 1), D("-3.00"))]) == []


def test_refund_comes_from_credit_first_then_the_latest_claim():
    applied = [(OLD, D("25.00")), (NEW, D("40.00"))]  # a payment of 100.00: 35.00 credit
    assert plan_refund(D("30.00"), D("100.00"), D("35.00"), applied) == []
    assert plan_refund(D("50.00"), D("100.00"), D("35.00"), applied) == [(NEW, D("-15.00"))]
    assert plan_refund(D("100.00"), D("100.00"), D("35.00"), applied) == [(NEW, D("-40.00")), (OLD, D("-25.00"))]


def test_refund_of_more_than_is_left_is_refused():
    with pytest.raises(PatientPaymentError) as refused:
        plan_refund(D("100.01"), D("100.00"), D("0.00"), [(OLD, D("100.00"))])
    assert refused.value.field == "amount"
