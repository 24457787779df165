"""The AsyncAPI 3.0 catalogue of every topic, generated from the contracts and the services'
Declarations: one channel per topic (and its dead-letter channel), one message per event version
with its exported JSON Schema (2020-12) as payload, the CloudEvents attributes as headers and the
examples of shared/contracts/examples.py; one operation per service and topic it sends or
receives. Written by `./rcm export-schemas` to shared/contracts/asyncapi.yaml; a test fails when
the file drifts."""

import inspect
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from shared.contracts import topics
from shared.contracts.events import CONTRACTS_VERSION, EVENT_MODELS, Contract, event_type, schema_id
from shared.contracts.examples import examples_of

if TYPE_CHECKING:
    from shared.service import Declaration

VERSION_SUFFIX = re.compile(r"\.v\d+$")
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
DEAD_LETTER = "dead-letter"
REQUIRED_HEADERS = ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type"]


def topic_notes() -> dict[str, str]:
    """topic -> the comment beside its constant in topics.py (who writes it, its key)."""
    notes = {}
    for line in inspect.getsource(topics).splitlines():
        if match := re.match(r'^[A-Z_]+ = "([^"]+)"\s*#\s*(.+)$', line):
            notes[match[1]] = match[2].strip()
    return notes


def describe(model: type[Contract]) -> tuple[str, str]:
    """(summary, description) from the model's own docstring: the summary is its first sentence
    whole, the description every paragraph (a docstring inherited from pydantic is not the model's)."""
    text = inspect.cleandoc(model.__dict__.get("__doc__") or "")
    if not text:
        raise ValueError(f"{model.__name__} has no docstring: say what the event means")
    flat = " ".join(text.split())
    sentence = re.match(r"(.+?[.!?])(\s|$)", flat)
    return (sentence[1] if sentence else flat), flat


def _headers(name: str) -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "required": REQUIRED_HEADERS,
        "properties": {
            "ce_specversion": {"const": "1.0"},
            "ce_id": {**text, "format": "uuid", "description": "Unique per event; consumers deduplicate on it."},
            "ce_type": {"const": event_type(name)},
            "ce_source": {**text, "minLength": 1, "description": "Who sent it, a URI-reference, e.g. /ehr/acme."},
            "ce_time": {**text, "format": "date-time", "description": "RFC 3339 with a time zone."},
            "ce_subject": {**text, "description": "The aggregate id; equal to the record key."},
            "ce_dataschema": {"const": schema_id(name), "description": "Optional; the payload schema's $id."},
            "ce_correlationid": {**text, "description": "Follows one encounter from intake to its last payment."},
            "content-type": {"const": "application/json"},
            "traceparent": {**text, "description": "W3C trace context of the producing span."},
        },
    }


def _example_headers(name: str, title: str) -> dict[str, str]:
    return {
        "ce_specversion": "1.0",
        "ce_id": "0b7e1a52-9c3d-4f8e-a1b2-c3d4e5f6a7b8",
        "ce_type": event_type(name),
        "ce_source": "/openrcm/example",
        "ce_time": "2026-11-27T15:04:05.123000+00:00",
        "ce_subject": "the aggregate id (also the key)",
        "ce_dataschema": schema_id(name),
        "content-type": "application/json",
        "ce_correlationid": "7f0c2d9e-3b4a-4c5d-8e6f-a7b8c9d0e1f2",
    }


def _message(name: str, model: type[Contract], key: str) -> dict[str, Any]:
    summary, description = describe(model)
    return {
        "name": name,
        "title": model.__name__,
        "summary": summary,
        "description": description,
        "contentType": "application/json",
        "headers": _headers(name),
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": {"$ref": f"./schemas/{name}.json"}},
        "bindings": {"kafka": {"key": {"type": "string", "description": key}}},
        "examples": [
            {"name": title, "headers": _example_headers(name, title), "payload": payload}
            for title, payload in examples_of(name).items()
        ],
    }


