"""FHIR R4 bundles read into a registration and an encounter; refusals name FHIR paths."""

import json
from pathlib import Path

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
        "entry.1.resource.payor.0",
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


# ---- a bundle written from the FHIR specification (a transaction, references by urn:uuid) -------

SPEC = Path(__file__).resolve().parents[3] / "services" / "registration" / "examples" / "fhir-bundle-transaction.json"
PATIENT_ID = "9a1c6a0e-2b8e-4a37-9d1c-6c1f5a0b7e21"


def spec(edit=None) -> dict:
    document = json.loads(SPEC.read_text())
    if edit:
        edit({e["resource"]["resourceType"] + str(n): e["resource"] for n, e in enumerate(document["entry"])})
    return document


def test_a_bundle_written_from_the_specification_is_read_whole():
    """The payer by reference to an Organization, the member id as a Coverage identifier of type MB, the
    place of service from the Location's type, the billing provider from serviceProvider, units from a
    ChargeItem, codes picked by their system among others."""
    intake = read_bundle(spec())
    [coverage] = intake.registration.coverages
    assert (coverage.payer_id, coverage.payer_name, coverage.member_id) == (
        "SIMAETNA",
        "SIMULATED CARE PLAN",
        "SIM300400500",
    )
    assert problems(intake.registration, load_directory().ids()) == []
    documented = intake.documented(PATIENT_ID)
    assert (documented.place_of_service, documented.billing_provider_npi) == ("22", "1245319599")
    assert [d.code for d in documented.diagnoses] == ["E11.9"]  # the ICD-10-CM coding, not the SNOMED one
    assert [(p.code, p.units) for p in documented.procedures] == [("99214", 1), ("82947", 2)]
    assert (documented.version, documented.action) == (1, "original")


def test_the_place_of_service_extension_wins_and_nothing_means_office():
    def extension(r):
        r["Encounter7"]["extension"] = [{"url": "urn:openrcm:fhir:place-of-service", "valueCode": "02"}]

    assert read_bundle(spec(extension)).documented(PATIENT_ID).place_of_service == "02"
    assert read_bundle(spec(lambda r: r["Encounter7"].pop("location"))).documented(PATIENT_ID).place_of_service == "11"


def test_a_payer_organization_needs_an_identifier_and_must_be_in_the_bundle():
    with pytest.raises(IntakeInvalid) as caught:
        read_bundle(spec(lambda r: r["Organization1"].pop("identifier")))
    assert paths(caught) == ["entry.1.resource.identifier"]
    with pytest.raises(IntakeInvalid) as caught:
        read_bundle(spec(lambda r: r["Coverage2"].update(payor=[{"reference": "Organization/elsewhere"}])))
    assert paths(caught) == ["entry.2.resource.payor.0"]


def test_a_new_version_of_the_encounter_corrects_it_and_entered_in_error_voids_it():
    corrected = read_bundle(spec(lambda r: r["Encounter7"]["meta"].update(versionId="2"))).documented(PATIENT_ID)
    assert (corrected.version, corrected.action) == (2, "correct")

    def void(r):
        r["Encounter7"].update(status="entered-in-error", meta={"versionId": "3"})

    voided = read_bundle(spec(void)).documented(PATIENT_ID)
    assert (voided.version, voided.action) == (3, "void")


@pytest.mark.parametrize(
    ("encounter", "message"),
    [
        ({"status": "entered-in-error", "meta": {}}, "needs its version"),
        ({"meta": {"versionId": "v2"}}, "whole number"),
    ],
)
def test_a_version_we_cannot_order_is_refused_at_meta_version_id(encounter, message):
    with pytest.raises(IntakeInvalid) as caught:
        read_bundle(spec(lambda r: r["Encounter7"].update(encounter)))
    assert paths(caught) == ["entry.7.resource.meta.versionId"] and message in caught.value.errors[0].msg


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda r: r["Coverage2"].pop("status"), "entry.2.resource.status"),  # 1..1 in R4
        (lambda r: r["Encounter7"].pop("class"), "entry.7.resource.class"),  # 1..1 in R4
        (lambda r: r["Encounter7"].update(status="done"), "entry.7.resource.status"),  # not in the value set
    ],
)
def test_the_bundle_is_validated_against_the_fhir_r4_structure_before_it_is_read(edit, path):
    with pytest.raises(IntakeInvalid) as caught:
        read_bundle(spec(edit))
    assert any(p.startswith(path) for p in paths(caught)), paths(caught)
