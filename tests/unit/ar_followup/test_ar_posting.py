"""A/R's posting rules without a database: what one payer's posting books, opens, closes and asks for."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal as D

from services.ar_followup.domain.ledger import Balances
from services.ar_followup.domain.posting import (
    LedgerFacts,
    Terms,
    awaits_coverage,
    bill_secondary,
    by_secondary,
    late_secondary,
    needs_totals,
    plan,
    secondary_payer,
)
from services.ar_followup.domain.work import NewWork, rejection, timely_filing, unanswered
from shared.contracts.events import AckReason, PaymentPostedV1

ZERO = D("0.00")
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
LEDGER = LedgerFacts(claim_id=uuid.UUID(int=1), payer_id="SIMBC")
NO_CONTRACT = Terms({}, D("1.00"))
PRIMARY = {"rank": "primary", "payer_id": "SIMBC", "member_id": "M1"}
MEDICAID = {"rank": "secondary", "payer_id": "SIMMCD", "member_id": "M2"}


def posting(*, payer: str = "SIMBC", denied: bool = False, adjustments=(), lines=(), **amounts) -> PaymentPostedV1:
    values = dict.fromkeys(
        ("paid", "contractual", "deductible", "coinsurance", "copay", "other_patient_responsibility"), ZERO
    )
    values |= {"charge": D("305.00"), "other_adjustments": ZERO} | amounts
    return PaymentPostedV1.model_validate(
        {
            "posting_id": uuid.uuid4(),
            "claim_id": uuid.UUID(int=2),
            "payer_id": payer,
            "payer_name": payer,
            "claim_status_code": "4" if denied else "1",
            "denied": denied,
            "outcome": "denied" if denied else "paid",
            "payer_claim_control_number": "PCN-1",
            "payment_method": "CHK",
            "check_or_eft_number": "T1",
            "payment_date": date(2026, 11, 20),
            "amounts": values,
            "claim_adjustments": list(adjustments),
            "lines": list(lines),
            "posted_at": NOW,
        }
    )


def co(reason: str, amount: str) -> dict:
    return {"group_code": "CO", "reason_code": reason, "amount": amount}


def line(number: int, code: str, charge: str, *adjustments: dict) -> dict:
    return {"line_number": number, "procedure_code": code, "charge": charge, "paid": "0", "adjustments": adjustments}


PAID = posting(paid=D("110.40"), contractual=D("143.00"), coinsurance=D("26.60"), copay=D("25.00"))


def planned(paid: PaymentPostedV1, ledger: LedgerFacts = LEDGER, *, coverages=(PRIMARY,), totals=None, **kw):
    secondary = kw.pop("secondary", False)
    terms = kw.pop("terms", NO_CONTRACT)
    return plan(ledger, paid, secondary=secondary, totals=totals or {}, coverages=coverages, terms=terms, now=NOW)


def test_a_primary_payment_books_its_entries_and_records_the_first_adjudication():
    result = planned(PAID)
    assert dict(result.entries) == {
        "payment": D("110.40"),
        "contractual": D("143.00"),
        "coinsurance": D("26.60"),
        "copay": D("25.00"),
    }
    assert result.close == (("no_response", "payer answered"),)
    assert result.open == () and result.secondary_request is None
    assert (result.ledger.adjudicated, result.ledger.denied, result.ledger.first_pass_paid) == (True, False, True)
    assert result.ledger.first_paid_on == date(2026, 11, 20)
    assert result.ledger.payer_claim_control_number == "PCN-1"


def test_a_denial_opens_denial_work_by_category_and_is_not_paid_on_first_pass():
    denied = posting(denied=True, contractual=D("305.00"), adjustments=[co("16", "305.00")])
    result = planned(denied)
    assert result.open == (NewWork("denial", D("305.00"), "correct", "CARC 16", "correctable"),)
    assert (result.ledger.denied, result.ledger.first_pass_paid, result.ledger.denial_codes) == (True, False, ("16",))
    assert result.ledger.first_paid_on is None  # nothing was paid
    assert result.secondary_request is None  # a denied claim is not passed on to the secondary payer


def test_first_facts_are_kept_from_the_first_time_they_are_known():
    earlier = LedgerFacts(
        claim_id=LEDGER.claim_id,
        payer_id="SIMBC",
        first_pass_paid=False,
        denial_codes=("50",),
        first_paid_on=date(2026, 11, 1),
        payer_claim_control_number="PCN-0",
    )
    later = posting(paid=D("10.00"), adjustments=[co("16", "5.00")]).model_copy(
        update={"payer_claim_control_number": None}
    )
    result = planned(later, earlier)
    assert result.ledger.first_pass_paid is False and result.ledger.denial_codes == ("50",)
    assert result.ledger.first_paid_on == date(2026, 11, 1)
    assert result.ledger.payer_claim_control_number == "PCN-0"  # a posting without one keeps the known number


def test_an_allowed_amount_below_the_contract_opens_underpayment_work_beyond_the_tolerance():
    cut = posting(paid=D("100.00"), lines=[line(1, "99214", "180.00", co("45", "80.00"))])  # allowed 100.00
    contract = Terms({"SIMBC": {"99214": D("120.00")}}, D("1.00"))
    [work] = planned(cut, terms=contract).open
    assert work == NewWork("underpayment", D("20.00"), "dispute", "allowed below the contracted rate")
    assert planned(cut, terms=Terms({"SIMBC": {"99214": D("100.50")}}, D("1.00"))).open == ()  # within tolerance
    assert planned(cut, terms=Terms({"OTHER": {"99214": D("120.00")}}, D("1.00"))).open == ()  # another payer's


def test_the_patients_part_goes_to_the_secondary_payer_once():
    result = planned(PAID, coverages=(PRIMARY, MEDICAID))
    assert result.ledger.secondary_pending and result.ledger.secondary_payer_id == "SIMMCD"
    assert result.open == (NewWork("secondary", D("51.60"), "await_secondary", "billed to SIMMCD"),)
    request = result.secondary_request
    assert request is not None
    assert (request.claim_id, request.primary_payer_id, request.primary_paid) == (LEDGER.claim_id, "SIMBC", D("110.40"))
    assert (request.primary_payer_claim_control_number, request.requested_at) == ("PCN-1", NOW)
    billed = result.ledger
    assert planned(PAID, billed, coverages=(PRIMARY, MEDICAID)).secondary_request is None  # already billed


def test_the_secondary_payer_is_billed_only_for_a_part_left_to_the_patient_by_another_payer():
    assert bill_secondary(LEDGER, PAID, [PRIMARY, MEDICAID]) == "SIMMCD"
    assert bill_secondary(LEDGER, PAID, [PRIMARY]) is None  # no secondary coverage
    same_payer = {**MEDICAID, "payer_id": "SIMBC"}
    assert bill_secondary(LEDGER, PAID, [PRIMARY, same_payer]) is None  # the secondary is the payer that paid
    nothing_left = posting(paid=D("162.00"), contractual=D("143.00"))
    assert bill_secondary(LEDGER, nothing_left, [PRIMARY, MEDICAID]) is None
    assert secondary_payer([MEDICAID], "SIMBC") == "SIMMCD" and secondary_payer([PRIMARY], "SIMBC") is None


def test_a_payment_posted_before_the_patients_coverages_awaits_them_only_if_a_secondary_could_take_a_part():
    assert awaits_coverage(LEDGER, PAID, secondary=False)
    assert not awaits_coverage(LEDGER, PAID, secondary=True)  # the secondary's own payment
    assert not awaits_coverage(LEDGER, posting(denied=True), secondary=False)
    assert not awaits_coverage(LEDGER, posting(paid=D("162.00"), contractual=D("143.00")), secondary=False)
    billed = LedgerFacts(claim_id=LEDGER.claim_id, payer_id="SIMBC", secondary_payer_id="SIMMCD")
    assert not awaits_coverage(billed, PAID, secondary=False)


def test_coverages_that_arrive_after_the_primary_paid_bill_the_secondary_while_the_patient_owes():
    paid = LedgerFacts(claim_id=LEDGER.claim_id, payer_id="SIMBC", adjudicated=True)
    assert late_secondary(paid, D("51.60"), [PRIMARY, MEDICAID]) == "SIMMCD"
    assert late_secondary(paid, D("51.60"), [PRIMARY]) is None  # no secondary coverage
    assert late_secondary(paid, ZERO, [PRIMARY, MEDICAID]) is None  # the patient paid already
    assert late_secondary(LEDGER, D("51.60"), [PRIMARY, MEDICAID]) is None  # not adjudicated (reversed)
    denied = LedgerFacts(claim_id=LEDGER.claim_id, payer_id="SIMBC", adjudicated=True, denied=True)
    assert late_secondary(denied, D("51.60"), [PRIMARY, MEDICAID]) is None
    billed = LedgerFacts(claim_id=LEDGER.claim_id, payer_id="SIMBC", adjudicated=True, secondary_payer_id="SIMMCD")
    assert late_secondary(billed, D("51.60"), [PRIMARY, MEDICAID]) is None  # billed once


def test_whose_posting_it_is():
    waiting = LedgerFacts(claim_id=LEDGER.claim_id, payer_id="SIMBC", secondary_pending=True)
    assert by_secondary("secondary", LEDGER, PAID)  # on the secondary payer's own claim
    assert by_secondary("primary", waiting, posting(payer="SIMMCD", paid=D("40.00")))  # another payer, while waiting
    assert not by_secondary("primary", waiting, PAID)  # the primary again (a correction, a reversal)
    assert not by_secondary("replacement", LEDGER, posting(payer="SIMMCD"))  # nothing waits for a secondary


def test_the_secondary_payers_posting_replaces_what_the_primary_left_to_the_patient():
    waiting = LedgerFacts(
        claim_id=LEDGER.claim_id, payer_id="SIMBC", adjudicated=True, secondary_pending=True, first_pass_paid=True
    )
    owed = {"charge": D("305.00"), "payment": D("110.40"), "coinsurance": D("26.60"), "copay": D("25.00")}
    paid = posting(payer="SIMMCD", paid=D("40.00"), copay=D("5.00"))
    result = planned(paid, waiting, totals=owed, secondary=True)
    assert dict(result.entries) == {
        "payment": D("40.00"),
        "coinsurance": D("-26.60"),
        "copay": D("-20.00"),
        "secondary_adjustment": D("6.60"),
    }
    assert sum((amount for _, amount in result.entries), ZERO) == ZERO  # it only shares out the patient's part
    assert result.close == (("secondary", "secondary adjudicated"), ("no_response", "payer answered"))
    assert not result.ledger.secondary_pending and result.secondary_request is None
    assert result.ledger.first_pass_paid is True  # the secondary's adjudication is not the first pass


def test_a_reversal_of_a_denial_a_r_reopened_books_a_r_s_reopening_off_once():
    reversal = posting(contractual=D("-305.00"), adjustments=[co("16", "-305.00")]).model_copy(
        update={"outcome": "reversed", "claim_status_code": "22"}
    )
    assert needs_totals(False, reversal) and needs_totals(True, PAID) and not needs_totals(False, PAID)
    result = planned(reversal, totals={"denial_reversal": D("-305.00")})
    assert ("denial_reversal", D("305.00")) in result.entries and ("contractual", D("-305.00")) in result.entries
    assert ("denial_reversal", D("305.00")) not in planned(reversal, totals={}).entries  # nothing reopened


def test_the_cycles_work_and_a_rejection():
    open_claim = Balances(D("305.00"), ZERO, ZERO, ZERO, D("305.00"))
    assert unanswered(open_claim, 30) == NewWork(
        "no_response", D("305.00"), "status_request", "no answer 30+ days after submission"
    )
    near, today = date(2026, 12, 1), date(2026, 11, 25)
    assert timely_filing(open_claim, False, near, today) == NewWork(
        "timely_filing", D("305.00"), "resubmit", "filing limit on 2026-12-01"
    )
    assert timely_filing(open_claim, False, date(2026, 11, 24), today).action == "write_off"  # the limit has passed
    denied = Balances(D("305.00"), ZERO, D("305.00"), ZERO, ZERO)  # the denial wrote the charge off
    assert timely_filing(denied, True, near, today).amount == D("305.00")
    assert timely_filing(denied, False, near, today) is None  # nothing at stake
    reasons = [AckReason(code="I6", message="bad", segment="NM1"), AckReason(code="A7:21", message="x")]
    assert rejection("999", reasons, D("305.00")) == NewWork("rejection", D("305.00"), "correct", "999: I6 NM1; A7:21")
    assert rejection("277CA", [], D("1.00")).reason == "277CA: rejected"
