"""FHIR R4 bundles as an EHR would send them (invented people)."""

import copy
import json
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "services" / "registration" / "examples" / "fhir-bundle.json"


def bundle(
    mrn: str = "EHR-MRN-1",
    encounter_id: str | None = "FHIR-ENC-1",
    family: str = "Lindqvist",
    member_id: str = "SIM555001",
) -> dict:
    document = copy.deepcopy(json.loads(EXAMPLE.read_text()))
    for entry in document["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            resource["identifier"][0]["value"] = mrn
            resource["name"][0]["family"] = family
        if resource["resourceType"] == "Coverage" and resource.get("order") == 1:
            resource["subscriberId"] = member_id
        if resource["resourceType"] == "Encounter":
            resource["identifier"][0]["value"] = encounter_id or "unused"
    if encounter_id is None:
        document["entry"] = [
            e
            for e in document["entry"]
            if e["resource"]["resourceType"] not in ("Encounter", "Condition", "Procedure", "Practitioner")
        ]
    return document
