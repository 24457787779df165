"""Coding edits on realistic family-practice encounters (ICD-10-CM from simple-icd-10-cm)."""

import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from services.coding.domain.validation import check_encounter, service_lines
from shared.contracts.events import DocumentedProcedure, EncounterDocumentedV1

TODAY = date(2026, 3, 10)


def encounter(diagnoses=("I10", "E78.5"), procedures=(("99213", [], 1, [1, 2]),), dos=date(2026, 3, 9)):
    return EncounterDocumentedV1.model_validate(
        {
            "encounter_id": "ENC-T-1",
            "patient_id": str(uuid.UUID(int=7)),
            "date_of_service": dos.isoformat(),
            "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
            "diagnoses": [{"code": c} for c in diagnoses],
            "procedures": [
                {"code": c, "modifiers": m, "units": u, "diagnosis_pointers": p} for c, m, u, p in procedures
            ],
        }
    )


def codes(findings) -> list[tuple[str, str]]:
    return [(f.field, f.code) for f in findings]


def test_clean_hypertension_and_hyperlipidemia_visit_has_no_findings():
    assert check_encounter(encounter(), TODAY) == []


def test_diabetes_visit_with_labs_has_no_findings():
    visit = encounter(["E11.9", "I10"], [("99214", ["25"], 1, [1, 2]), ("83036", [], 1, [1]), ("36415", [], 1, [1])])
    assert check_encounter(visit, TODAY) == []


def test_header_code_is_not_billable():
    assert codes(check_encounter(encounter(["I10", "E11"]), TODAY)) == [("diagnoses[1].code", "icd.not_billable")]


@pytest.mark.parametrize("code", ["X99.999", "E11.99X", "Z999"])
def test_code_that_does_not_exist_is_unknown(code):
    assert codes(check_encounter(encounter([code, "I10"]), TODAY)) == [("diagnoses[0].code", "icd.unknown")]


@pytest.mark.parametrize("code", ["A00-B99", "A00-A09", "E08-E13"])
def test_chapter_or_block_range_is_unknown(code):
    assert codes(check_encounter(encounter([code, "I10"]), TODAY)) == [("diagnoses[0].code", "icd.unknown")]


@pytest.mark.parametrize(
    "diagnoses", [["E78.5", "I10"], ["E785", "I10"], ["e78.5", "i10"], ["M54.50", "Z00.00"], ["M5450", "Z0000"]]
)
def test_dotted_and_undotted_codes_are_both_accepted(diagnoses):
    assert check_encounter(encounter(diagnoses), TODAY) == []


@pytest.mark.parametrize("code", ["ABCDE", "1234A", "W1234", "9921Z", "J33O1"])
def test_procedure_of_the_wrong_form(code):
    findings = check_encounter(encounter(procedures=((code, [], 1, [1]),)), TODAY)
    assert codes(findings) == [("procedures[0].code", "procedure.form")]


def test_four_digit_procedure_is_refused_by_the_contract_and_by_the_edit():
    with pytest.raises(ValidationError):
        encounter(procedures=(("9921", [], 1, [1]),))
    # Should a producer get past the contract, the coding edit still catches it.
    clean = encounter()
    short = clean.model_copy(
        update={
            "procedures": [
                DocumentedProcedure.model_construct(code="9921", modifiers=[], units=1, diagnosis_pointers=[1])
            ]
        }
    )
    assert codes(check_encounter(short, TODAY)) == [("procedures[0].code", "procedure.form")]


@pytest.mark.parametrize("code", ["J3301", "j3301", "3074F", "0591T", "G0439", "99213"])
def test_hcpcs_and_cpt_category_ii_iii_are_accepted(code):
    assert check_encounter(encounter(procedures=((code, [], 1, [1]),)), TODAY) == []


def test_pointer_past_the_last_diagnosis():
    visit = encounter(["M17.11"], [("99214", ["25"], 1, [1]), ("20610", ["RT"], 1, [1, 2])])
    assert codes(check_encounter(visit, TODAY)) == [("procedures[1].diagnosis_pointers", "pointer.range")]


def test_pointer_to_the_last_diagnosis_is_in_range():
    assert check_encounter(encounter(["I10", "E78.5"], [("99213", [], 1, [2])]), TODAY) == []


def test_future_date_of_service():
    assert codes(check_encounter(encounter(dos=date(2026, 3, 11)), TODAY)) == [("date_of_service", "dos.future")]
    assert check_encounter(encounter(dos=TODAY), TODAY) == []


@pytest.mark.parametrize("diagnoses", [["I10", "I10"], ["E78.5", "E785"], ["I10", "E78.5", "i10"]])
def test_duplicate_diagnosis(diagnoses):
    assert ("diagnoses", "icd.duplicate") in codes(check_encounter(encounter(diagnoses), TODAY))


def test_every_problem_is_reported_at_once():
    visit = encounter(["E11", "X99.999"], [("ABCDE", [], 1, [3])], dos=date(2026, 4, 1))
    assert sorted(f.code for f in check_encounter(visit, TODAY)) == [
        "dos.future",
        "icd.not_billable",
        "icd.unknown",
        "pointer.range",
        "procedure.form",
    ]


def test_findings_carry_no_input_values():
    findings = check_encounter(encounter(["X99.999"], [("ABCDE", [], 1, [1])]), TODAY)
    for finding in findings:
        assert "X99" not in finding.message and "ABCDE" not in finding.message


def test_service_lines_are_numbered_from_one_in_documented_order():
    visit = encounter(["M17.11"], [("99214", ["25"], 1, [1]), ("20610", ["RT"], 1, [1]), ("j3301", [], 10, [1])])
    lines = service_lines(visit)
    assert [(l.line_number, l.procedure_code, l.modifiers, l.units, l.diagnosis_pointers) for l in lines] == [
        (1, "99214", ["25"], 1, [1]),
        (2, "20610", ["RT"], 1, [1]),
        (3, "J3301", [], 10, [1]),
    ]
