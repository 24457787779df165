from datetime import date, datetime
from decimal import Decimal

import pytest

from x12.errors import X12Error
from x12.samples import npi
from x12.validate import validate_x12
from x12.x277 import ClaimAcknowledgment, ClaimStatus, ProviderStatuses, parse_277ca, render_277ca


def _status(n: int, accepted: bool) -> ClaimStatus:
    return ClaimStatus(
        patient_control_number=f"PCN{n:08d}",
        category="A2" if accepted else "A7",
        status_code="20" if accepted else "33",
        entity=None if accepted else "IL",
        total_charge=Decimal("125.50") + n,
        service_date=date(2026, 1, 1 + n % 28),
        patient_last_name="SAMPLE",
        patient_first_name="ALEX",
        member_id=f"M{n:09d}",
        payer_claim_control_number=f"SIM{n:010d}" if accepted else None,
    )


def _ack(providers: int = 2, claims: int = 3) -> ClaimAcknowledgment:
    return ClaimAcknowledgment(
        sender_id="SIMCH",
        receiver_id="OPENRCM",
        control_number=77,
        created=datetime(2026, 3, 2, 9, 31),
        usage="T",
        payer_name="SIM BLUE PLAN",
        payer_id="SIMBC",
        submitter_name="OPENRCM BILLING",
        submitter_id="OPENRCM",
        batch_reference="42-0001",
        received=date(2026, 3, 2),
        providers=tuple(
            ProviderStatuses(
                name=f"CLINIC {p}",
                npi=npi(1000 + p),
                claims=tuple(_status(p * 10 + n, accepted=(n % 3 != 1)) for n in range(claims)),
            )
            for p in range(providers)
        ),
    )


@pytest.mark.parametrize(("providers", "claims"), [(1, 1), (2, 3), (3, 40)])
def test_277ca_is_valid_and_reads_back_equal(providers, claims):
    ack = _ack(providers, claims)
    text = render_277ca(ack)

    assert validate_x12(text) == []
    assert parse_277ca(text) == ack


def test_277ca_says_which_claims_were_accepted_and_why_others_were_not():
    ack = parse_277ca(render_277ca(_ack(1, 3)))
    statuses = {c.patient_control_number: c for c in ack.claims}

    assert statuses["PCN00000000"].accepted and statuses["PCN00000000"].payer_claim_control_number == "SIM0000000000"
    rejected = statuses["PCN00000001"]
    assert not rejected.accepted and (rejected.category, rejected.status_code, rejected.entity) == ("A7", "33", "IL")


def test_277ca_batch_totals_count_accepted_and_rejected():
    text = render_277ca(_ack(1, 3))

    assert "QTY*90*2~" in text and "QTY*AA*1~" in text and "STC*A7:33:IL*" in text and "*U*" in text


def test_other_documents_are_refused():
    from x12.samples import sample_interchange
    from x12.x837p import render_837p

    with pytest.raises(X12Error, match="not HN 005010X214"):
        parse_277ca(render_837p(sample_interchange(1)))
