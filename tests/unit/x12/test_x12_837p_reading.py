"""Reading 837Ps written by other systems: what the 005010X222A1 guide allows is read and written back,
what it forbids refuses the transaction set (999), what a business rule forbids rejects one claim."""

from decimal import Decimal
from pathlib import Path

import pytest

from x12.errors import X12Error
from x12.samples import sample_interchange
from x12.validate import validate_x12
from x12.x837p import parse_837p, read_837p, render_837p
from x12.x999 import acknowledge, parse_999

CONFORMANCE = Path(__file__).parents[2] / "conformance"
TWO_CLAIMS = render_837p(sample_interchange(2))  # PCN00000000 (SIMBC, 99213) and PCN00000001 (SIMAETNA)


def edited(*changes: tuple[str, str], text: str = TWO_CLAIMS) -> str:
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    return text


def recounted(text: str) -> str:
    """SE01 again after segments were added or removed."""
    lines = text.splitlines()
    st = next(n for n, line in enumerate(lines) if line.startswith("ST*"))
    se = next(n for n, line in enumerate(lines) if line.startswith("SE*"))
    lines[se] = f"SE*{se - st + 1}*0001~"
    return "\n".join(lines) + "\n"


def round_trip(text: str):
    """Read, write back, check with pyx12 and read again: the claims must not change."""
    claims = parse_837p(text)
    written = render_837p(claims)
    assert validate_x12(written) == []
    assert parse_837p(written) == claims
    return claims, written


def test_a_description_is_read_as_the_description_and_minutes_stay_minutes():
    text = edited(("SV1*HC:99213*125*UN*1***1~", "SV1*HC:00142:QK:QS:::CATARACT SURGERY #2*125*MJ*61***1~"))

    claims, written = round_trip(text)

    line = claims.claims[0].lines[0]
    assert (line.procedure_code, line.modifiers, line.description) == ("00142", ("QK", "QS"), "CATARACT SURGERY #2")
    assert (line.unit_basis, line.units) == ("MJ", Decimal(61))
    assert "SV1*HC:00142:QK:QS:::CATARACT SURGERY #2*125*MJ*61***1~" in written


def test_situational_segments_may_be_absent():
    text = recounted(
        edited(
            ("PRV*BI*PXC*207Q00000X~\n", ""),  # billing provider taxonomy
            ("REF*6R*L0-1~\n", ""),  # line item control number
            ("N3*100 MAIN ST~\nN4*SPRINGFIELD*IL*62701~\nDMG*D8*19500101*F~\n", ""),  # 2010BA address, birth
        )
    )

    claim = parse_837p(text).claims[0]

    assert claim.lines[0].control_number is None and claim.subscriber.birth_date is None
    assert parse_837p(text).transactions[0].billing_provider.taxonomy_code is None
    round_trip(text)


def test_a_hyphenated_ein_a_claim_number_with_space_and_hash_and_a_referring_provider_without_npi():
    text = recounted(
        edited(
            ("REF*EI*123456780~", "REF*EI*12-3456780~"),
            ("CLM*PCN00000000*", "CLM*ENC 1001#A*"),
            ("HI*ABK:E119*ABF:M545~", "HI*ABK:E119*ABF:M545~\nNM1*DN*1*REFERRER*ROSA~"),
        )
    )

    claims, written = round_trip(text)

    provider, claim = claims.transactions[0].billing_provider, claims.claims[0]
    assert (provider.tax_id, provider.tax_id_digits) == ("12-3456780", "123456780")  # kept as sent
    assert claim.patient_control_number == "ENC 1001#A"
    assert claim.referring_provider.npi is None and claim.referring_provider.last_name == "REFERRER"
    assert "NM1*DN*1*REFERRER*ROSA~" in written


def test_icd9_codes_after_october_2015_reject_that_claim_only():
    text = edited(("HI*ABK:E119*ABF:M545~", "HI*BK:25000*BF:4019~"))

    reading = read_837p(text)

    assert reading.issues == ()  # the file follows the guide: the 999 accepts it
    first, second = reading.claims
    assert first.claim is not None and first.claim.diagnosis_qualifier == "BK"
    [finding] = first.findings
    assert (finding.issue.segment_id, finding.issue.loop, finding.status) == ("HI", "2300", "255")
    assert "ICD-9" in finding.issue.reason and second.accepted
    with pytest.raises(X12Error, match="ICD-9"):
        parse_837p(text)


