"""The demo's invented data must flow through coding and claims cleanly (or fail on purpose)."""

import uuid
from datetime import date, timedelta

import pytest

from rcmctl import sample
from services.claims.domain.practice import load_chargemaster
from services.coding.domain.validation import check_encounter
from services.registration.domain.patients import Registration

TODAY = date(2026, 3, 10)
PATIENT_IDS = [uuid.UUID(int=n + 1) for n in range(25)]
CHARGEMASTER = load_chargemaster()


def test_every_documented_visit_codes_cleanly_and_is_priced():
    # Every visit template, not only those a random draw happens to pick.
    for diagnoses, procedures in sample.VISITS:
        for code, _, _, _ in procedures:
            assert code in CHARGEMASTER, f"{code} has no price in services/claims/data/chargemaster.csv"
    encounters = sample.encounters(PATIENT_IDS, 300, faulty_rate=0, today=TODAY)
    seen = set()
    for encounter in encounters:
        assert check_encounter(encounter, TODAY) == [], encounter.encounter_id
        assert TODAY - timedelta(days=19) <= encounter.date_of_service < TODAY
        seen.add(tuple(d.code for d in encounter.diagnoses))
    assert len(seen) == len(sample.VISITS), "300 draws should reach every visit template"


def test_every_visit_template_passes_coding():
    template = sample.encounters(PATIENT_IDS, 1, faulty_rate=0, today=TODAY)[0]
    for diagnoses, procedures in sample.VISITS:
        encounter = type(template).model_validate(
            {
                **template.model_dump(mode="json"),
                "diagnoses": [{"code": c} for c in diagnoses],
                "procedures": [
                    {"code": c, "modifiers": m, "units": u, "diagnosis_pointers": p} for c, m, u, p in procedures
                ],
            }
        )
        assert check_encounter(encounter, TODAY) == [], diagnoses


def test_faulty_visits_always_have_a_finding():
    encounters = sample.encounters(PATIENT_IDS, 60, faulty_rate=1, today=TODAY)
    for encounter in encounters:
        findings = check_encounter(encounter, TODAY)
        assert findings, encounter.encounter_id
        assert {f.code for f in findings} <= {"icd.not_billable", "icd.unknown"}
    assert {e.diagnoses[0].code for e in encounters} == set(sample.FAULTY_DIAGNOSES)


def test_encounters_are_deterministic_for_a_seed():
    first = sample.encounters(PATIENT_IDS, 20, seed=3, today=TODAY)
    assert first == sample.encounters(PATIENT_IDS, 20, seed=3, today=TODAY)
    assert len({e.encounter_id for e in first}) == 20


@pytest.mark.parametrize("seed", [7, 8])
def test_sample_patients_are_valid_registrations(seed):
    patients = sample.patients(200, seed=seed)
    registrations = [Registration.model_validate(p) for p in patients]
    assert len({r.mrn for r in registrations}) == 200
    assert {r.coverages[0].payer_id for r in registrations} <= {p for p, _ in sample.PAYERS}
    assert all(r.coverages[0].rank == "primary" for r in registrations)
    assert sample.patients(5, seed=seed) == patients[:5]


def test_sample_coverages_are_active_for_recent_visits():
    for registration in (Registration.model_validate(p) for p in sample.patients(50)):
        coverage = registration.coverages[0]
        assert coverage.effective_date <= TODAY - timedelta(days=19)
        assert coverage.end_date is None
