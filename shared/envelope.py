"""CloudEvents 1.0 Kafka binding, binary mode: attributes in `ce_*` headers, the value is the
plain JSON data (so analysts can read it with any tool), the key is the aggregate id."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Generic, TypeVar
from uuid import UUID, uuid4

from pydantic import ValidationError

from shared.contracts.events import EVENT_MODELS, Contract, Finding, event_type, name_of, schema_id

T = TypeVar("T", bound=Contract)

name_of_contract = cache(name_of)  # a contract's event name (name_of looks through every contract)
CORRELATION_HEADER = "ce_correlationid"  # CloudEvents extension: one id per encounter journey
CONTENT_TYPE = "application/json"


class EnvelopeError(ValueError):
    """The record is not a well-formed event of the expected type: dead-letter it. One finding per
    violation (field = the attribute or the body's path, code = e.g. envelope.missing, schema.int_type)."""

    def __init__(self, findings: list[Finding]):
        super().__init__("; ".join(f"{f.field}: {f.message} [{f.code}]" for f in findings))
        self.findings = findings


@dataclass(frozen=True)
class Event(Generic[T]):
    data: T
    subject: str  # aggregate id; also the Kafka key
    source: str
    correlation_id: str
    id: UUID = field(default_factory=uuid4)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def type(self) -> str:
        return event_type(name_of_contract(type(self.data)))

    @property
    def schema_name(self) -> str:
        return name_of_contract(type(self.data))

    def headers(self) -> list[tuple[str, bytes]]:
        pairs = {
            "ce_specversion": "1.0",
            "ce_id": str(self.id),
            "ce_type": self.type,
            "ce_source": self.source,
            "ce_time": self.time.isoformat(),
            "ce_subject": self.subject,
            "ce_dataschema": schema_id(self.schema_name),
            "content-type": CONTENT_TYPE,
            CORRELATION_HEADER: self.correlation_id,
        }
        return [(k, v.encode()) for k, v in pairs.items()]

    def value(self) -> bytes:
        return self.data.model_dump_json().encode()


REQUIRED_ATTRIBUTES = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type")


def decode(
    headers: Sequence[tuple[str, bytes | None]], value: bytes | None, expected: type[T], key: bytes | None
) -> Event[T]:
    """Validate a record against the contract it must carry: the CloudEvents attributes as the README
    documents them, then the value against the published JSON Schema (strictly: "2" is not an
    integer, "195" is not money; a property it does not know is ignored in the contracts our
    services publish, refused in encounter.documented: `Contract.tolerant_reader`). Raises
    EnvelopeError with one finding per violation, each with its own code; the messages name
    attributes and field paths, never the payload's content."""
    attrs, problems = _attributes(headers)
    problems += _envelope_problems(attrs, expected, key)
    if not value:
        problems.append(Finding(field="(value)", code="envelope.empty", message="empty value"))
    if problems and any(p.code in ("envelope.type", "envelope.empty") for p in problems):
        raise EnvelopeError(problems)  # the value cannot be read as this contract
    try:
        data = expected.read_json(value or b"")  # unknown properties: ignored or refused, as the contract says
    except ValidationError as exc:
        problems += schema_findings(exc)
    if problems:
        raise EnvelopeError(problems)
    event_id = UUID(attrs["ce_id"])
    return Event(
        data=data,
        subject=attrs["ce_subject"],
        source=attrs["ce_source"],
        correlation_id=attrs.get(CORRELATION_HEADER) or str(event_id),
        id=event_id,
        time=datetime.fromisoformat(attrs["ce_time"]),
    )


def _attributes(headers: Sequence[tuple[str, bytes | None]]) -> tuple[dict[str, str], list[Finding]]:
    """The CloudEvents attributes (ce_* and content-type) as text, and what is wrong with their encoding."""
    attrs: dict[str, str] = {}
    problems = []
    for name, raw in headers:
        if not (name.startswith("ce_") or name == "content-type"):
            continue
        if name in attrs:
            problems.append(_problem(name, "envelope.duplicate", "the header is given twice"))
        elif raw is None:
            problems.append(_problem(name, "envelope.no_value", "the header has no value"))
        else:
            try:
                attrs[name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(_problem(name, "envelope.encoding", "headers are not UTF-8"))
    return attrs, problems


def _envelope_problems(attrs: dict[str, str], expected: type[T], key: bytes | None) -> list[Finding]:
    name = name_of_contract(expected)
    problems = [
        _problem(attribute, "envelope.missing", "required CloudEvents attribute is missing")
        for attribute in (*REQUIRED_ATTRIBUTES, "ce_subject")
        if attribute not in attrs
    ]
    checks = (
        ("ce_specversion", lambda v: v == "1.0", "envelope.specversion", "must be 1.0"),
        ("ce_id", _is_uuid, "envelope.id", "must be a UUID"),
        ("ce_source", _is_uri_reference, "envelope.source", "must be a non-empty URI-reference, e.g. /ehr/acme"),
        ("ce_time", _is_rfc3339, "envelope.time", "must be an RFC 3339 date-time with a time zone"),
        ("content-type", _is_json, "envelope.content_type", f"must be {CONTENT_TYPE} (binary mode)"),
        ("ce_dataschema", lambda v: v == schema_id(name), "envelope.dataschema", f"must be {schema_id(name)}"),
    )
    problems += [_problem(a, code, msg) for a, ok, code, msg in checks if a in attrs and not ok(attrs[a])]
    if "ce_type" in attrs and attrs["ce_type"] != event_type(name):
        message = f"unexpected ce_type {attrs['ce_type'][:80]!r}, this topic carries {event_type(name)!r}"
        problems.append(_problem("ce_type", "envelope.type", message))
    if not key:
        problems.append(_problem("(key)", "envelope.key", "the record key is required: the aggregate id"))
    elif "ce_subject" in attrs and attrs["ce_subject"].encode() != key:
        problems.append(_problem("ce_subject", "envelope.subject", "must equal the record key (the aggregate id)"))
    return problems


def _problem(attribute: str, code: str, message: str) -> Finding:
    return Finding(field=attribute, code=code, message=message)


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


NO_SPACE = re.compile(r"\S+")  # \s is str.isspace's whitespace (Unicode)


def _is_uri_reference(value: str) -> bool:
    return NO_SPACE.fullmatch(value) is not None


RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _is_rfc3339(value: str) -> bool:
    """A full date, a time with seconds and an offset (Python alone would also read dates and local times)."""
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return RFC3339.fullmatch(value) is not None


def _is_json(value: str) -> bool:
    return value.split(";")[0].strip().lower() == CONTENT_TYPE


def schema_findings(exc: ValidationError, limit: int = 20) -> list[Finding]:
    """One finding per schema violation: the field path and what is wrong, never the value (it may be PHI)."""
    return [
        Finding(
            field=".".join(str(p) for p in error["loc"]) or "(root)",
            code=f"schema.{error['type']}",
            message=error["msg"][:300],
        )
        for error in exc.errors(include_input=False, include_url=False, include_context=False)[:limit]
    ]


def describe(exc: ValidationError, limit: int = 10) -> str:
    """Field paths and what is wrong, never the offending values (they may be PHI)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:limit]:
        path = ".".join(str(p) for p in error["loc"]) or "(root)"
        parts.append(f"{path}: {error['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def model_for(event_name: str) -> type[Contract]:
    return EVENT_MODELS[event_name]
