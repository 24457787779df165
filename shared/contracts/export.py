"""Writes the JSON Schema of every event into shared/contracts/schemas (the published contract).
Run `python -m shared.contracts.export`; a test fails when the files drift from the models."""

import json
from pathlib import Path

from shared.contracts.events import EVENT_MODELS, event_type

SCHEMA_DIR = Path(__file__).parent / "schemas"
ASYNCAPI_FILE = Path(__file__).parent / "asyncapi.yaml"


def render_schemas() -> dict[str, str]:
    rendered = {}
    for name, model in EVENT_MODELS.items():
        schema = model.model_json_schema(mode="serialization")
        schema["$id"] = f"urn:openrcm:schema:{name}"
        schema["x-cloudevents-type"] = event_type(name)
        rendered[f"{name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered


def main() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for file_name, text in render_schemas().items():
        (SCHEMA_DIR / file_name).write_text(text)
    print(f"wrote {len(EVENT_MODELS)} schemas to {SCHEMA_DIR}")
    from shared.contracts import asyncapi

    ASYNCAPI_FILE.write_text(asyncapi.render())
    print(f"wrote the AsyncAPI catalogue to {ASYNCAPI_FILE}")


if __name__ == "__main__":
    main()
