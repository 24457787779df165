"""A consumer's check of what travels, with the published schemas as the only oracle (not the
models): every record of every topic must carry the CloudEvents attributes its AsyncAPI message
documents and a value valid against its exported JSON Schema; a dead letter must carry its
dlt_* headers. Usable as a library (`violations`) or over a running deployment:

    python -m shared.contracts.check --bootstrap 127.0.0.1:19092 [--topic-prefix ns.]

exits 1 when any record breaks its contract (each violation printed, never a value)."""

import argparse
import asyncio
import json
import re
import sys
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from .topics import ALL_TOPICS, DEAD_LETTER_SUFFIX

HERE = Path(__file__).parent
SCHEMA_DIR = HERE / "schemas"
NAMESPACE = "org.openrcm."
DEAD_LETTER_HEADERS = ("dlt_reason", "dlt_error_type", "dlt_consumer", "dlt_source_topic", "dlt_failed_at")
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats constrain strings only
    datetime.fromisoformat(value)
    return RFC3339.fullmatch(value) is not None


FORMATS = FormatChecker()  # date, uuid, ... and date-time, which jsonschema checks only with an extra package
FORMATS.checks("date-time", raises=ValueError)(_is_date_time)


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """Event name ('claim.submitted.v1') -> its published JSON Schema, as the files say."""
    return {path.name.removesuffix(".json"): json.loads(path.read_text()) for path in sorted(SCHEMA_DIR.glob("*.json"))}


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schemas()[name], format_checker=FORMATS)


def _text(headers: Sequence[tuple[str, bytes | None]]) -> tuple[dict[str, str], list[str]]:
    found: dict[str, str] = {}
    problems = []
    for key, value in headers:
        try:
            text = (value or b"").decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"header {key}: not UTF-8")
            continue
        if key in found and (key.startswith("ce_") or key == "content-type"):
            problems.append(f"header {key}: given twice")
        found[key] = text
    return found, problems


