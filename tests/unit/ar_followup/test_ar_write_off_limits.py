"""When a write-off needs a second person (domain/write_offs.py), and the simulated clock production refuses."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.ar_followup.domain.write_offs import WriteOffLimits, needs_approval
from services.ar_followup.settings import ArSettings

LIMITS = WriteOffLimits(per_claim=Decimal("100.00"), per_person_per_day=Decimal("150.00"))


@pytest.mark.parametrize(
    ("amount", "claim_so_far", "person_today", "waits"),
    [
        ("100.00", "0", "0", False),  # up to the claim's limit goes through
        ("100.01", "0", "0", True),
        ("54.00", "100.00", "100.00", True),  # the second piece of a split on one claim
        ("54.00", "0", "100.00", True),  # the second piece on another claim: the person's day
        ("50.00", "0", "100.00", False),  # 150.00 in the day is the limit itself
    ],
)
def test_pieces_count_with_what_went_through_before(amount, claim_so_far, person_today, waits):
    assert needs_approval(Decimal(amount), Decimal(claim_so_far), Decimal(person_today), LIMITS) is waits


def test_a_simulated_clock_is_refused_in_production_and_off_by_default():
    assert not ArSettings().simulated_clock and ArSettings(ar_simulated_clock=True).simulated_clock
    assert ArSettings(ar_now="2026-11-25T00:00:00Z").simulated_clock  # a frozen clock is a simulated one
    for setting in ({"ar_now": "2026-11-25T00:00:00Z"}, {"ar_simulated_clock": True}):
        with pytest.raises(ValidationError, match="production runs on the real clock"):
            ArSettings(environment="production", **setting)
    assert not ArSettings(environment="production").simulated_clock
