"""What travels is what the published schemas say. Every event, serialized exactly as the outbox
stages it, is checked against its EXPORTED JSON Schema and its AsyncAPI headers with jsonschema
(the files are the oracle, not the models); money is always a two-decimal string."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from shared import outbox
from shared.contracts import check
from shared.contracts.events import EVENT_MODELS, MONEY_PATTERN, AmountsByCategory, Contract
from shared.contracts.examples import example, examples_of
from shared.contracts.export import JSON_SCHEMA_DIALECT, SCHEMA_DIR
from shared.envelope import Event

CASES = [(name, title) for name in EVENT_MODELS for title in examples_of(name)]


class StagingSession:
    """Just enough of an AsyncSession for outbox.stage: the rows it would write before the commit."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}

    def rows(self) -> list[dict[str, Any]]:
        return self.info[outbox.STAGED]


def staged(name: str, data: Contract) -> dict[str, Any]:
    session = StagingSession()
    subject = "subject-1"
    outbox.stage(session, name.rsplit(".v", 1)[0], Event(data, subject, "/openrcm/tests", "corr-1"))  # type: ignore[arg-type]
    [row] = session.rows()
    return row


def exported(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text())


def test_every_event_has_an_example():
    assert {name for name, _ in CASES} == set(EVENT_MODELS)


@pytest.mark.parametrize(("name", "title"), CASES)
def test_every_event_as_the_outbox_writes_it_is_valid_against_its_exported_schema(name, title):
    row = staged(name, example(name, title))
    errors = [
        e.message
        for e in Draft202012Validator(exported(name), format_checker=check.FORMATS).iter_errors(
            json.loads(row["value"])
        )
    ]
    assert errors == []
    headers = [(k, v.encode()) for k, v in row["headers"]]
    assert check.violations(row["topic"], headers, row["key"].encode(), row["value"]) == []


@pytest.mark.parametrize("name", EVENT_MODELS)
def test_every_event_header_set_is_valid_against_its_asyncapi_message(name, asyncapi_doc):
    headers_schema = asyncapi_doc["components"]["messages"][name]["headers"]
    row = staged(name, example(name))
    errors = list(Draft202012Validator(headers_schema).iter_errors(dict(row["headers"])))
    assert errors == []


def test_the_schemas_are_an_oracle_that_can_fail():
    """The same checks refuse what a lax writer would send: loose money, a string where an integer is due."""
    posted = json.loads(staged("payment.posted.v1", example("payment.posted.v1"))["value"])
    posted["amounts"]["charge"] = "195"
    posted["lines"][0]["paid"] = 92.6
    found = check.value_violations("payment.posted.v1", json.dumps(posted).encode())
    assert found == ["value amounts.charge: fails pattern", "value lines.0.paid: fails type"]
    documented = examples_of("encounter.documented.v1")["default"] | {}
    documented["procedures"] = [{"code": "99213", "units": "2", "diagnosis_pointers": [1]}]
    assert check.value_violations("encounter.documented.v1", json.dumps(documented).encode()) == [
        "value procedures.0.units: fails type"
    ]


@pytest.mark.parametrize("amount", ["195", "0", "-12.5", "92.6", "1E+2", "-0", "0.10", "1234567890.99"])
def test_money_is_written_with_two_decimals_whatever_decimal_it_holds(amount):
    amounts = AmountsByCategory(**dict.fromkeys(AmountsByCategory.model_fields, Decimal(amount)))
    written = json.loads(amounts.model_dump_json())
    assert all(
        isinstance(v, str) and Draft202012Validator({"pattern": MONEY_PATTERN}).is_valid(v) for v in written.values()
    )
    assert AmountsByCategory.model_validate_json(amounts.model_dump_json(), strict=True) == amounts
    assert written["charge"] == f"{Decimal(amount).quantize(Decimal('0.01')):f}".replace("-0.00", "0.00")


def decimal_fields(model: type[BaseModel], path: str = "") -> list[str]:
    """Every field holding a Decimal anywhere in a contract (nested models and lists included)."""
    found = []
    for name, field in model.model_fields.items():
        stack = [field.annotation]
        while stack:
            annotation = stack.pop()
            if annotation is Decimal:
                found.append(f"{path}{name}")
            elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found += decimal_fields(annotation, f"{path}{name}.")
            else:
                stack += get_args(annotation)
    return found


def money_schemas(node: Any) -> int:
    """How many times the money pattern appears in a schema."""
    if isinstance(node, dict):
        return (node.get("pattern") == MONEY_PATTERN) + sum(money_schemas(v) for v in node.values())
    return sum(money_schemas(v) for v in node) if isinstance(node, list) else 0


@pytest.mark.parametrize("name", EVENT_MODELS)
def test_every_amount_of_every_contract_is_money_with_its_pattern(name):
    model = EVENT_MODELS[name]
    for field_path in decimal_fields(model):
        *parents, leaf = field_path.split(".")
        owner: type[BaseModel] = model
        for parent in parents:
            owner = next(a for a in _models(owner.model_fields[parent].annotation))
        schema = owner.model_json_schema(mode="serialization")["properties"][leaf]
        assert money_schemas(schema) == 1, f"{name}: {field_path} is a Decimal without the money pattern"


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def test_the_walker_finds_nested_money():
    assert {"amounts.charge", "lines.paid", "claim_adjustments.amount"} <= set(
        decimal_fields(EVENT_MODELS["payment.posted.v1"])
    )


@pytest.mark.parametrize("name", EVENT_MODELS)
def test_schemas_declare_their_dialect_id_and_version(name):
    schema = exported(name)
    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert schema["$id"] == f"urn:openrcm:schema:{name}"
    assert schema["x-version"].count(".") == 2
    Draft202012Validator.check_schema(schema)


def test_the_schema_directory_holds_only_published_events():
    assert sorted(p.name for p in Path(SCHEMA_DIR).glob("*.json")) == sorted(f"{n}.json" for n in EVENT_MODELS)


def test_the_schemas_accept_a_later_releases_property_where_we_publish_and_refuse_it_inbound():
    posted = json.loads(staged("payment.posted.v1", example("payment.posted.v1"))["value"])
    posted["added_later"] = posted["amounts"]["added_later"] = "x"
    assert check.value_violations("payment.posted.v1", json.dumps(posted).encode()) == []
    documented = examples_of("encounter.documented.v1")["default"] | {"added_later": "x"}
    assert check.value_violations("encounter.documented.v1", json.dumps(documented).encode()) == [
        "value (root): fails additionalProperties"
    ]


def test_a_deployment_check_reports_in_one_line_what_it_read_per_topic():
    found = check.Findings()
    found.records.update({"payment.posted": 3, "encounter.documented": 5, "claim.submitted.dlt": 1})
    found.violations["payment.posted: value amounts.charge: fails pattern"] += 2
    assert found.line() == (
        "9 records read (encounter.documented 5, payment.posted 3, claim.submitted.dlt 1), 2 violations"
    )
    assert found.without_records(["encounter.documented", "encounter.coded"]) == ["encounter.coded"]
    assert list(check.details(found.violations)) == ["       2  payment.posted: value amounts.charge: fails pattern"]
