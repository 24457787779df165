"""ERA posting: a claim built by claims, adjudicated by the payer simulator, read back from the 835."""

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from payer_simulator.domain.adjudication import BUNDLED, denial_reason
from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import accumulator_key, remit
from services.claims.domain.assembly import assemble, claim_id_for, patient_control_number
from services.claims.domain.practice import load_chargemaster, load_practice
from services.claims.submission import interchange_for
from services.payments.domain.posting import KnownClaim, PostingError, build_posting, categorize, posting_id
from shared.contracts.events import EncounterCodedV1, PatientRegisteredV1
from x12.remittance import Adjustment
from x12.x835 import parse_835
from x12.x837p import parse_837p, render_837p

D = Decimal
DOS = date(2026, 3, 2)
NOW = datetime(2026, 3, 9, 10, 15, tzinfo=UTC)
FIRST, LAST, MEMBER = "Maria", "Alvarez", "SIM482915736"
LINES = (("99214", ["25"], 1, [1]), ("20610", ["RT"], 1, [1]), ("J3301", [], 10, [1]))


def patient() -> PatientRegisteredV1:
    return PatientRegisteredV1.model_validate(
        {
            "patient_id": str(uuid.UUID(int=99)),
            "version": 1,
            "mrn": "MRN0070000001",
            "patient": {
                "first_name": FIRST,
                "last_name": LAST,
                "birth_date": "1961-07-14",
                "sex": "F",
                "address": {"line1": "1450 Maple Ave", "city": "Springfield", "state": "IL", "postal_code": "62704"},
            },
            "coverages": [
                {
                    "rank": "primary",
                    "payer_id": "SIMBC",
                    "payer_name": "SIM BLUE PLAN",
                    "member_id": MEMBER,
                    "relationship": "self",
                    "effective_date": "2024-01-01",
                }
            ],
            "registered_at": "2026-01-02T09:00:00Z",
        }
    )


def coded(encounter_id: str, lines=LINES) -> EncounterCodedV1:
    return EncounterCodedV1.model_validate(
        {
            "encounter_id": encounter_id,
            "patient_id": str(uuid.UUID(int=99)),
            "date_of_service": DOS.isoformat(),
            "place_of_service": "11",
            "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
            "diagnoses": ["M1711"],
            "service_lines": [
                {"line_number": n, "procedure_code": c, "modifiers": m, "units": u, "diagnosis_pointers": p}
                for n, (c, m, u, p) in enumerate(lines, start=1)
            ],
            "coded_by": "auto",
            "coded_at": "2026-03-02T15:00:00Z",
        }
    )


def encounter_where(reasons) -> str:
    """An encounter id whose claim the simulator adjudicates with one of `reasons` (None: paid)."""
    for n in range(20_000):
        encounter_id = f"ENC-POST-{n}"
        if denial_reason(patient_control_number(claim_id_for(encounter_id))) in reasons:
            return encounter_id
    raise AssertionError("no such encounter id")


def adjudicated(encounter_id: str, lines=LINES, trace_suffix: str = ""):
    """(remittance, claim payment, known claim) as payments will see them after parsing the 835."""
    claim = assemble(coded(encounter_id, lines), patient(), load_chargemaster()).claim
    assert claim is not None
    interchange = parse_837p(render_837p(interchange_for(load_practice(), 1, [claim], NOW)))
    result = remit(interchange, load_contracts(), {accumulator_key(claim): D("0.00")}, 1, NOW)
    remittance = parse_835(result.by_payer["SIMBC"]).remittances[0]
    if trace_suffix:
        payment = remittance.payment.model_copy(update={"trace_number": remittance.payment.trace_number + trace_suffix})
        remittance = remittance.model_copy(update={"payment": payment})
    (payment,) = remittance.claims
    known = KnownClaim(
        claim_id_for(encounter_id), "SIMBC", "SIM BLUE PLAN", DOS, frozenset(line.line_number for line in claim.lines)
    )
    return remittance, payment, known


PAID = encounter_where({None})
DENIED = encounter_where({"16", "50", "29"})
BUNDLED_ENC = encounter_where({BUNDLED})


def build(remittance, payment, known, now=NOW):
    return build_posting(posting_id(remittance, payment), remittance, payment, known, now)


def adj(group, reason, amount) -> Adjustment:
    return Adjustment(group=group, reason=reason, amount=D(amount))


