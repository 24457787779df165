"""A claim payment's identity (domain/posting.py), without a database: every claim payment of an ERA
posts, however alike (same patient, same amounts), and the same payments carried again by another
envelope or another check post nothing, while a payer's reversal and correction still post."""

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from services.payments.domain.posting import KnownClaim, Received, plan_posting
from x12.remittance import Interchange835
from x12.x835 import parse_835

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
CORPUS = Path(__file__).resolve().parents[2] / "conformance" / "valid" / "835"
NINE = (CORPUS / "written-nine-claims-same-patient.x12").read_text()
REVERSAL = (CORPUS / "written-reversal-correction-plb.x12").read_text()


def known(*numbers: str) -> dict[str, KnownClaim]:
    return {
        n: KnownClaim(
            uuid.uuid5(uuid.NAMESPACE_OID, n), "EXHP1", "EXAMPLE HEALTH PLAN", date(2024, 3, 1), frozenset({1})
        )
        for n in numbers
    }


def posted(interchange: Interchange835) -> list[Decimal]:
    """What a first posting of the file publishes: the paid amount of each payment.posted."""
    claims = known(*{p.patient_control_number for r in interchange.remittances for p in r.claims})
    plan = plan_posting(interchange, claims, NOW)
    return [p.event.amounts.paid for p in plan.postings({p.posting_id for p in plan.payments}).events]


def resent(text: str, interchange: str, trace: str) -> str:
    """The same remittance in a new envelope (ISA13/IEA02, GS06/GE02) on a new check or EFT (TRN02)."""
    old_interchange = re.search(r"\*(\d{9})\*0\*[TP]\*", text)
    old_trace = re.search(r"\nTRN\*1\*([^*]+)\*", text)
    assert old_interchange and old_trace
    text = text.replace(old_interchange.group(1), interchange).replace(
        f"TRN*1*{old_trace.group(1)}*", f"TRN*1*{trace}*"
    )
    return re.sub(r"(GS\*HP\*[^*]+\*[^*]+\*\d+\*\d+\*)\d+", r"\g<1>777", text).replace("GE*1*101~", "GE*1*777~")


def test_nine_claims_of_one_patient_post_nine_payments():
    amounts = posted(parse_835(NINE))
    assert len(amounts) == 9 and sum(amounts) == Decimal("810.80")


def test_identical_claim_payments_of_one_remittance_each_post():
    # The payer repeats its claim control number: three ACCT1001 payments are identical in every field.
    same_icn = re.sub(r"\*2407500000\d~", "*24075000001~", NINE)
    interchange = parse_835(same_icn)
    payments = [p for r in interchange.remittances for p in r.claims]
    assert len({p.model_dump_json() for p in payments}) < len(payments)  # some are exact repeats
    amounts = posted(interchange)
    assert len(amounts) == 9 and sum(amounts) == Decimal("810.80")


def test_a_resent_era_on_a_new_check_posts_nothing_and_is_a_reissue():
    first = plan_posting(parse_835(NINE), known("ACCT1001"), NOW)
    again = resent(NINE, "000000555", "EFT20240401999")
    assert "EFT20240401999" in again and "000000555" in again
    second = plan_posting(parse_835(again), known("ACCT1001"), NOW)
    assert [p.posting_id for p in second.payments] == [p.posting_id for p in first.payments]
    stored: set[uuid.UUID] = set()  # the store already had every one of them
    assert second.postings(stored).events == [] and second.repeats(stored) == [p.posting_id for p in first.payments]
    received = {p.posting_id: Received(41, "EFT20240315001") for p in first.payments}
    (reissue,) = second.reissues(stored, received)
    assert (reissue.trace_number, reissue.prior_era_id, reissue.prior_trace_number) == (
        "EFT20240401999",
        41,
        "EFT20240315001",
    )
    assert (reissue.claim_payments, reissue.paid, reissue.kind) == (9, Decimal("810.80"), "reissued_check")


def test_the_same_check_in_a_new_envelope_is_a_resend():
    first = plan_posting(parse_835(NINE), {}, NOW)
    again = plan_posting(parse_835(resent(NINE, "000000556", "EFT20240315001")), {}, NOW)
    received = {p.posting_id: Received(41, "EFT20240315001") for p in first.payments}
    (reissue,) = again.reissues(set(), received)
    assert reissue.kind == "resent" and reissue.claim_payments == 9


def test_a_reversal_and_its_correction_post_even_when_the_correction_repeats_the_original():
    file = parse_835(REVERSAL)
    remittance = file.remittances[0]
    reversal = remittance.claims[0]
    assert reversal.status == "22"
    # What the payer paid first, in an earlier ERA: the reversal negates it.
    original = reversal.model_copy(
        update={
            "status": "1",
            "charge": -reversal.charge,
            "paid": -reversal.paid,
            "patient_responsibility": -reversal.patient_responsibility,
            "adjustments": tuple(a.model_copy(update={"amount": -a.amount}) for a in reversal.adjustments),
        }
    )
    earlier = file.model_copy(update={"remittances": (remittance.model_copy(update={"claims": (original,)}),)})
    # The correction pays the very same again (same amounts and control number): reversal, then correction.
    corrected = file.model_copy(
        update={"remittances": (remittance.model_copy(update={"claims": (reversal, original)}),)}
    )
    before = {p.posting_id for p in plan_posting(earlier, {}, NOW).payments}
    plan = plan_posting(corrected, known("ACCT2001"), NOW)
    new = {p.posting_id for p in plan.payments} - before
    assert len(new) == 2  # both the reversal and the correction are new payments
    events = plan.postings(new).events
    assert [e.event.claim_status_code for e in events] == ["22", "1"]
    assert sum(e.event.amounts.paid for e in events) == Decimal("0.00")  # -100 then +100: the net of the claim


def test_the_corpus_reversal_and_correction_both_post():
    amounts = posted(parse_835(REVERSAL))
    assert amounts == [Decimal("-100.00"), Decimal("120.00"), Decimal("160.00")]
