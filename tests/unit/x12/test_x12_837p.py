from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from x12.claim import Claim, Interchange837, invalid_npis
from x12.envelope import amount
from x12.errors import X12Error
from x12.samples import sample_claim, sample_dependent_claim, sample_interchange, sample_secondary_claim
from x12.validate import validate_x12
from x12.x837p import parse_837p, render_837p


@pytest.mark.parametrize(
    ("claims", "lines", "providers"),
    [(1, 1, 1), (200, 1, 1), (12, 4, 3)],
    ids=["one-claim", "200-claims", "multi-line-multi-provider"],
)
def test_rendered_837p_is_valid_and_reads_back_equal(claims, lines, providers):
    interchange = sample_interchange(claims, lines, providers=providers)
    text = render_837p(interchange)

    assert validate_x12(text) == []
    assert parse_837p(text) == interchange


def test_isa_is_fixed_width_and_counts_match():
    text = render_837p(sample_interchange(3, 2, control_number=42))
    segments = text.split("~\n")

    assert len(segments[0]) + 1 == 106
    assert segments[0].split("*")[13] == "000000042"
    st = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    se = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    assert segments[se] == f"SE*{se - st + 1}*0001"


def _with_claims(*claims: Claim) -> Interchange837:
    base = sample_interchange(1)
    batch = base.transactions[0].model_copy(update={"claims": claims})
    return base.model_copy(update={"transactions": (batch,)})


def test_replacement_claim_carries_the_payer_claim_number():
    claim = sample_claim(3, lines=2).model_copy(
        update={"frequency_code": "7", "payer_claim_control_number": "PAYER123"}
    )
    interchange = _with_claims(claim)
    text = render_837p(interchange)

    assert "REF*F8*PAYER123~" in text and "*11:B:7*" in text
    assert validate_x12(text) == []
    assert parse_837p(text) == interchange


def test_line_place_of_service_is_sent_only_when_it_differs():
    claim = sample_claim(1, lines=2)
    line = claim.lines[1].model_copy(update={"place_of_service": "22"})
    claim = claim.model_copy(update={"lines": (claim.lines[0], line)})
    interchange = _with_claims(claim)
    text = render_837p(interchange)

    assert "*UN*1*22**" in text
    assert validate_x12(text) == []
    assert parse_837p(text) == interchange


def test_claim_model_refuses_inconsistent_claims():
    data = sample_claim(1, lines=2).model_dump()
    with pytest.raises(ValidationError, match="sum of the line charges"):
        Claim.model_validate(data | {"total_charge": Decimal("1.00")})
    with pytest.raises(ValidationError, match="diagnosis pointer"):
        Claim.model_validate(data | {"diagnoses": ("E119",)})
    with pytest.raises(ValidationError, match="payer_claim_control_number"):
        Claim.model_validate(data | {"frequency_code": "8"})


def test_models_refuse_separators_and_bad_npis():
    data = sample_claim(1).model_dump()
    data["subscriber"]["last_name"] = "SMITH*JONES"
    with pytest.raises(ValidationError):
        Claim.model_validate(data)
    data = sample_claim(1).model_dump()
    data["rendering_provider"] = {"npi": "123456789", "first_name": "A", "last_name": "B"}
    with pytest.raises(ValidationError, match="rendering_provider.npi"):
        Claim.model_validate(data)
    data["rendering_provider"]["npi"] = "1234567890"  # ten digits, a wrong check digit: held, and found
    assert invalid_npis(Claim.model_validate(data)) == ["rendering_provider.npi"]


def test_parse_errors_say_where_but_not_what():
    interchange = sample_interchange(1)
    text = render_837p(interchange).replace("DMG*D8*19500101", "DMG*D8*19501301")

    with pytest.raises(X12Error) as caught:
        parse_837p(text)
    message = str(caught.value)
    assert "DMG02" in message and "loop 2010BA" in message and caught.value.issues[0].ik4 == "8"
    assert "19501301" not in message and "SAMPLE" not in message and "M000000000" not in message


def test_parse_rejects_a_broken_isa():
    text = render_837p(sample_interchange(1))
    with pytest.raises(X12Error, match="ISA"):
        parse_837p(text[:50] + text[52:])


def test_parse_reports_the_failing_transaction_set():
    text = render_837p(sample_interchange(4, providers=2))
    text = text.replace("NM1*85*2*SAMPLE CLINIC 2", "NM1*87*2*SAMPLE CLINIC 2")  # no billing provider name
    with pytest.raises(X12Error) as caught:
        parse_837p(text)
    assert caught.value.transaction_control_number == "0002"
    assert caught.value.segment_id == "NM1"


def test_dates_survive_the_round_trip():
    claim = parse_837p(render_837p(sample_interchange(1))).claims[0]
    assert claim.lines[0].service_date == date(2026, 1, 5)
    assert claim.subscriber.birth_date == date(1950, 1, 1)


def test_dependent_patient_is_sent_in_loop_2000c():
    claims = tuple(sample_dependent_claim(n, lines=2) for n in range(3))
    interchange = _with_claims(*claims)
    text = render_837p(interchange)

    assert "HL*2*1*22*1~" in text and "HL*3*2*23*0~" in text and "PAT*19~" in text
    assert "SBR*P**" in text  # SBR02 is "18" only when the subscriber is the patient
    assert "HL*4*1*22*1~" in text  # the next claim's subscriber HL follows its predecessor's patient HL
    assert "NM1*DN*1*DOCTOR*REFERRING" in text
    assert validate_x12(text) == []
    assert parse_837p(text) == interchange


def test_secondary_claim_carries_the_primary_payment_and_its_adjustments():
    claim = sample_secondary_claim(4, lines=3)
    interchange = _with_claims(claim, sample_claim(5, lines=1))
    text = render_837p(interchange)

    primary = claim.other_payers[0]
    assert text.count("SBR*S*18*") == 1 and "SBR*P*18*G0001******HM~" in text
    assert f"AMT*D*{amount(primary.paid)}~" in text and "OI***Y***Y~" in text
    assert text.count("SVD*SIMAETNA*") == 3 and "DTP*573*D8*" in text
    assert "CAS*CO*45*" in text and "CAS*PR*2*" in text
    assert validate_x12(text) == []
    assert parse_837p(text) == interchange


def test_void_claim_is_valid_and_reads_back():
    claim = sample_claim(6, lines=2).model_copy(update={"frequency_code": "8", "payer_claim_control_number": "SIM1"})
    interchange = _with_claims(claim)
    text = render_837p(interchange)

    assert "*11:B:8*" in text and "REF*F8*SIM1~" in text
    assert validate_x12(text) == []
    assert parse_837p(text) == interchange


def test_claim_model_refuses_inconsistent_coordination_of_benefits():
    secondary = sample_secondary_claim(1).model_dump()
    with pytest.raises(ValidationError, match="needs the other payer"):
        Claim.model_validate(secondary | {"other_payers": ()})
    with pytest.raises(ValidationError, match="cannot hold the responsibility"):
        Claim.model_validate(secondary | {"payer_responsibility": "P"})
    other = secondary["other_payers"][0]
    with pytest.raises(ValidationError, match="line the claim does not have"):
        Claim.model_validate(
            secondary | {"lines": secondary["lines"][:1], "total_charge": secondary["lines"][0]["charge"]}
        )
    with pytest.raises(ValidationError, match="need the paid amount"):
        Claim.model_validate(secondary | {"other_payers": [other | {"paid": None}]})
