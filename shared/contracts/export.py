"""Writes the JSON Schema of every event into shared/contracts/schemas (the published contract).
Run `python -m shared.contracts.export` (or `./rcm export-schemas`); a test fails when the files
drift from the models. `python -m shared.contracts.export --release` records them as released.

Each schema is JSON Schema 2020-12 (`$schema`), named by its `$id` (also the events'
ce_dataschema), and carries the contracts' release in `x-version`."""

import json
import sys
from pathlib import Path
from typing import Any

from shared.contracts.events import CONTRACTS_VERSION, EVENT_MODELS, event_type, schema_id

SCHEMA_DIR = Path(__file__).parent / "schemas"
ASYNCAPI_FILE = Path(__file__).parent / "asyncapi.yaml"
# The schemas as last released: the compatibility test compares the current ones against them.
RELEASED_DIR = Path(__file__).parent / "released"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_of(name: str) -> dict[str, Any]:
    """The published JSON Schema of one event (what travels: the serialized form). A tolerant
    reader's contract is published open (no `additionalProperties: false` anywhere, its $defs
    included): a reader of this release must accept the optional properties of the next."""
    model = EVENT_MODELS[name]
    schema = model.model_json_schema(mode="serialization")
    if model.tolerant_reader:
        schema = _opened(schema)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(name),
        "x-version": CONTRACTS_VERSION,
        "x-cloudevents-type": event_type(name),
        **schema,
    }


def _opened(node: Any) -> Any:
    """The schema with every `additionalProperties: false` dropped (unknown properties allowed)."""
    if isinstance(node, dict):
        return {k: _opened(v) for k, v in node.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(node, list):
        return [_opened(item) for item in node]
    return node


def render_schemas() -> dict[str, str]:
    return {f"{name}.json": json.dumps(schema_of(name), indent=2, sort_keys=True) + "\n" for name in EVENT_MODELS}


def release() -> None:
    """Record the current schemas as released (after a release of the contracts, never before)."""
    RELEASED_DIR.mkdir(exist_ok=True)
    for old in RELEASED_DIR.glob("*.json"):
        old.unlink()
    for file_name, text in render_schemas().items():
        (RELEASED_DIR / file_name).write_text(text)
    print(f"recorded {len(EVENT_MODELS)} schemas of release {CONTRACTS_VERSION} in {RELEASED_DIR}")


def main() -> None:
    if "--release" in sys.argv[1:]:
        release()
        return
    SCHEMA_DIR.mkdir(exist_ok=True)
    for file_name, text in render_schemas().items():
        (SCHEMA_DIR / file_name).write_text(text)
    print(f"wrote {len(EVENT_MODELS)} schemas to {SCHEMA_DIR}")
    from shared.contracts import asyncapi

    ASYNCAPI_FILE.write_text(asyncapi.render())
    print(f"wrote the AsyncAPI catalogue to {ASYNCAPI_FILE}")


if __name__ == "__main__":
    main()
