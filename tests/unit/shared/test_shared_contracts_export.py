"""The published JSON Schemas must be exactly what the models say, and the analysts' topic carries
no direct patient identifiers."""

import json

from shared.contracts.events import EVENT_MODELS, event_type
from shared.contracts.export import SCHEMA_DIR, render_schemas

FIX = "the committed schemas drifted from the models: run `./rcm export-schemas` and commit shared/contracts/schemas/"
DIRECT_IDENTIFIERS = ("first_name", "last_name", "birth_date", "address", "member_id", "patient_id", "mrn", "phone")


def test_committed_schemas_equal_the_models():
    rendered = render_schemas()
    committed = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    assert sorted(committed) == sorted(rendered), FIX
    for name, text in rendered.items():
        assert committed[name] == text, f"{name}: {FIX}"


def test_every_event_model_has_a_schema_file():
    for name in EVENT_MODELS:
        path = SCHEMA_DIR / f"{name}.json"
        assert path.is_file(), f"{path.name} missing: {FIX}"
        schema = json.loads(path.read_text())
        assert schema["$id"] == f"urn:openrcm:schema:{name}"
        assert schema["x-cloudevents-type"] == event_type(name)


def property_names(node) -> set[str]:
    """Every property name anywhere in a JSON Schema, $defs included."""
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                names |= set(value)
            names |= property_names(value)
    elif isinstance(node, list):
        for item in node:
            names |= property_names(item)
    return names


def test_property_walker_sees_nested_definitions():
    names = property_names(json.loads(render_schemas()["patient.registered.v1.json"]))
    assert {"first_name", "member_id", "postal_code", "patient_id", "mrn"} <= names


def test_payment_posted_carries_no_direct_identifiers():
    names = property_names(json.loads((SCHEMA_DIR / "payment.posted.v1.json").read_text()))
    assert names, "no properties found: the walker is broken"
    leaking = sorted(n for n in names if any(ident in n.lower() for ident in DIRECT_IDENTIFIERS))
    assert leaking == []


def closed_objects(node, path="") -> list[str]:
    """Where a schema says additionalProperties: false, $defs included."""
    found = [path or "(root)"] if isinstance(node, dict) and node.get("additionalProperties") is False else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    return found + [p for key, value in children for p in closed_objects(value, f"{path}/{key}")]


def test_the_contracts_our_services_publish_are_open_and_the_inbound_ones_closed():
    """A reader of this release ignores the optional properties of the next one (a tolerant reader);
    what other systems send is refused when it carries a property the contract does not know."""
    schemas = {name: json.loads(text) for name, text in render_schemas().items()}
    for name, model in EVENT_MODELS.items():
        found = closed_objects(schemas[f"{name}.json"])
        if model.tolerant_reader:
            assert found == [], f"{name}: closed at {found}"
    documented = schemas["encounter.documented.v1.json"]
    assert documented["additionalProperties"] is False
    assert all(d.get("additionalProperties") is False for d in documented["$defs"].values())
    assert schemas["intake.fhir.v1.json"]["additionalProperties"] is True
    assert closed_objects({"$defs": {"A": {"additionalProperties": False}}}) == ["/$defs/A"]
