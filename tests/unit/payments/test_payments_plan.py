"""The posting plan of one 835 (eras/every-case.835.x12), without a database: what to store, and
once the store says which payments are new, what to publish and which work items to open."""

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.payments.domain.posting import (
    ClaimLine,
    KnownClaim,
    PlannedPayment,
    PostingError,
    patient_share,
    plan_posting,
    post_late,
    posting_ids,
)
from x12.remittance import ClaimPayment, Remittance
from x12.x835 import parse_835

D = Decimal
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ERA = parse_835((Path(__file__).parent / "eras" / "every-case.835.x12").read_text())
PAYMENTS = [(r, c) for r in ERA.remittances for c in r.claims]


def known(number: str, lines=((1, "99214", ("25",)), (2, "36415", ()))) -> KnownClaim:
    return KnownClaim(
        uuid.uuid5(uuid.NAMESPACE_OID, number),
        "SIMBC",
        "SIM BLUE PLAN",
        date(2026, 3, 2),
        frozenset(n for n, *_ in lines),
        tuple(ClaimLine(n, code, mods) for n, code, mods in lines),
        correlation_id=f"journey-{number}",
    )


def every_claim_but(*unknown: str) -> dict[str, KnownClaim]:
    numbers = {p.patient_control_number for _, p in PAYMENTS}
    return {n: known(n) for n in sorted(numbers - set(unknown))}


def test_every_payment_is_planned_once_with_its_posting_id_in_file_order():
    plan = plan_posting(ERA, every_claim_but(), NOW)
    assert [p.posting_id for p in plan.payments] == [n for r in ERA.remittances for n in posting_ids(r)]
    assert len({p.posting_id for p in plan.payments}) == len(PAYMENTS) == plan.claim_payments == 12
    assert plan.total_paid == sum((r.payment.amount for r in ERA.remittances), D(0)) == D("487")


def test_the_same_payment_twice_in_one_remittance_is_two_payments():
    remittance = ERA.remittances[0]
    twice = ERA.model_copy(
        update={"remittances": (remittance.model_copy(update={"claims": remittance.claims[:1] * 2}),)}
    )
    plan = plan_posting(twice, every_claim_but(), NOW)
    assert len(plan.payments) == 2 == plan.claim_payments == len({p.posting_id for p in plan.payments})
    assert len(plan.records()) == 2


def test_records_keep_the_whole_payment_and_say_whether_its_claim_is_known():
    plan = plan_posting(ERA, every_claim_but("PCNB1"), NOW)
    records = {r.patient_control_number: r for r in plan.records()}
    matched, unmatched = records["PCNA1"], records["PCNB1"]
    assert (matched.status, matched.claim_id, matched.posted_at) == ("posted", known("PCNA1").claim_id, NOW)
    assert (unmatched.status, unmatched.claim_id, unmatched.posted_at) == ("unmatched", None, None)
    remittance, payment = PAYMENTS[0]
    assert matched.paid == payment.paid == D("150") and matched.patient_responsibility == patient_share(payment)
    # What is stored is enough to post the payment later, as it arrived.
    assert ClaimPayment.model_validate_json(matched.claim_payment) == payment
    assert Remittance.model_validate({**json.loads(matched.remittance_header), "claims": ()}) == remittance.model_copy(
        update={"claims": ()}
    )


def test_new_payments_of_known_claims_are_published_in_file_order_with_their_claims_journey():
    plan = plan_posting(ERA, every_claim_but("PCNB1"), NOW)
    postings = plan.postings({p.posting_id for p in plan.payments})
    events = [p.event for p in postings.events]
    assert [e.posting_id for e in events] == [p.posting_id for p in plan.payments if p.claim is not None]
    assert [e.claim_status_code for e in events if e.claim_id == known("PCNH1").claim_id] == ["22", "1"]
    assert postings.events[0].correlation_id == "journey-PCNA1" and events[0].claim_id == known("PCNA1").claim_id
    assert "PCNB1" not in {p.correlation_id.removeprefix("journey-") for p in postings.events}
    assert all(e.posted_at == NOW for e in events)


def test_an_unknown_claim_and_lines_that_match_none_of_ours_are_work_items():
    claims = {**every_claim_but("PCNB1"), "PCNA1": known("PCNA1", lines=((1, "99214", ("25",)),))}
    plan = plan_posting(ERA, claims, NOW)
    postings = plan.postings({p.posting_id for p in plan.payments})
    unmatched_claims = [i for i in postings.work_items if i.kind == "unmatched_claim"]
    assert [(i.patient_control_number, i.claim_id) for i in unmatched_claims] == [("PCNB1", None)]
    assert "CLP02 2" in unmatched_claims[0].detail and postings.unmatched == 1
    # PCNA1's venipuncture (REF*6R 2) is not a line of that claim; every other line matches.
    lines = [i for i in postings.work_items if i.kind == "unmatched_line"]
    assert [(i.patient_control_number, i.claim_id, i.detail) for i in lines] == [
        ("PCNA1", known("PCNA1").claim_id, "service 2 (36415) matches no line of the claim")
    ]


def test_payments_the_store_already_had_make_nothing():
    plan = plan_posting(ERA, every_claim_but("PCNB1"), NOW)
    new = {p.posting_id for p in plan.payments if p.payment.patient_control_number in ("PCNA1", "PCNK1")}
    postings = plan.postings(new)
    assert [p.event.posting_id for p in postings.events] == [p.posting_id for p in plan.payments if p.posting_id in new]
    assert postings.work_items == []


def test_a_new_payment_that_does_not_balance_refuses_the_file():
    remittance = ERA.remittances[0]
    first = remittance.claims[0]
    broken = first.model_copy(update={"paid": first.paid + D("0.01")})
    interchange = ERA.model_copy(update={"remittances": (remittance.model_copy(update={"claims": (broken,)}),)})
    plan = plan_posting(interchange, every_claim_but(), NOW)
    with pytest.raises(PostingError):
        plan.postings({plan.payments[0].posting_id})
    assert plan.postings(set()).events == []  # already posted from another file: nothing to check


def test_a_late_posting_keeps_the_posting_id_the_payment_was_stored_under():
    remittance, payment = PAYMENTS[0]
    stored_as = uuid.uuid4()  # e.g. written under an earlier formula
    postings = post_late([PlannedPayment(stored_as, remittance, payment, known("PCNA1"))], NOW)
    assert [(p.event.posting_id, p.event.claim_id, p.correlation_id) for p in postings.events] == [
        (stored_as, known("PCNA1").claim_id, "journey-PCNA1")
    ]
    assert postings.work_items == []
