"""Computer-assisted coding on realistic documentation: the codes each must get, the E/M level
under the 2021 AMA rules, and what goes to a coder instead (uncertain, negated, hostile input)."""

import uuid
from datetime import date

import pytest

from rcmctl import sample
from services.coding.catalog import _default_indexes
from services.coding.domain.cac import AUTO_CONFIDENCE, mdm_level, suggest_diagnoses, suggest_em, time_level
from services.coding.domain.decision import propose
from services.coding.domain.edits import EditTables, PatientFacts
from services.coding.domain.validation import check_encounter, default_code_sets
from shared.contracts.events import EncounterDocumentedV1


@pytest.fixture(scope="module")
def indexes():
    """The ICD-10-CM search index (seconds to build): built when a test here runs, not at collection."""
    return _default_indexes()


TODAY = date(2026, 11, 30)


def documented(**fields) -> EncounterDocumentedV1:
    return EncounterDocumentedV1.model_validate(
        {
            "encounter_id": "ENC-CAC-1",
            "patient_id": str(uuid.UUID(int=9)),
            "date_of_service": "2026-11-20",
            "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
            **fields,
        }
    )


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("HTN", "I10"),
        ("Essential hypertension", "I10"),
        ("high blood pressure", "I10"),
        ("type 2 diabetes without complications", "E119"),
        ("Type II DM", "E119"),
        ("T2DM", "E119"),
        ("Hyperlipidemia", "E785"),
        ("high cholesterol", "E785"),
        ("URI", "J069"),
        ("UTI", "N390"),
        ("strep throat", "J020"),
        ("GERD", "K219"),
        ("COPD", "J449"),
        ("low back pain", "M5450"),
        ("need for flu vaccine", "Z23"),
        ("hypothyroidism", "E039"),
        ("atrial fibrillation", "I4891"),
    ],
)
def test_statements_get_the_codes_they_must(statement, code, indexes):
    [suggestion] = suggest_diagnoses(indexes.diagnoses, [statement], "diagnosis_statements")
    assert suggestion.code == code
    assert suggestion.confidence >= AUTO_CONFIDENCE
    assert suggestion.evidence["source"] == "diagnosis_statements[0]" and suggestion.evidence["matched_words"]


@pytest.mark.parametrize(
    "statement",
    [
        "rule out pneumonia",
        "no evidence of diabetes",
        "probable UTI",
        "denies chest pain",
        "right knee pain vs meniscal tear",
    ],
)
def test_uncertain_or_negated_statements_are_never_confident(statement, indexes):
    suggestions = suggest_diagnoses(indexes.diagnoses, [statement], "diagnosis_statements")
    assert all(s.confidence < AUTO_CONFIDENCE for s in suggestions)


@pytest.mark.parametrize(
    "statement", ["", "   ", "!!!", "'; DROP TABLE coding_outcome;--", "x" * 250, "\u202e\u0000\ufffd", "the of and"]
)
def test_hostile_statements_give_no_confident_suggestion_and_no_crash(statement, indexes):
    assert all(s.confidence < AUTO_CONFIDENCE for s in suggest_diagnoses(indexes.diagnoses, [statement], "d"))


@pytest.mark.parametrize(
    ("minutes", "kind", "level"),
    [
        (9, "established", None),
        (10, "established", 0),
        (20, "established", 1),
        (39, "established", 2),
        (40, "established", 3),
        (14, "new", None),
        (45, "new", 2),
    ],
)
def test_em_level_by_total_time(minutes, kind, level):
    assert time_level(minutes, kind) == level


@pytest.mark.parametrize(
    ("problems", "data", "risk", "level"),
    [
        ("moderate", "low", "moderate", 2),
        ("high", "minimal", "low", 1),
        ("high", "high", "minimal", 3),
        ("minimal", "minimal", "high", 0),
    ],
)
def test_em_level_by_medical_decision_making_two_of_three(problems, data, risk, level):
    assert mdm_level(problems, data, risk) == level


def test_em_suggestion_takes_the_more_favourable_of_time_and_mdm():
    em = suggest_em("established", 25, {"problems": "moderate", "data": "moderate", "risk": "low"})
    assert em.code == "99214" and em.evidence["chosen_by"] == "medical decision making"
    assert suggest_em("new", 62, None).code == "99205"
    assert suggest_em(None, 30, None).confidence < AUTO_CONFIDENCE  # new or established unknown


def test_a_documented_visit_without_codes_is_auto_coded(indexes):
    visit = documented(
        diagnosis_statements=["Type 2 diabetes without complications", "HTN"],
        patient_type="established",
        total_time_minutes=32,
        problem_list=["Hyperlipidemia"],
    )
    assert check_encounter(visit, TODAY) == []
    proposal = propose(visit, default_code_sets(), EditTables(), indexes, None)
    assert proposal.automatic, proposal.findings
    assert proposal.diagnoses == ["E119", "I10"]
    assert [(l.procedure_code, l.diagnosis_pointers) for l in proposal.service_lines] == [("99214", [1, 2])]
    em = next(s for s in proposal.suggestions if s.kind == "em")
    assert em.evidence["total_time_minutes"] == 32
    assert "E785" in [s.code for s in proposal.suggestions]  # problem list: a hint, not billed


def test_an_em_code_the_documentation_does_not_support_goes_to_a_coder(indexes):
    visit = documented(
        diagnoses=[{"code": "I10"}], procedures=[{"code": "99215"}], patient_type="established", total_time_minutes=22
    )
    proposal = propose(visit, default_code_sets(), EditTables(), indexes, None)
    assert [f.code for f in proposal.findings] == ["em.level"]


def test_uncertain_documentation_goes_to_a_coder(indexes):
    visit = documented(diagnosis_statements=["rule out pneumonia"], patient_type="new", total_time_minutes=35)
    proposal = propose(visit, default_code_sets(), EditTables(), indexes, None)
    assert not proposal.automatic and "cac.low_confidence" in [f.code for f in proposal.findings]


def test_age_and_sex_edit_sends_a_clean_visit_to_a_coder(indexes):
    visit = documented(diagnoses=[{"code": "N40.1"}], procedures=[{"code": "99213"}])
    assert propose(visit, default_code_sets(), EditTables(), indexes, PatientFacts(date(1950, 1, 1), "M")).automatic
    female = propose(visit, default_code_sets(), EditTables(), indexes, PatientFacts(date(1950, 1, 1), "F"))
    assert [f.code for f in female.findings] == ["icd.sex"]


def test_every_sample_visit_but_the_faulty_is_auto_coded(indexes):
    """The demo's and e2e test's encounters: clean ones are coded automatically, whoever the patient."""
    patients = [uuid.uuid4() for _ in range(5)]
    visits = sample.encounters(patients, 300, faulty_rate=0.1, seed=5, today=TODAY)
    facts = [PatientFacts(date(1940, 1, 1), "F"), PatientFacts(date(2019, 6, 1), "M"), None]
    for n, visit in enumerate(visits):
        if check_encounter(visit, TODAY):
            assert visit.diagnoses[0].code in sample.FAULTY_DIAGNOSES
            continue
        proposal = propose(visit, default_code_sets(), EditTables(), indexes, facts[n % 3])
        assert proposal.automatic, (visit.diagnoses, proposal.findings)