# ---- categories ------------------------------------------------------------------------------


def test_categorize_puts_every_group_and_reason_in_its_bucket():
    adjustments = [
        adj("CO", "45", "40.00"),
        adj("CO", "253", "1.50"),
        adj("PR", "1", "20.00"),
        adj("PR", "2", "7.00"),
        adj("PR", "3", "25.00"),
        adj("PR", "45", "3.00"),
        adj("PR", "187", "2.00"),
        adj("OA", "23", "4.00"),
        adj("PI", "94", "5.00"),
    ]
    amounts = categorize(adjustments, D("200.00"), D("92.50"))
    assert amounts.charge == D("200.00") and amounts.paid == D("92.50")
    assert amounts.contractual == D("41.50")
    assert (amounts.deductible, amounts.coinsurance, amounts.copay) == (D("20.00"), D("7.00"), D("25.00"))
    assert amounts.other_patient_responsibility == D("5.00")
    assert amounts.other_adjustments == D("9.00")


def test_categorize_of_nothing_is_all_zero():
    amounts = categorize([], D("50.00"), D("50.00"))
    assert {
        amounts.contractual,
        amounts.deductible,
        amounts.coinsurance,
        amounts.copay,
        amounts.other_patient_responsibility,
        amounts.other_adjustments,
    } == {D("0")}


def test_categorize_keeps_negative_reversal_amounts():
    amounts = categorize([adj("CO", "45", "-40.00"), adj("PR", "2", "-7.00")], D("-100.00"), D("-53.00"))
    assert amounts.contractual == D("-40.00") and amounts.coinsurance == D("-7.00")


# ---- a posting from the simulator's 835 --------------------------------------------------------


def total(posting) -> Decimal:
    a = posting.amounts
    return (
        a.paid
        + a.contractual
        + a.deductible
        + a.coinsurance
        + a.copay
        + a.other_patient_responsibility
        + a.other_adjustments
    )


def test_paid_claim_posting_balances_to_the_cent():
    remittance, payment, known = adjudicated(PAID)
    posting = build(remittance, payment, known, NOW)
    assert posting.amounts.charge == D("510.00") == payment.charge
    assert total(posting) == posting.amounts.charge
    assert posting.amounts.paid == payment.paid > 0
    assert posting.amounts.contractual > 0  # billed above the fee schedule: CO-45
    assert posting.amounts.copay == D("25.00")  # SIMBC office visit copay, on the E/M line
    assert posting.denied is False and posting.claim_status_code == "1"
    assert posting.claim_id == known.claim_id and posting.payer_id == "SIMBC"
    assert posting.check_or_eft_number == remittance.payment.trace_number
    assert posting.payment_method == remittance.payment.method and posting.payment_date == NOW.date()
    assert posting.date_of_service == DOS
    assert "45" in posting.carc_codes and "3" in posting.carc_codes
    for line in posting.lines:
        assert line.charge == line.paid + sum((a.amount for a in line.adjustments), D(0))


def test_lines_are_matched_by_the_line_item_control_number():
    remittance, payment, known = adjudicated(PAID)
    assert [s.control_number for s in payment.services] == ["1", "2", "3"]  # REF*6R came back
    posting = build(remittance, payment, known, NOW)
    assert [(l.line_number, l.procedure_code) for l in posting.lines] == [(1, "99214"), (2, "20610"), (3, "J3301")]
    assert posting.lines[0].modifiers == ["25"] and posting.lines[1].modifiers == ["RT"]


def test_a_line_the_claim_does_not_have_is_posted_unmatched():
    remittance, payment, known = adjudicated(PAID)
    narrower = KnownClaim(known.claim_id, known.payer_id, known.payer_name, DOS, frozenset({1, 2}))
    posting = build(remittance, payment, narrower, NOW)
    assert [l.line_number for l in posting.lines] == [1, 2, None]


def test_denied_claim():
    remittance, payment, known = adjudicated(DENIED)
    posting = build(remittance, payment, known, NOW)
    assert posting.denied is True and posting.claim_status_code == "4"
    assert posting.amounts.paid == D("0") and posting.amounts.contractual == D("510.00")
    assert total(posting) == posting.amounts.charge
    assert posting.carc_codes == [denial_reason(payment.patient_control_number)]


