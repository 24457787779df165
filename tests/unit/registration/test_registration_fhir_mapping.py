"""FHIR R4 bundles read into a registration and an encounter; refusals name FHIR paths."""

import pytest

from services.registration.domain.fhir import IntakeInvalid, read_bundle
from services.registration.domain.patients import problems
from services.registration.domain.payers import load_directory
from tests.unit.registration.fhir_bundles import bundle


def paths(caught) -> list[str]:
    return [".".join(map(str, e.loc)) for e in caught.value.errors]


def test_the_example_bundle_reads_completely():
    intake = read_bundle(bundle())
    reg = intake.registration
    assert (reg.facility, reg.mrn) == ("SPRINGFIELD", "EHR-MRN-1")
    assert (reg.patient.first_name, reg.patient.sex, reg.patient.phone) == ("Åsa", "F", "2175550142")
    assert reg.patient.address.line2 == "Apt 3"
    primary, secondary = reg.coverages
    assert (primary.rank, primary.payer_id, primary.member_id, primary.group_number, primary.plan_name) == (
        "primary",
        "SIMBC",
        "SIM555001",
        "GRP0042",
        "Blue PPO",
    )
    assert (secondary.relationship, secondary.subscriber.first_name, secondary.subscriber.address.postal_code) == (
        "spouse",
        "Erik",
        "627041234",
    )
    assert str(secondary.end_date) == "2027-01-31"
    assert problems(reg, load_directory().ids()) == []
    documented = intake.documented("9a1c6a0e-2b8e-4a37-9d1c-6c1f5a0b7e21")
    assert documented.encounter_id == "FHIR-ENC-1" and str(documented.date_of_service) == "2026-11-20"
    assert [d.code for d in documented.diagnoses] == ["E11.9", "I10"]  # by rank, not by order in the bundle
    assert [(p.code, p.diagnosis_pointers) for p in documented.procedures] == [("99214", [1, 2]), ("83036", [1])]
    assert documented.rendering_provider.npi == "1093817462"


def test_a_bundle_without_encounter_only_registers():
    assert read_bundle(bundle(encounter_id=None)).documented("9a1c6a0e-2b8e-4a37-9d1c-6c1f5a0b7e21") is None


def test_schema_errors_are_fhir_paths():
    document = bundle()
    document["entry"][0]["resource"]["birthDate"] = "17/03/1984"
    document["entry"][1]["resource"]["order"] = "first"
    with pytest.raises(IntakeInvalid) as caught:
        read_bundle(document)
    assert paths(caught) == ["entry.0.resource.birthDate", "entry.1.resource.order"]


def test_missing_pieces_are_each_named():
    document = bundle()
    patient, coverage = document["entry"][0]["resource"], document["entry"][1]["resource"]
    patient["identifier"][0]["type"]["coding"][0]["code"] = "SS"
    del coverage["payor"][0]["identifier"]
    coverage["beneficiary"] = {"reference": "Patient/nobody"}
    del document["entry"][4]  # the Practitioner
    with pytest.raises(IntakeInvalid) as caught:
        read_bundle(document)
    assert paths(caught) == [
        "entry.0.resource.identifier",
        "entry.1.resource.beneficiary",
        "entry.1.resource.payor.0.identifier",
        "entry.6.resource.participant.0.individual",
        "entry.6.resource.participant",
    ]


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "type": "collection"},
        "DROP TABLE patient",
        {"resourceType": "Bundle", "type": "collection", "entry": 5},
    ],
)
def test_things_that_are_not_intake_bundles_are_refused(document):
    with pytest.raises(IntakeInvalid):
        read_bundle(document)
