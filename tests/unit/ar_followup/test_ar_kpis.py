"""The KPIs' facts folded from the topics (what the analysts' example does), with A/R's posting rules:
an encounter's charge counted once whatever claims billed it, a secondary payer's adjustments and
CARC 23 kept out of the claim's own payer's figures, a replacement's charge and a void's zero."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.ar_followup.domain.kpis import Fold, kpis
from shared.contracts.events import Adjustment, ClaimSubmittedV1, PatientPaymentApplication, PaymentPostedV1
from shared.contracts.examples import example

D = Decimal
ORIGINAL = example("claim.submitted.v1")
POSTED = example("payment.posted.v1")  # 265.00: paid 148.40, CO-45 60.00, PR 56.60 (coinsurance 36.60, copay 20)
T0 = datetime(2026, 12, 10, 12, tzinfo=UTC)


def claim(kind: str, claim_id: uuid.UUID, original: uuid.UUID | None = None, **changes) -> ClaimSubmittedV1:
    return ORIGINAL.model_copy(update={"kind": kind, "claim_id": claim_id, "original_claim_id": original, **changes})


def posting(claim_id: uuid.UUID, minutes: int, **changes) -> PaymentPostedV1:
    return POSTED.model_copy(update={"claim_id": claim_id, "posted_at": T0 + timedelta(minutes=minutes), **changes})


def fold(*events) -> Fold:
    result = Fold()
    for event in events:
        result.add(uuid.uuid4(), event)
    return result


def secondary_posting(claim_id: uuid.UUID) -> PaymentPostedV1:
    """The secondary pays 36.60 of the patient's 56.60 and leaves the 20.00 copay; OA-23 for the rest."""
    amounts = POSTED.amounts.model_copy(
        update={
            "paid": D("36.60"),
            "contractual": D("0.00"),
            "coinsurance": D("0.00"),
            "other_adjustments": D("208.40"),
        }
    )
    adjustments = [Adjustment(group_code="OA", reason_code="23", amount=D("208.40"))]
    return posting(claim_id, 60, amounts=amounts, claim_adjustments=adjustments, lines=[], carc_codes=["23", "3"],
                   payer_id="SIMBC", claim_kind="secondary")  # fmt: skip


def test_a_secondary_claim_repeats_no_charge_and_its_carc_23_is_no_denial():
    primary, second = uuid.uuid4(), uuid.uuid4()
    [facts] = fold(
        claim("original", primary),
        claim("secondary", second, primary, payer_id="SIMBC"),
        posting(primary, 0),
        secondary_posting(second),
    ).facts()
    assert facts.charge == D("265.00") and facts.paid == D("185.00")  # 148.40 + 36.60
    assert facts.contractual == D("60.00")  # the primary's CO-45 only
    assert facts.open_balance == D("20.00")  # the copay, the patient's
    assert facts.adjudicated and facts.first_pass_paid and facts.denial_codes == ()


def test_a_replacement_charges_its_total_and_a_void_charges_nothing():
    original, replacement, other, void = (uuid.uuid4() for _ in range(4))
    reversal = posting(original, 10, outcome="reversed", claim_status_code="22", amounts=POSTED.amounts.model_copy(
        update={k: -v for k, v in POSTED.amounts.model_dump().items()}), lines=[])  # fmt: skip
    facts = fold(
        claim("original", original),
        posting(original, 0),
        claim("replacement", replacement, original, total_charge=D("300.00")),
        reversal,
        posting(
            replacement, 20, amounts=POSTED.amounts.model_copy(update={"charge": D("300.00"), "paid": D("183.40")})
        ),
        claim("original", other, encounter_id="EHR-2"),
        posting(other, 0),
        claim("void", void, other, encounter_id="EHR-2"),
        posting(other, 30, outcome="reversed", claim_status_code="22", lines=[], amounts=reversal.amounts),
    ).facts()
    replaced, voided = facts
    assert (replaced.charge, replaced.paid, replaced.contractual) == (D("300.00"), D("183.40"), D("60.00"))
    assert replaced.open_balance == D("56.60")  # the patient's part
    assert (voided.charge, voided.paid, voided.contractual, voided.open_balance) == (D("0"), D("0"), D("0"), D("0"))


def test_records_seen_twice_count_once_and_unknown_claims_are_left_out():
    primary = uuid.uuid4()
    result = Fold()
    event_id = uuid.uuid4()
    for _ in range(2):
        result.add(uuid.UUID(int=1), claim("original", primary))
        result.add(event_id, posting(primary, 0))
    result.add(uuid.uuid4(), posting(uuid.uuid4(), 0))  # a payment whose claim was never submitted
    [facts] = result.facts()
    assert (facts.charge, facts.paid) == (D("265.00"), D("148.40"))


def test_rejections_and_patient_payments_reach_the_ledger_of_the_claim_they_name():
    primary, replacement = uuid.uuid4(), uuid.uuid4()
    rejected = example("claim.acknowledged.v1").model_copy(update={"claim_id": replacement, "accepted": False})
    applied = [PatientPaymentApplication(claim_id=replacement, amount=D("56.60"))]
    paid = example("patient-payment.posted.v1").model_copy(update={"applications": applied})
    [facts] = fold(
        claim("original", primary),
        claim("replacement", replacement, primary),
        posting(primary, 0),
        rejected,
        paid,
    ).facts()
    assert facts.rejected and facts.paid == D("205.00") and facts.open_balance == D("0.00")
    day = facts.submitted_on
    result = kpis([facts], day, day, date(2026, 12, 31))
    assert result["clean_claim_rate"] == "0.0" and result["net_collection_rate"] == "100.0"  # 205 / (265 - 60)