def test_icd9_codes_before_october_2015_are_read_as_icd9():
    text = edited(
        ("HI*ABK:E119*ABF:M545~", "HI*BK:25000*BF:4019~"),
        ("DTP*472*D8*20260105~", "DTP*472*D8*20150930~"),
    )
    claims, written = round_trip(text)
    assert claims.claims[0].diagnoses == ("25000", "4019") and "HI*BK:25000*BF:4019~" in written


def test_a_bad_npi_check_digit_is_a_finding_of_its_claim_and_the_other_claim_goes_on():
    text = edited(("NM1*82*1*DOCTOR*PAT****XX*1000050017~", "NM1*82*1*DOCTOR*PAT****XX*1000050018~"))

    first, second = read_837p(text).claims

    assert first.accepted
    assert [(f.status, f.entity, f.issue.element) for f in second.findings] == [("562", "82", 9)]
    assert second.claim is not None and second.claim.rendering_provider.npi == "1000050018"  # held as sent


def test_claim_attachments_are_kept_and_only_the_guides_codes_pass():
    text = recounted(edited(("REF*G1*AUTH0~", "PWK*OZ*BM***AC*ATT-0001~\nREF*G1*AUTH0~")))
    [attachment] = parse_837p(text).claims[0].attachments
    assert (attachment.report_type, attachment.transmission, attachment.control_number) == ("OZ", "BM", "ATT-0001")
    round_trip(text)

    with pytest.raises(X12Error) as refused:
        parse_837p(edited(("PWK*OZ*BM*", "PWK*OZ*AD*"), text=text))
    [issue] = refused.value.issues
    assert (issue.segment_id, issue.loop, issue.element, issue.ik3, issue.ik4) == ("PWK", "2300", 2, "8", "7")


def test_a_segment_the_model_does_not_hold_is_kept_and_written_back_in_the_guides_place():
    text = recounted(edited(("HI*ABK:E119*ABF:M545~", "NTE*ADD*PATIENT ARRIVED LATE~\nHI*ABK:E119*ABF:M545~")))

    claims, written = round_trip(text)

    assert [k.segments for k in claims.claims[0].kept] == [(("NTE", "ADD", "PATIENT ARRIVED LATE"),)]
    assert "REF*G1*AUTH0~\nNTE*ADD*PATIENT ARRIVED LATE~\nHI*ABK:E119*ABF:M545~" in written


def test_one_set_refused_by_the_guide_leaves_the_others_to_be_read_and_the_999_says_which():
    two_sets = render_837p(sample_interchange(4, providers=2))
    broken = edited(("NM1*PR*2*SIMULATED CARE PLAN*", "NM1*XX*2*SIMULATED CARE PLAN*"), text=two_sets)

    reading = read_837p(broken)

    accepted, refused = (s for s in sorted(reading.sets, key=lambda s: not s.accepted))
    assert [c.summary.patient_control_number for c in reading.claims] == ["PCN00000000", "PCN00000002"]
    ack = acknowledge(reading.interchange, [s.raw for s in reading.sets])
    assert validate_x12(ack) == []
    [group] = parse_999(ack).groups
    assert group.status == "P" and group.counts == (2, 2, 1)
    error = next(t for t in group.transactions if t.status == "R").errors[0]
    assert (error.segment_id, error.position) == ("NM1", 18)  # NM101 is no payer: the 2010BB is missing
    assert refused.raw.control_number == "0002" and accepted.raw.control_number == "0001"


def test_an_envelope_that_cannot_be_read_is_an_error_not_a_reading():
    with pytest.raises(X12Error, match="ISA"):
        read_837p(TWO_CLAIMS[:50] + TWO_CLAIMS[52:])
    with pytest.raises(X12Error, match="functional group"):
        read_837p(TWO_CLAIMS.replace("*005010X222A1~", "*005010X223A2~"))


@pytest.mark.parametrize("ndc", ["NDC01234567", "0002-6063-51", "0002606351", "000260635100"])
def test_an_ndc_not_in_its_11_digit_form_is_a_finding_of_its_claim(ndc):
    text = (
        (CONFORMANCE / "valid/837p/lfh-drug-in-office.x12")
        .read_text()
        .replace("LIN**N4*00026063512~", f"LIN**N4*{ndc}~")
    )

    [claim] = read_837p(text).claims

    assert [(f.issue.segment_id, f.issue.element, f.status) for f in claim.findings] == [("LIN", 3, "21")]
    assert read_837p((CONFORMANCE / "valid/837p/lfh-drug-in-office.x12").read_text()).claims[0].accepted