def _dead_letter_message() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "name": DEAD_LETTER,
        "title": "Dead letter",
        "summary": "A record a consumer could not handle, kept as it came with the reason beside it.",
        "description": "The original key, headers and bytes (which may not be valid JSON), plus dlt_* headers "
        "naming the fault by field path and code, never by value. `./rcm dlq replay <topic>` puts it back.",
        "headers": {
            "type": "object",
            "required": ["dlt_reason", "dlt_error_type", "dlt_consumer", "dlt_source_topic", "dlt_failed_at"],
            "properties": {
                "dlt_reason": {**text, "description": "Each violation as `path: what [code]`, joined by '; '."},
                "dlt_error_type": {**text, "description": "EnvelopeError (not a valid event), or the handler's."},
                "dlt_consumer": {**text, "description": "The consumer group that gave up, e.g. coding.encounter."},
                "dlt_source_topic": text,
                "dlt_source_partition": text,
                "dlt_source_offset": text,
                "dlt_attempts": text,
                "dlt_failed_at": {**text, "format": "date-time"},
            },
        },
        "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": {"description": "The original record's value, as is."}},
    }


def _channels(notes: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {DEAD_LETTER: _dead_letter_message()}
    for name, model in EVENT_MODELS.items():
        topic = VERSION_SUFFIX.sub("", name)
        if topic not in topics.EVENT_TOPICS:
            raise ValueError(f"event {name} has no topic {topic!r} in topics.EVENT_TOPICS")
        messages[name] = _message(name, model, notes.get(topic, "the aggregate id"))
        channel = channels.setdefault(topic, {"address": topic, "description": notes.get(topic, ""), "messages": {}})
        channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    for topic in [t for t in topics.EVENT_TOPICS if t in channels]:
        dead = topics.dead_letter_topic(topic)
        channels[dead] = {
            "address": dead,
            "description": f"Records of {topic} a consumer could not handle.",
            "messages": {DEAD_LETTER: {"$ref": f"#/components/messages/{DEAD_LETTER}"}},
        }
    return channels, messages


def _operation(service: str, action: str, topic: str, channels: dict[str, Any], why: str) -> tuple[str, Any]:
    pointer = topic.replace("~", "~0").replace("/", "~1")
    return f"{service}.{action}.{topic}", {
        "action": action,
        "channel": {"$ref": f"#/channels/{pointer}"},
        "summary": f"{service} {why} {topic}.",
        "messages": [{"$ref": f"#/channels/{pointer}/messages/{m}"} for m in channels[topic]["messages"]],
    }


def operations(declarations: Iterable["Declaration"], channels: dict[str, Any]) -> dict[str, Any]:
    """What each service sends and receives, from its Declaration; a consumer also sends the records
    it cannot handle to the topic's dead-letter channel."""
    found: dict[str, Any] = {}
    for declaration in declarations:
        for topic in sorted(declaration.consumed_topics):
            for key, op in (
                _operation(declaration.name, "receive", topic, channels, "consumes"),
                _operation(declaration.name, "send", topics.dead_letter_topic(topic), channels, "dead-letters to"),
            ):
                found[key] = op
        for topic in sorted(declaration.publishes):
            key, op = _operation(declaration.name, "send", topic, channels, "publishes")
            found[key] = op
    return found


def document(declarations: Iterable["Declaration"]) -> dict[str, Any]:
    channels, messages = _channels(topic_notes())
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "OpenRCM events",
            "version": CONTRACTS_VERSION,
            "description": "Every topic of the platform. Records are CloudEvents 1.0 in Kafka binary mode: the "
            "attributes in ce_* headers, the value plain JSON valid against the message's JSON Schema (2020-12), "
            "money as a two-decimal string. Deployments may prefix topic names (RCM_TOPIC_PREFIX). Events change "
            "only additively within a version; consumers ignore properties they do not know.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations(declarations, channels),
        "components": {"messages": messages},
    }


def service_declarations() -> list["Declaration"]:
    """Every service's Declaration (imports the services' wiring: a generator's need, not the contracts')."""
    import services

    return [services.declaration(name) for name in services.NAMES]


def render() -> str:
    import yaml  # a dev dependency: only `./rcm export-schemas` and the tests render the catalogue

    header = (
        "# Generated by `./rcm export-schemas` from shared/contracts and the services' Declarations. Do not edit.\n"
    )
    return header + str(
        yaml.safe_dump(document(service_declarations()), sort_keys=False, width=110, allow_unicode=True)
    )
