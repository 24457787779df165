"""payment.posted tells analysts how to count each encounter's money once: the kind of the claim
paid, the claim it follows, the encounters it bills, and whether its charge is new or repeated."""

import dataclasses
import uuid

import pytest

from tests.unit.payments.test_payments_posting import PAID, adjudicated, build

ORIGINAL = uuid.UUID("6b1f1c1e-0d7c-4c59-9f1e-2a4b8c0d9e10")


@pytest.mark.parametrize(
    ("kind", "charge_is_new"), [("original", True), ("replacement", True), ("secondary", False), ("void", False)]
)
def test_a_posting_carries_its_claims_kind_and_whether_its_charge_counts(kind, charge_is_new):
    remittance, payment, known = adjudicated(PAID)
    follows = None if kind == "original" else ORIGINAL
    known = dataclasses.replace(known, kind=kind, original_claim_id=follows, encounter_ids=(PAID, "ENC-LAB"))
    posted = build(remittance, payment, known)
    assert (posted.claim_kind, posted.original_claim_id, posted.charge_is_new) == (kind, follows, charge_is_new)
    assert posted.encounter_ids == [PAID, "ENC-LAB"]
    assert posted.amounts.charge == payment.charge  # the amounts stay the payer's