def test_bundled_line_is_not_a_claim_denial():
    remittance, payment, known = adjudicated(BUNDLED_ENC)
    posting = build(remittance, payment, known, NOW)
    assert posting.denied is False
    assert posting.lines[-1].paid == 0 and [a.reason_code for a in posting.lines[-1].adjustments] == ["97"]
    assert total(posting) == posting.amounts.charge


def test_unbalanced_claim_payment_is_refused():
    remittance, payment, known = adjudicated(PAID)
    with pytest.raises(PostingError):
        build(remittance, payment.model_copy(update={"paid": payment.paid + D("0.01")}), known, NOW)
    with pytest.raises(PostingError):
        build(remittance, payment.model_copy(update={"charge": payment.charge - D("1.00")}), known, NOW)


def test_unbalanced_service_line_is_refused_even_when_the_claim_adds_up():
    remittance, payment, known = adjudicated(PAID)
    first, second, *rest = payment.services
    moved = (
        first.model_copy(update={"paid": first.paid + D("5.00")}),
        second.model_copy(update={"paid": second.paid - D("5.00")}),
        *rest,
    )
    with pytest.raises(PostingError):
        build(remittance, payment.model_copy(update={"services": moved}), known, NOW)


def test_claim_level_adjustments_count_in_the_balance():
    remittance, payment, known = adjudicated(PAID)
    # A CLP-level OA-23 of 10.00 and 10.00 less paid: the claim still balances, every line too.
    shifted = payment.model_copy(update={"adjustments": (adj("OA", "23", "10.00"),), "paid": payment.paid - D("10.00")})
    posting = build(remittance, shifted, known, NOW)
    assert posting.amounts.other_adjustments == D("10.00")
    assert posting.amounts.paid == payment.paid - D("10.00")
    assert [(a.group_code, a.reason_code, a.amount) for a in posting.claim_adjustments] == [("OA", "23", D("10.00"))]
    assert "23" in posting.carc_codes
    assert total(posting) == posting.amounts.charge
    # Without paying less, the same adjustment over-accounts the charge.
    with pytest.raises(PostingError):
        build(remittance, payment.model_copy(update={"adjustments": (adj("OA", "23", "10.00"),)}), known, NOW)


def test_posting_id_is_the_payment_not_the_check_that_carries_it():
    remittance, payment, _ = adjudicated(PAID)
    again_remittance, again_payment, _ = adjudicated(PAID)
    assert posting_id(remittance, payment) == posting_id(again_remittance, again_payment)
    # A re-issued check (another trace number) carries the same payment: it must not post again.
    other_check, same_payment, _ = adjudicated(PAID, trace_suffix="9")
    assert other_check.payment.trace_number != remittance.payment.trace_number
    assert posting_id(other_check, same_payment) == posting_id(remittance, payment)
    _, denied_payment, _ = adjudicated(DENIED)
    assert posting_id(remittance, denied_payment) != posting_id(remittance, payment)
    other_payer = remittance.model_copy(
        update={"payment": remittance.payment.model_copy(update={"payer_tax_id": "990000002"})}
    )
    assert posting_id(other_payer, payment) != posting_id(remittance, payment)


def test_posting_id_does_not_depend_on_how_the_amount_is_written():
    # X12 allows "95.5" and "95.50" for the same amount; a re-sent ERA written by another system
    # (clearinghouse re-delivery) must still be the same posting, or the payment is posted twice.
    remittance, payment, _ = adjudicated(PAID)
    paid = payment.paid.quantize(D("0.01"))
    short = payment.model_copy(update={"paid": D(f"{paid:f}".rstrip("0").rstrip("."))})
    padded = payment.model_copy(update={"paid": D(f"{paid:.2f}")})
    assert short.paid == padded.paid
    assert posting_id(remittance, short) == posting_id(remittance, padded)


def test_posted_event_carries_no_patient_identifiers():
    remittance, payment, known = adjudicated(PAID)
    assert payment.patient.last_name.upper() == LAST.upper() and payment.patient.member_id == MEMBER  # in the 835 ...
    text = build(remittance, payment, known, NOW).model_dump_json().upper()
    for identifier in (FIRST, LAST, MEMBER, "1961-07-14", "MAPLE", "MRN0070000001"):
        assert identifier.upper() not in text  # ... never in the analysts' event
    json.loads(text.lower())
