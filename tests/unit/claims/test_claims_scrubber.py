from datetime import date, timedelta

from services.claims.domain.scrubber import scrub
from x12.samples import sample_claim, sample_secondary_claim

TODAY = date(2026, 3, 1)


def codes(claim, today=TODAY):
    return [f.code for f in scrub(claim, today)]


def test_a_clean_claim_passes():
    assert codes(sample_claim(3, lines=3)) == [] and codes(sample_secondary_claim(2)) == []


def test_every_finding_names_the_field_and_how_to_fix_it():
    claim = sample_claim(3, lines=2)
    future = claim.lines[0].model_copy(update={"service_date": TODAY + timedelta(days=2)})
    findings = scrub(claim.model_copy(update={"lines": (future, claim.lines[1])}), TODAY)
    assert [(f.field, f.code) for f in findings] == [("lines[0].service_date", "date.future")]
    assert "; fix: " in findings[0].message


def test_timely_filing_and_birth_dates():
    claim = sample_claim(1)
    assert codes(claim, date(2027, 6, 1)) == ["timely_filing.expired"]
    unborn = claim.model_copy(
        update={"subscriber": claim.subscriber.model_copy(update={"birth_date": date(2026, 2, 1)})}
    )
    assert codes(unborn) == ["birth_date.after_service"]


def test_duplicate_lines_need_a_repeat_modifier():
    claim = sample_claim(0, lines=1)
    line = claim.lines[0]
    twice = claim.model_copy(
        update={
            "lines": (line, line.model_copy(update={"line_number": 2, "control_number": "X2"})),
            "total_charge": line.charge * 2,
        }
    )
    assert codes(twice) == ["line.duplicate", "line.duplicate"]
    repeated = twice.lines[1].model_copy(update={"modifiers": ("76",)})
    assert codes(twice.model_copy(update={"lines": (line, repeated)})) == []


def test_secondary_claim_needs_the_primary_payment():
    claim = sample_secondary_claim(1)
    unpaid = claim.other_payers[0].model_copy(update={"paid": None, "lines": (), "adjustments": ()})
    assert codes(claim.model_copy(update={"other_payers": (unpaid,)})) == ["cob.primary_unpaid"]
