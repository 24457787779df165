"""Claim assembly from a coded encounter, the patient's coverage and the practice's chargemaster."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.claims.domain.assembly import (
    assemble,
    claim_id_for,
    correction,
    fits_one_claim,
    grouping_key,
    patient_control_number,
)
from services.claims.domain.practice import load_chargemaster, load_practice
from services.claims.submission import interchange_for
from shared.contracts.events import ClaimChanges, EncounterCodedV1, LineChange, PatientRegisteredV1
from x12.validate import validate_x12
from x12.x837p import parse_837p, render_837p

D = Decimal
DOS = date(2026, 3, 2)
CHARGEMASTER = load_chargemaster()
PATIENT_ID = uuid.UUID("3f2c9a60-51d7-4c1e-8a0b-6d2e4f1a9b88")


def patient(*, coverage: dict | None = None, **person) -> PatientRegisteredV1:
    cover = {
        "rank": "primary",
        "payer_id": "SIMBC",
        "payer_name": "SIM BLUE PLAN",
        "member_id": "SIM482915736",
        "group_number": "GRP0007",
        "relationship": "self",
        "effective_date": "2024-01-01",
    } | (coverage or {})
    return PatientRegisteredV1.model_validate(
        {
            "patient_id": str(PATIENT_ID),
            "version": 1,
            "mrn": "MRN0070000001",
            "patient": {
                "first_name": "Maria",
                "last_name": "Alvarez",
                "birth_date": "1961-07-14",
                "sex": "F",
                "address": {"line1": "1450 Maple Ave", "city": "Springfield", "state": "IL", "postal_code": "62704"},
            }
            | person,
            "coverages": [cover],
            "registered_at": "2026-01-02T09:00:00Z",
        }
    )


def coded(
    lines=(("99214", ["25"], 1, [1]), ("20610", ["RT"], 1, [1]), ("J3301", [], 10, [1])),
    diagnoses=("M1711",),
    encounter_id="ENC-11-0000042",
    **changes,
) -> EncounterCodedV1:
    return EncounterCodedV1.model_validate(
        {
            "encounter_id": encounter_id,
            "patient_id": str(PATIENT_ID),
            "date_of_service": DOS.isoformat(),
            "place_of_service": "11",
            "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
            "diagnoses": list(diagnoses),
            "service_lines": [
                {"line_number": n, "procedure_code": c, "modifiers": m, "units": u, "diagnosis_pointers": p}
                for n, (c, m, u, p) in enumerate(lines, start=1)
            ],
            "coded_by": "auto",
            "coded_at": "2026-03-02T15:00:00Z",
        }
        | changes
    )


def hold_codes(assembly) -> list[str]:
    assert assembly.claim is None, "a held claim must not be built"
    return [f.code for f in assembly.findings]


def test_chargemaster_loads_prices_as_decimals():
    assert CHARGEMASTER["99213"] == D("125.00") and CHARGEMASTER["J3301"] == D("18.00")
    assert all(isinstance(v, Decimal) and v > 0 for v in CHARGEMASTER.values())


def test_prices_are_unit_charge_times_units_and_total_is_their_sum():
    result = assemble(coded(), patient(), CHARGEMASTER)
    assert result.findings == [] and result.claim is not None
    claim = result.claim
    charges = {line.procedure_code: line.charge for line in claim.lines}
    assert charges == {"99214": D("180.00"), "20610": D("150.00"), "J3301": D("180.00")}  # J3301: 18.00 x 10
    assert claim.total_charge == D("510.00")
    assert [line.units for line in claim.lines] == [D(1), D(1), D(10)]
    assert [line.line_number for line in claim.lines] == [1, 2, 3]
    assert [line.control_number for line in claim.lines] == ["1", "2", "3"]
    assert [line.modifiers for line in claim.lines] == [("25",), ("RT",), ()]
    assert all(line.service_date == DOS and line.place_of_service == "11" for line in claim.lines)
    assert result.payer_name == "SIM BLUE PLAN"


def test_claim_carries_the_patient_coverage_and_codes():
    claim = assemble(coded(diagnoses=("M1711", "I10")), patient(), CHARGEMASTER).claim
    assert claim.subscriber.member_id == "SIM482915736" and claim.subscriber.last_name.upper() == "ALVAREZ"
    assert claim.subscriber.address.zip == "62704" and claim.subscriber.group_number == "GRP0007"
    assert claim.payer.id == "SIMBC" and claim.payer.name == "SIM BLUE PLAN"
    assert claim.diagnoses == ("M1711", "I10")
    assert claim.rendering_provider.npi == "1093817462"
    assert claim.frequency_code == "1"


def test_claim_id_is_deterministic_per_encounter():
    assert claim_id_for("ENC-1") == claim_id_for("ENC-1")
    assert claim_id_for("ENC-1") != claim_id_for("ENC-2")
    first = assemble(coded(), patient(), CHARGEMASTER).claim
    again = assemble(coded(), patient(), CHARGEMASTER).claim
    assert first == again
    assert first.patient_control_number == patient_control_number(claim_id_for("ENC-11-0000042"))


@pytest.mark.parametrize("encounter_id", ["ENC-1", "x" * 64, "A.b:c-d_e"])
def test_patient_control_number_fits_clm01(encounter_id):
    pcn = patient_control_number(claim_id_for(encounter_id))
    assert 1 <= len(pcn) <= 20 and pcn.isalnum()


def test_distinct_encounters_get_distinct_control_numbers():
    numbers = {patient_control_number(claim_id_for(f"ENC-{n}")) for n in range(2000)}
    assert len(numbers) == 2000


@pytest.mark.parametrize(
    "coverage",
    [
        {"effective_date": "2026-03-03"},  # starts the day after the visit
        {"effective_date": "2024-01-01", "end_date": "2026-03-01"},  # ended the day before
        {"rank": "secondary"},  # only a secondary
    ],
)
def test_no_active_primary_coverage_is_a_hold(coverage):
    assert hold_codes(assemble(coded(), patient(coverage=coverage), CHARGEMASTER)) == ["coverage.inactive"]


def test_coverage_boundaries_are_inclusive():
    covered = patient(coverage={"effective_date": DOS.isoformat(), "end_date": DOS.isoformat()})
    assert assemble(coded(), covered, CHARGEMASTER).claim is not None


def test_dependent_patient_is_billed_under_the_subscriber_in_loop_2000c():
    subscriber = {
        "first_name": "Carlos",
        "last_name": "Alvarez",
        "birth_date": "1959-02-01",
        "sex": "M",
        "address": {"line1": "1450 Maple Ave", "city": "Springfield", "state": "IL", "postal_code": "62704"},
    }
    child = patient(coverage={"relationship": "child", "subscriber": subscriber}, first_name="Lucía")
    claim = assemble(coded(), child, CHARGEMASTER).claim

    assert (claim.subscriber.first_name, claim.subscriber.member_id) == ("CARLOS", "SIM482915736")
    assert (claim.patient.first_name, claim.patient.relationship_code) == ("LUCIA", "19")
    text = render_837p(interchange_for(load_practice(), 5, [claim], datetime(2026, 3, 2, 16, 45, tzinfo=UTC)))
    assert validate_x12(text) == [] and "PAT*19~" in text


def test_dependent_without_the_subscriber_demographics_is_a_hold():
    child = patient(coverage={"relationship": "child"})
    assert hold_codes(assemble(coded(), child, CHARGEMASTER)) == ["subscriber.missing"]


def test_unpriced_code_is_a_hold_naming_the_line():
    result = assemble(coded(lines=(("99213", [], 1, [1]), ("99499", [], 1, [1]))), patient(), CHARGEMASTER)
    assert hold_codes(result) == ["price.missing"]
    assert result.findings[0].field == "service_lines[1].procedure_code"


@pytest.mark.parametrize(
    "person",
    [
        {"last_name": "O*Brien"},
        {"first_name": "Mar~ia"},
        {"address": {"line1": "12 Oak St~NM1*IL", "city": "Peoria", "state": "IL", "postal_code": "61602"}},
    ],
)
def test_separator_characters_are_a_hold_not_an_exception(person):
    result = assemble(coded(), patient(**person), CHARGEMASTER)
    assert hold_codes(result) == ["x12.invalid"]
    message = result.findings[0].message
    assert "Brien" not in message and "Mar~ia" not in message and "NM1" not in message


def test_a_built_claim_renders_to_a_valid_837p():
    claims = [
        assemble(coded(), patient(), CHARGEMASTER).claim,
        assemble(
            coded(lines=(("99213", [], 1, [1, 2]),), diagnoses=("I10", "E785"), encounter_id="ENC-11-0000043"),
            patient(),
            CHARGEMASTER,
        ).claim,
    ]
    interchange = interchange_for(load_practice(), 17, claims, datetime(2026, 3, 2, 16, 45, 31, tzinfo=UTC))
    text = render_837p(interchange)
    assert validate_x12(text) == []
    assert parse_837p(text).claims == tuple(claims)


@pytest.mark.parametrize("name", ["Núñez", "Øster", "李"])
def test_non_ascii_names_never_raise_and_never_reach_the_837(name):
    result = assemble(coded(), patient(last_name=name), CHARGEMASTER)
    if result.claim is None:
        assert hold_codes(result) == ["x12.invalid"]
        return
    interchange = interchange_for(load_practice(), 18, [result.claim], datetime(2026, 3, 2, 16, 45, tzinfo=UTC))
    assert render_837p(interchange).isascii()


# ---- one claim for a patient's encounters of one date (grouping) ----------------------------


def test_encounters_of_one_patient_and_date_make_one_claim_with_merged_diagnoses():
    visit = coded(lines=(("99213", [], 1, [1, 2]),), diagnoses=("I10", "E119"), encounter_id="ENC-G-1")
    lab = coded(
        lines=(("83036", [], 1, [1]), ("36415", [], 1, [2])), diagnoses=("E119", "E785"), encounter_id="ENC-G-2"
    )
    assert grouping_key(visit, "SIMBC") == grouping_key(lab, "SIMBC")
    result = assemble([visit, lab], patient(), CHARGEMASTER)
    claim = result.claim
    assert result.findings == [] and claim is not None
    assert claim.patient_control_number == patient_control_number(claim_id_for("ENC-G-1"))  # the first names it
    assert claim.diagnoses == ("I10", "E119", "E785")  # each once, in order of first use
    # The lab's pointers followed its diagnoses to their places in the merged list.
    assert [(l.line_number, l.procedure_code, l.diagnosis_pointers) for l in claim.lines] == [
        (1, "99213", (1, 2)),
        (2, "83036", (2,)),
        (3, "36415", (3,)),
    ]
    assert [l.control_number for l in claim.lines] == ["1", "2", "3"]
    assert claim.total_charge == sum(l.charge for l in claim.lines)
    text = render_837p(interchange_for(load_practice(), 21, [claim], datetime(2026, 3, 2, 17, tzinfo=UTC)))
    assert validate_x12(text) == [] and text.count("CLM*") == 1 and text.count("LX*") == 3


@pytest.mark.parametrize(
    "change",
    [
        {"date_of_service": "2026-03-03"},
        {"place_of_service": "22"},
        {"rendering_provider": {"npi": "1861492431", "first_name": "Rafael", "last_name": "Ortiz"}},
        {"prior_authorization": "AUTH1"},
        {"billing_provider_npi": "1234567893"},
    ],
)
def test_a_different_date_place_provider_or_authorization_is_another_claim(change):
    assert grouping_key(coded(), "SIMBC") != grouping_key(coded(**change), "SIMBC")
    assert grouping_key(coded(), "SIMBC") != grouping_key(coded(), "SIMAETNA")


def test_more_than_twelve_diagnoses_or_fifty_lines_do_not_fit_one_claim():
    def many(n, start):
        return coded(
            diagnoses=[f"M{start + i:03d}" for i in range(n)],
            lines=(("99213", [], 1, [1]),),
            encounter_id=f"ENC-M-{start}",
        )

    assert fits_one_claim([many(6, 100), many(6, 200)])
    assert not fits_one_claim([many(6, 100), many(7, 200)])
    assert fits_one_claim([many(6, 100), many(6, 100)])  # shared diagnoses count once
    lines = tuple(("99213", [], 1, [1]) for _ in range(25))
    assert fits_one_claim([coded(lines=lines), coded(lines=lines, encounter_id="ENC-L-2")])
    assert not fits_one_claim([coded(lines=lines), coded(lines=lines + lines[:1], encounter_id="ENC-L-2")])


# ---- corrected replacements ------------------------------------------------------------------


def original_claim():
    return assemble(coded(), patient(), CHARGEMASTER).claim


def test_a_replacement_without_changes_is_the_claim_again_as_frequency_7():
    claim, findings = correction(original_claim(), uuid.uuid4(), "7", "PAYER123")
    assert findings == [] and claim.frequency_code == "7" and claim.payer_claim_control_number == "PAYER123"
    assert claim.lines == original_claim().lines


def test_a_replacement_carries_the_corrections_and_is_repriced():
    changes = ClaimChanges(
        prior_authorization="AUTH-778",
        diagnoses=["M17.11", "E11.9"],
        lines=[LineChange(line_number=3, units=5), LineChange(line_number=2, modifiers=["LT"], diagnosis_pointers=[2])],
    )
    claim, findings = correction(original_claim(), uuid.uuid4(), "7", "PAYER123", changes, CHARGEMASTER)
    assert findings == []
    assert claim.prior_authorization == "AUTH-778" and claim.diagnoses == ("M1711", "E119")
    line2, line3 = claim.lines[1], claim.lines[2]
    assert (
        line2.modifiers == ("LT",)
        and line2.diagnosis_pointers == (2,)
        and line2.charge == original_claim().lines[1].charge
    )
    assert line3.units == D(5) and line3.charge == CHARGEMASTER["J3301"] * 5
    assert claim.total_charge == sum(l.charge for l in claim.lines)
    text = render_837p(interchange_for(load_practice(), 22, [claim], datetime(2026, 3, 2, 17, tzinfo=UTC)))
    assert validate_x12(text) == [] and "REF*G1*AUTH-778~" in text and "CLM*" in text and ":B:7*" in text


@pytest.mark.parametrize(
    "changes, code",
    [
        (ClaimChanges(lines=[LineChange(line_number=9, units=2)]), "correction.no_such_line"),
        (ClaimChanges(lines=[LineChange(line_number=1, procedure_code="99499")]), "price.missing"),
        (ClaimChanges(lines=[LineChange(line_number=1, diagnosis_pointers=[3])]), "correction.invalid"),
        (ClaimChanges(diagnoses=["1NOTCOD"]), "correction.invalid"),
    ],
)
def test_a_correction_that_cannot_be_applied_is_a_hold(changes, code):
    claim, findings = correction(original_claim(), uuid.uuid4(), "7", "PAYER123", changes, CHARGEMASTER)
    assert claim is None and [f.code for f in findings] == [code]


# ---- referring and rendering provider details ------------------------------------------------

REFERRER = {"npi": "1861492431", "first_name": "Rafael", "last_name": "Ortiz"}


def test_a_referred_visit_carries_the_referring_provider_and_the_rendering_taxonomy():
    rendering = {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh", "taxonomy_code": "207X00000X"}
    claim = assemble(coded(referring_provider=REFERRER, rendering_provider=rendering), patient(), CHARGEMASTER).claim
    assert claim.referring_provider.npi == "1861492431" and claim.rendering_provider.taxonomy_code == "207X00000X"
    text = render_837p(interchange_for(load_practice(), 23, [claim], datetime(2026, 3, 2, 17, tzinfo=UTC)))
    assert validate_x12(text) == []
    assert "NM1*DN*1*ORTIZ*RAFAEL****XX*1861492431~" in text and "PRV*PE*PXC*207X00000X~" in text
    assert grouping_key(coded(referring_provider=REFERRER), "SIMBC") != grouping_key(coded(), "SIMBC")


def test_a_referring_npi_with_a_wrong_check_digit_is_a_hold():
    wrong = REFERRER | {"npi": "1861492432"}
    assert hold_codes(assemble(coded(referring_provider=wrong), patient(), CHARGEMASTER)) == ["x12.invalid"]


# ---- diagnosis pointers ------------------------------------------------------------------------


@pytest.mark.parametrize("pointer", [2, 9, 0, -1])
def test_a_pointer_outside_the_encounters_diagnoses_is_a_hold_not_an_exception(pointer):
    """The coded-encounter contract bounds how many pointers a line has, not where they point."""
    result = assemble(coded(lines=(("99213", [], 1, [1, pointer]),), diagnoses=("I10",)), patient(), CHARGEMASTER)
    assert hold_codes(result) == ["x12.invalid"]
    assert "diagnosis pointer" in result.findings[0].message


def test_a_pointer_past_one_encounter_of_a_group_is_a_hold_even_if_the_merged_list_is_longer():
    visit = coded(lines=(("99213", [], 1, [1]),), diagnoses=("I10", "E119"), encounter_id="ENC-P-1")
    lab = coded(lines=(("83036", [], 1, [2]),), diagnoses=("E785",), encounter_id="ENC-P-2")
    assert hold_codes(assemble([visit, lab], patient(), CHARGEMASTER)) == ["x12.invalid"]
