"""The AsyncAPI catalogue is what the contracts say: one channel per topic, one message per event
version with its exported JSON Schema; it is regenerated, never edited."""

import json
from pathlib import Path

import services
from shared.contracts import asyncapi, check, topics
from shared.contracts.events import EVENT_MODELS, event_type
from shared.contracts.export import ASYNCAPI_FILE, SCHEMA_DIR

FIX = "shared/contracts/asyncapi.yaml drifted from the contracts: run `./rcm export-schemas` and commit it"


def test_committed_catalogue_equals_the_contracts():
    assert ASYNCAPI_FILE.read_text() == asyncapi.render(), FIX


def test_every_event_is_a_message_on_its_topic_with_its_schema(asyncapi_doc):
    doc = asyncapi_doc
    assert doc["asyncapi"] == "3.0.0"
    messages = doc["components"]["messages"]
    assert set(messages) == {*EVENT_MODELS, asyncapi.DEAD_LETTER}
    for name, message in messages.items():
        if name == asyncapi.DEAD_LETTER:
            continue
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
        asyncapi.document([])
    except ValueError as exc:
        assert "nowhere.v1" in str(exc)
    else:
        raise AssertionError("an event without a topic was catalogued")


def test_operations_follow_the_services_declarations(asyncapi_doc):
    doc = asyncapi_doc
    operations = doc["operations"]
    for name in services.NAMES:
        declaration = services.declaration(name)
        sends = {op["channel"]["$ref"].split("/")[-1] for key, op in operations.items()
                 if key.startswith(f"{name}.") and op["action"] == "send"}  # fmt: skip
        receives = {op["channel"]["$ref"].split("/")[-1] for key, op in operations.items()
                    if key.startswith(f"{name}.") and op["action"] == "receive"}  # fmt: skip
        assert receives == set(declaration.consumed_topics)
        assert sends == set(declaration.publishes) | {topics.dead_letter_topic(t) for t in declaration.consumed_topics}
    for op in operations.values():  # every reference resolves in the document
        channel = doc["channels"][op["channel"]["$ref"].split("/")[-1]]
        for message in op["messages"]:
            assert message["$ref"].split("/")[-1] in channel["messages"]


def test_messages_have_clean_summaries_examples_and_the_2020_12_dialect(asyncapi_doc):
    messages = asyncapi_doc["components"]["messages"]
    for name, message in messages.items():
        assert message["summary"].endswith((".", "!", "?")) and "!!!" not in message["description"], name
        assert message["payload"]["schemaFormat"] == "application/schema+json;version=draft-2020-12"
        if name != asyncapi.DEAD_LETTER:
            assert message["examples"] and message["headers"]["required"][:2] == ["ce_specversion", "ce_id"]
            for example in message["examples"]:
                assert check.value_violations(name, json.dumps(example["payload"]).encode()) == []


def test_dead_letter_channels_carry_the_dead_letter_message(asyncapi_doc):
    doc = asyncapi_doc
    for topic in topics.EVENT_TOPICS:
        channel = doc["channels"][topics.dead_letter_topic(topic)]
        assert channel["messages"] == {asyncapi.DEAD_LETTER: {"$ref": f"#/components/messages/{asyncapi.DEAD_LETTER}"}}


def test_a_model_without_its_own_docstring_is_refused():
    class Undocumented(EVENT_MODELS["payment.posted.v1"]):  # type: ignore[misc, valid-type]
        pass

    try:
        asyncapi.describe(Undocumented)
    except ValueError as exc:
        assert "docstring" in str(exc)
    else:
        raise AssertionError("a model inherited its parent's text")
