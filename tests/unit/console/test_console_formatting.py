"""Money to the cent, times in the office's zone, what people type as amounts, search text."""

import uuid
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.console.domain import formatting, pkce, search

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("value", "shown"),
    [("1234.5", "1,234.50"), (Decimal(0), "0.00"), ("-12", "\u221212.00"), (7, "7.00"), (None, ""), ("", "")],
)
def test_money_is_shown_to_the_cent_with_separators_and_a_real_minus(value, shown):
    assert formatting.money(value) == shown


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("$1,234.5", Decimal("1234.50")), (" 40 ", Decimal("40.00")), ("12.345", None), ("abc", None), ("NaN", None)],
)
def test_amounts_people_type_are_read_or_refused(typed, amount):
    assert formatting.parse_amount(typed) == amount


def test_moments_are_shown_in_the_office_zone_whatever_zone_they_came_in():
    assert formatting.moment("2026-11-30T17:20:00+00:00", CHICAGO) == "Nov 30, 2026 11:20 AM CST"
    assert formatting.moment("2026-07-01T03:05:00Z", CHICAGO) == "Jun 30, 2026 10:05 PM CDT"
    assert formatting.moment("2026-07-01T03:05:00", ZoneInfo("UTC")) == "Jul 1, 2026 3:05 AM UTC"  # naive: UTC
    assert formatting.moment(None, CHICAGO) == ""


def test_days_and_ages():
    assert formatting.day("2026-03-02") == "Mar 2, 2026"
    assert formatting.age_days("2026-03-02", date(2026, 4, 1)) == 30
    assert formatting.percent(None) == "\u2013" and formatting.percent("12.5") == "12.5%"


def test_pkce_challenge_is_the_rfc_7636_example():
    # RFC 7636 appendix B
    assert (
        pkce.challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    verifier = pkce.verifier()
    assert 43 <= len(verifier) <= 128 and pkce.challenge(verifier) != pkce.challenge(pkce.verifier())


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil", "", None, "claims"])
def test_after_signing_in_only_a_path_of_this_console_is_followed(target):
    assert pkce.safe_next(target) == "/"


def test_a_path_of_this_console_is_kept():
    assert pkce.safe_next("/claims/1?cursor=a") == "/claims/1?cursor=a"


@pytest.mark.parametrize(
    ("text", "criteria"),
    [
        ("Nguyen", {"last_name": "Nguyen"}),
        ("Wei Nguyen", {"first_name": "Wei", "last_name": "Nguyen"}),
        ("Nguyen, Wei", {"first_name": "Wei", "last_name": "Nguyen"}),
        ("1970-03-31", {"birth_date": "1970-03-31"}),
        ("03/31/1970", {"birth_date": "1970-03-31"}),
        ("MRN0070000012", {"mrn": "MRN0070000012"}),
        ("Nguyen 1970-03-31", {"last_name": "Nguyen", "birth_date": "1970-03-31"}),
        ("O'Brien-Smith", {"last_name": "O'Brien-Smith"}),
    ],
)
def test_what_people_type_in_the_search_box(text, criteria):
    wanted = search.parse(text)
    assert wanted is not None and wanted.record_id is None and wanted.criteria() == criteria


def test_an_id_is_an_id_and_nonsense_is_nothing():
    claim = uuid.uuid4()
    assert search.parse(f" {claim} ").record_id == claim
    assert search.parse("   ") is None and search.parse("%%%") is None and search.parse("<script>") is None
