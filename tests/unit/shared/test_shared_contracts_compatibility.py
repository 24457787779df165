"""CI's compatibility check: a change to a published contract must not break the consumers of the
last release (FULL compatibility, as schema registries define it), and a changed contract is a new
release number. The checker itself is tried on changes known to break and known to be safe."""

import copy
import json

import pytest

from shared.contracts.compatibility import breaking_changes
from shared.contracts.events import CONTRACTS_VERSION
from shared.contracts.export import RELEASED_DIR, render_schemas

FIX = (
    "a published contract changed incompatibly: make it additive (a new optional field) or publish a new "
    "event version ('.v2') beside this one"
)

BASE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["claim_id", "amounts"],
    "properties": {
        "claim_id": {"type": "string", "format": "uuid"},
        "outcome": {"enum": ["paid", "denied"], "type": "string"},
        "note": {"anyOf": [{"type": "string", "maxLength": 60}, {"type": "null"}], "default": None},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}},
        "amounts": {"$ref": "#/$defs/Amounts"},
    },
    "$defs": {
        "Line": {"type": "object", "properties": {"units": {"type": "integer", "minimum": 1}}},
        "Amounts": {"type": "object", "required": ["paid"], "properties": {"paid": {"type": "string"}}},
    },
}


def changed(edit) -> dict:
    schema = copy.deepcopy(BASE)
    edit(schema)
    return schema


SAFE = {
    "nothing": lambda s: None,
    # BASE's root is closed (additionalProperties false), its definitions open
    "a new optional property in an open object": lambda s: s["$defs"]["Amounts"]["properties"].update(
        currency={"type": "string"}
    ),
    "a new optional property in an open array item": lambda s: s["$defs"]["Line"]["properties"].update(
        note={"type": "string"}
    ),
    # records written under the new schema carry the same properties: readers of the old one read them
    "opened to new properties": lambda s: s.pop("additionalProperties"),
    "a description": lambda s: s["properties"]["claim_id"].update(description="The claim."),
    "an example": lambda s: s["$defs"]["Amounts"].update(examples=[{"paid": "1.00"}]),
}
BREAKING = {
    "a property removed": (lambda s: s["properties"].pop("outcome"), "outcome: removed"),
    "a property newly required": (lambda s: s["required"].append("outcome"), "outcome: newly required"),
    "a property no longer required": (lambda s: s["required"].remove("amounts"), "amounts: no longer required"),
    "a type changed": (lambda s: s["properties"]["claim_id"].update(type="integer"), "claim_id: type"),
    "made nullable": (
        lambda s: s["properties"].update(claim_id={"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}),
        "claim_id: alternatives",
    ),
    "an enum value added": (lambda s: s["properties"]["outcome"]["enum"].append("reversed"), "outcome: enum"),
    "an enum value removed": (lambda s: s["properties"]["outcome"]["enum"].remove("denied"), "outcome: enum"),
    "a bound widened": (
        lambda s: s["properties"]["note"]["anyOf"][0].update(maxLength=80),
        "note: maxLength 60 became 80",
    ),
    "a pattern added in a definition": (
        lambda s: s["$defs"]["Amounts"]["properties"]["paid"].update(pattern=r"^\d+\.\d{2}$"),
        "amounts.paid: pattern",
    ),
    "an array item's bound": (lambda s: s["$defs"]["Line"]["properties"]["units"].update(minimum=0), "lines[].units"),
    "a new optional property in a closed object": (
        lambda s: s["properties"].update(kind={"type": "string"}),
        "kind: added to a closed object",
    ),
    "opened and given a new property at once": (
        lambda s: (s.pop("additionalProperties"), s["properties"].update(kind={"type": "string"})),
        "kind: added to a closed object",
    ),
    "closed to new properties": (
        lambda s: s["$defs"]["Amounts"].update(additionalProperties=False),
        "amounts: closed",
    ),
}


@pytest.mark.parametrize("edit", SAFE.values(), ids=SAFE.keys())
def test_compatible_changes_pass(edit):
    assert breaking_changes(BASE, changed(edit)) == []


@pytest.mark.parametrize(("edit", "expected"), BREAKING.values(), ids=BREAKING.keys())
def test_breaking_changes_are_named_with_their_path(edit, expected):
    found = breaking_changes(BASE, changed(edit))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_property_added_to_a_closed_definition_is_named_with_its_path():
    """Where readers of the old release refuse unknown properties, an addition breaks them."""
    closed = changed(lambda s: s["$defs"]["Amounts"].update(additionalProperties=False))
    added = copy.deepcopy(closed)
    added["$defs"]["Amounts"]["properties"]["currency"] = {"type": "string"}
    assert breaking_changes(closed, added) == [
        "amounts.currency: added to a closed object (consumers of the last release refuse it)"
    ]
    assert breaking_changes(BASE, changed(lambda s: s["$defs"]["Amounts"]["properties"].update(c={}))) == []


def released() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(RELEASED_DIR.glob("*.json"))}


def test_there_is_a_released_copy_of_every_released_event():
    assert released(), "no released schemas: run `python -m shared.contracts.export --release` at a release"


@pytest.mark.parametrize("file_name", sorted(p.name for p in RELEASED_DIR.glob("*.json")))
def test_current_contracts_do_not_break_consumers_of_the_last_release(file_name):
    current = render_schemas()
    assert file_name in current, f"{file_name} was released and is gone: {FIX}"
    assert breaking_changes(released()[file_name], json.loads(current[file_name])) == [], FIX


def test_a_changed_contract_has_a_new_release_number():
    """Consumers pin a release: two different contracts must not share its number."""

    def content(schema: dict) -> dict:
        return {k: v for k, v in schema.items() if k != "x-version"}

    old = released()
    last = {schema["x-version"] for schema in old.values()}
    assert len(last) == 1
    current = {name: json.loads(text) for name, text in render_schemas().items()}
    if any(content(old.get(name, {})) != content(schema) for name, schema in current.items()):
        assert _release(CONTRACTS_VERSION) > _release(last.pop()), (
            "the contracts changed since the last release: raise CONTRACTS_VERSION (shared/contracts/events.py) "
            "and run ./rcm export-schemas"
        )


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))
