import pytest

from x12.npi import npi_check_digit, npi_is_valid
from x12.samples import sample_interchange
from x12.validate import validate_x12
from x12.x837p import render_837p


def test_validate_reports_a_missing_mandatory_element():
    text = render_837p(sample_interchange(2)).replace("CLM*PCN00000001*", "CLM**")

    errors = validate_x12(text)

    assert len(errors) == 1 and "CLM01" in errors[0]


def test_validate_reports_a_wrong_segment_count():
    text = render_837p(sample_interchange(2)).replace("SE*", "SE*9")
    assert validate_x12(text) != []


def test_validate_reports_text_that_is_not_x12():
    assert validate_x12("not an interchange") != []


@pytest.mark.parametrize(
    ("npi", "valid"),
    [
        ("1234567893", True),
        ("1234567890", False),
        ("123456789", False),
        ("12345678931", False),
        ("12345678a3", False),
    ],
)
def test_npi_luhn_check(npi, valid):
    assert npi_is_valid(npi) is valid


def test_npi_check_digit_makes_valid_npis():
    assert all(npi_is_valid(f"1{n:08d}" + str(npi_check_digit(f"1{n:08d}"))) for n in range(0, 10**8, 7_654_321))
