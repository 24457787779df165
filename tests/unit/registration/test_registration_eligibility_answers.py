"""What a 271 means for registration's checks (domain/eligibility.py): which check an answer belongs to,
and what it says, for every shape the guide allows (corpus files: tests/conformance/valid/271)."""

import uuid
from datetime import date
from pathlib import Path

from services.registration.domain.eligibility import check_reference, checked
from x12.x271 import read_271

CORPUS = Path(__file__).resolve().parents[2] / "conformance" / "valid" / "271"


def answers(name: str):
    return read_271((CORPUS / name).read_text())


def test_a_request_refused_whole_is_found_by_the_270s_reference_and_is_a_rejection():
    (answer,) = answers("lfh-subscriber-health-benefit-check-error.x12")  # AAA at 2100B, no member level
    assert (answer.level, answer.trace_number, check_reference(answer)) == ("21", "", "10001234")
    event = checked(uuid.uuid4(), uuid.uuid4(), "primary", date(2024, 3, 15), answer)
    assert (event.active, event.rejection_code) == (False, "50")


def test_a_member_not_found_is_found_by_its_trace_and_is_a_rejection():
    (answer,) = answers("written-aaa-subscriber-not-found.x12")  # AAA at 2100C
    assert (check_reference(answer), answer.rejection_code, answer.rejection_action) == ("TRACE0001", "75", "C")
    (dependent,) = answers("written-aaa-dependent-not-found.x12")  # AAA at 2100D
    assert (dependent.level, check_reference(dependent), dependent.rejection_code) == ("23", "TRACE0002", "67")


def test_each_member_of_a_271_is_an_answer_with_its_benefits():
    active, inactive = answers("written-benefits-active-inactive.x12")
    assert (check_reference(active), active.active, inactive.active) == ("TRACE0003", True, False)
    event = checked(uuid.uuid4(), uuid.uuid4(), "primary", date(2024, 3, 15), active)
    assert (str(event.copay), str(event.deductible_remaining), str(event.coinsurance_percent)) == (
        "25.00",
        "750.00",
        "20.00",
    )