def header_violations(topic: str, headers: dict[str, str], key: bytes | None) -> list[str]:
    """What the AsyncAPI headers schema of the topic's message requires, and the key = ce_subject rule."""
    name = headers.get("ce_type", "").removeprefix(NAMESPACE)
    problems = [f"header {h}: missing" for h in ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time",
                                                  "ce_subject", "content-type") if h not in headers]  # fmt: skip
    if name not in schemas() or name.rsplit(".v", 1)[0] != topic:
        return [*problems, f"header ce_type: not an event of {topic}"]
    if headers.get("ce_specversion", "1.0") != "1.0":
        problems.append("header ce_specversion: not 1.0")
    if "ce_id" in headers and not _is_uuid(headers["ce_id"]):
        problems.append("header ce_id: not a UUID")
    if "ce_time" in headers and not RFC3339.fullmatch(headers["ce_time"]):
        problems.append("header ce_time: not an RFC 3339 date-time")
    if headers.get("ce_dataschema", schemas()[name]["$id"]) != schemas()[name]["$id"]:
        problems.append("header ce_dataschema: not the schema's $id")
    if headers.get("content-type", "application/json").split(";")[0].strip() != "application/json":
        problems.append("header content-type: not application/json")
    if not key or headers.get("ce_subject", key.decode(errors="replace")) != key.decode(errors="replace"):
        problems.append("key: missing or not the ce_subject")
    return problems


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def value_violations(name: str, value: bytes | None) -> list[str]:
    """The value against the event's exported JSON Schema: each violation's path and rule, never the value."""
    try:
        document = json.loads(value or b"")
    except ValueError:
        return ["value: not JSON"]
    return [
        f"value {'.'.join(map(str, error.absolute_path)) or '(root)'}: fails {error.validator}"
        for error in sorted(validator(name).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def violations(
    topic: str, headers: Sequence[tuple[str, bytes | None]], key: bytes | None, value: bytes | None
) -> list[str]:
    """Every way one record breaks the published contract of `topic` (without any deployment prefix)."""
    text, problems = _text(headers)
    if topic.endswith(DEAD_LETTER_SUFFIX):
        return problems + [f"dead letter: header {h} missing" for h in DEAD_LETTER_HEADERS if h not in text]
    problems += header_violations(topic, text, key)
    name = text.get("ce_type", "").removeprefix(NAMESPACE)
    return problems + (value_violations(name, value) if name in schemas() else [])


@dataclass
class Findings:
    """What a check of a deployment found: the records read by topic (without the deployment's
    prefix; dead-letter topics by their own name) and the violations by topic and kind."""

    records: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)

    @property
    def read(self) -> int:
        return sum(self.records.values())

    def without_records(self, topics: Iterable[str]) -> list[str]:
        """Those of `topics` of which not one record was read."""
        return [t for t in topics if not self.records[t]]

    def line(self) -> str:
        """One line: records read, per topic (in the catalogue's order), and violations."""
        order = {t: i for i, t in enumerate(ALL_TOPICS)}
        topics = sorted(self.records, key=lambda t: (order.get(t, len(order)), t))
        per_topic = ", ".join(f"{t} {self.records[t]}" for t in topics if self.records[t])
        return (
            f"{self.read} records read ({per_topic or 'no topic had any'}), {sum(self.violations.values())} violations"
        )


async def read_deployment(bootstrap: str, prefix: str = "", idle_seconds: float = 3.0) -> Findings:
    """Reads every topic of the deployment from the beginning up to its end when the read began (or
    until nothing came for `idle_seconds`) and checks every record against its published contract."""
    from aiokafka import AIOKafkaConsumer  # only this entry point needs a broker client

    wanted = [prefix + t for t in ALL_TOPICS]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"contract-check-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found = Findings()
    try:
        existing = await consumer.topics()
        consumer.subscribe([t for t in wanted if t in existing])
        loop = asyncio.get_running_loop()
        joined_by = loop.time() + 30  # joining a new group: the broker may wait a few seconds for others
        while consumer.subscription() and not consumer.assignment() and loop.time() < joined_by:
            await asyncio.sleep(0.1)
        assigned = list(consumer.assignment())
        starts, ends = await consumer.beginning_offsets(assigned), await consumer.end_offsets(assigned)
        pending = {tp for tp in assigned if ends[tp] > starts[tp]}
        while pending and (batches := await consumer.getmany(timeout_ms=int(idle_seconds * 1000))):
            for partition, records in batches.items():
                topic = partition.topic.removeprefix(prefix)
                found.records[topic] += len(records)
                for record in records:
                    found.violations.update(
                        f"{topic}: {v}" for v in violations(topic, record.headers, record.key, record.value)
                    )
                if records and records[-1].offset + 1 >= ends.get(partition, 0):
                    pending.discard(partition)
    finally:
        await consumer.stop()
    return found


async def check_deployment(bootstrap: str, prefix: str = "", idle_seconds: float = 3.0) -> tuple[int, Counter[str]]:
    """Reads every topic from the beginning; (records read, violations by topic and kind)."""
    found = await read_deployment(bootstrap, prefix, idle_seconds)
    return found.read, found.violations


def report(read: int, found: Counter[str]) -> Iterable[str]:
    yield f"{read} records read, {sum(found.values())} violations"
    yield from details(found)


def details(found: Counter[str]) -> Iterable[str]:
    """Each kind of violation with its count (paths and rules, never values)."""
    for violation, count in sorted(found.items()):
        yield f"  {count:6d}  {violation}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--topic-prefix", default="", help="the deployment's RCM_TOPIC_PREFIX, if any")
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    args = parser.parse_args()
    found = asyncio.run(read_deployment(args.bootstrap, args.topic_prefix, args.idle_seconds))
    print("\n".join([found.line(), *details(found.violations)]))
    sys.exit(1 if found.violations else 0)


if __name__ == "__main__":
    main()
