"""The AsyncAPI catalogue is what the contracts say: one channel per topic, one message per event
version with its exported JSON Schema; it is regenerated, never edited."""

from pathlib import Path

import yaml

from shared.contracts import asyncapi, topics
from shared.contracts.events import EVENT_MODELS, event_type
from shared.contracts.export import ASYNCAPI_FILE, SCHEMA_DIR

FIX = "shared/contracts/asyncapi.yaml drifted from the contracts: run `./rcm export-schemas` and commit it"


def test_committed_catalogue_equals_the_contracts():
    assert ASYNCAPI_FILE.read_text() == asyncapi.render(), FIX


def test_every_event_is_a_message_on_its_topic_with_its_schema():
    doc = yaml.safe_load(ASYNCAPI_FILE.read_text())
    assert doc["asyncapi"] == "3.0.0"
    messages = doc["components"]["messages"]
    assert set(messages) == set(EVENT_MODELS)
    for name, message in messages.items():
        schema = message["payload"]["schema"]["$ref"]
        assert (ASYNCAPI_FILE.parent / schema).resolve() == (SCHEMA_DIR / f"{name}.json").resolve()
        assert Path(SCHEMA_DIR / f"{name}.json").is_file()
        assert message["headers"]["properties"]["ce_type"]["const"] == event_type(name)
        topic = name.rsplit(".v", 1)[0]
        assert doc["channels"][topic]["messages"][name] == {"$ref": f"#/components/messages/{name}"}
    assert doc["channels"]["payment.posted"]["description"].endswith("key: claim id")
    assert topics.dead_letter_topic("payment.posted") in doc["channels"]


def test_an_event_without_a_topic_is_refused(monkeypatch):
    monkeypatch.setitem(EVENT_MODELS, "nowhere.v1", EVENT_MODELS["payment.posted.v1"])
    try:
        asyncapi.document()
    except ValueError as exc:
        assert "nowhere.v1" in str(exc)
    else:
        raise AssertionError("an event without a topic was catalogued")
