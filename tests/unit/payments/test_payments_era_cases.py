"""Postings from the hand-written 835 with every case (eras/every-case.835.x12)."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from services.payments.domain.posting import (
    ClaimLine,
    KnownClaim,
    build_posting,
    match_line,
    patient_share,
    posting_id,
)
from x12.x835 import parse_835

D = Decimal
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ERA = parse_835((Path(__file__).parent / "eras" / "every-case.835.x12").read_text())
PAYMENTS = [(r, c) for r in ERA.remittances for c in r.claims]


def claim(lines=((1, "99214", ("25",)), (2, "36415", ()))) -> KnownClaim:
    return KnownClaim(
        uuid.uuid4(),
        "SIMBC",
        "SIM BLUE PLAN",
        date(2026, 3, 2),
        frozenset(n for n, *_ in lines),
        tuple(ClaimLine(n, code, mods) for n, code, mods in lines),
    )


def build(remittance, payment, known, now=NOW):
    return build_posting(posting_id(remittance, payment), remittance, payment, known, now)


def posting(pcn: str, status: str | None = None, known: KnownClaim | None = None):
    remittance, payment = next(
        (r, c) for r, c in PAYMENTS if c.patient_control_number == pcn and (status is None or c.status == status)
    )
    return build(remittance, payment, known or claim(), NOW), payment


def balances(p) -> bool:
    a = p.amounts
    return a.charge == (
        a.paid
        + a.contractual
        + a.deductible
        + a.coinsurance
        + a.copay
        + a.other_patient_responsibility
        + a.other_adjustments
    )


def test_every_claim_of_the_file_posts_and_balances():
    for remittance, payment in PAYMENTS:
        posted = build(remittance, payment, claim(), NOW)
        assert balances(posted), payment.patient_control_number


def test_patient_responsibility_by_kind_dates_and_remarks():
    posted, payment = posting("PCNA1")
    a = posted.amounts
    assert (a.paid, a.contractual, a.deductible, a.coinsurance, a.copay) == (
        D("150"),
        D("70"),
        D("40"),
        D("10"),
        D("30"),
    )
    assert patient_share(payment) == D("80") == payment.patient_responsibility
    assert posted.rarc_codes == ["MA01", "N130", "N59"] and posted.lines[1].remark_codes == ["N59"]
    assert (posted.statement_from, posted.statement_to, posted.received_by_payer) == (
        date(2026, 3, 2),
        date(2026, 3, 2),
        date(2026, 3, 5),
    )
    assert posted.outcome == "paid" and not posted.forwarded_to_another_payer
    assert posted.check_or_eft_number == "CHK10001" and posted.payment_method == "CHK"


def test_outcomes_of_every_status():
    expected = {
        "PCNB1": ("paid", False),
        "PCNC1": ("paid", False),
        "PCND1": ("denied", False),
        "PCNE1": ("paid", True),
        "PCNF1": ("paid", True),
        "PCNG1": ("paid", True),
        "PCNI1": ("not_our_claim", True),
    }
    for pcn, (outcome, forwarded) in expected.items():
        posted, _ = posting(pcn)
        assert (posted.outcome, posted.forwarded_to_another_payer) == (outcome, forwarded), pcn
    denied, _ = posting("PCND1")
    assert denied.denied and denied.carc_codes == ["50"] and denied.rarc_codes == ["M15", "N115"]
    secondary, _ = posting("PCNB1")
    assert secondary.amounts.other_adjustments == D("55")  # OA-23 on the line, PI-94 on the claim


def test_reversal_then_correction_nets_to_the_difference():
    reversal, _ = posting("PCNH1", "22")
    corrected, _ = posting("PCNH1", "1")
    assert (
        reversal.outcome == "reversed"
        and reversal.amounts.paid == D("-80")
        and reversal.amounts.contractual == D("-20")
    )
    assert corrected.claim_frequency_code == "7" and corrected.amounts.paid == D("90")
    assert reversal.posting_id != corrected.posting_id
    assert reversal.amounts.paid + corrected.amounts.paid == D("10")


def test_unbundled_lines_match_the_billed_line_and_bundled_ones_are_kept():
    known = claim(((1, "80053", ()), (2, "99213", ()), (3, "36415", ())))
    posted, _ = posting("PCNJ1", known=known)
    assert [(l.line_number, l.procedure_code, l.billed_procedure_code) for l in posted.lines] == [
        (1, "82947", "80053"),
        (1, "84132", "80053"),
        (2, "99213", None),
        (3, "36415", None),
    ]
    assert posted.lines[3].paid == 0 and posted.lines[3].adjustments[0].reason_code == "97"
    assert posted.unmatched_lines == 0


def test_lines_without_ref_6r_match_by_code_and_modifiers():
    _, payment = posting("PCNA1")
    first, second = (s.model_copy(update={"control_number": None}) for s in payment.services)
    known = claim(((7, "99214", ("25",)), (8, "99214", ()), (9, "36415", ())))
    assert match_line(first, known) == 7  # code and modifiers
    assert match_line(second, known) == 9  # code alone, one line has it
    dropped_modifier = first.model_copy(update={"modifiers": ()})
    assert match_line(dropped_modifier, known) == 8
    ambiguous = claim(((1, "99214", ("25",)), (2, "99214", ("59",))))
    assert match_line(dropped_modifier, ambiguous) is None


def test_a_line_that_matches_nothing_is_counted():
    posted, _ = posting("PCNA1", known=claim(((5, "99215", ()),)))
    assert [l.line_number for l in posted.lines] == [None, None] and posted.unmatched_lines == 2
