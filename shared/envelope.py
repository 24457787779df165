"""CloudEvents 1.0 Kafka binding, binary mode: attributes in `ce_*` headers, the value is the
plain JSON data (so analysts can read it with any tool), the key is the aggregate id."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar
from uuid import UUID, uuid4

from pydantic import ValidationError

from shared.contracts.events import EVENT_MODELS, Contract, event_type, name_of

T = TypeVar("T", bound=Contract)

CORRELATION_HEADER = "ce_correlationid"  # CloudEvents extension: one id per encounter journey
CONTENT_TYPE = "application/json"


class EnvelopeError(ValueError):
    """The record is not a well-formed event of the expected type: dead-letter it."""


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
        return event_type(name_of(type(self.data)))

    @property
    def schema_name(self) -> str:
        return name_of(type(self.data))

    def headers(self) -> list[tuple[str, bytes]]:
        pairs = {
            "ce_specversion": "1.0",
            "ce_id": str(self.id),
            "ce_type": self.type,
            "ce_source": self.source,
            "ce_time": self.time.isoformat(),
            "ce_subject": self.subject,
            "ce_dataschema": f"urn:openrcm:schema:{self.schema_name}",
            "content-type": CONTENT_TYPE,
            CORRELATION_HEADER: self.correlation_id,
        }
        return [(k, v.encode()) for k, v in pairs.items()]

    def value(self) -> bytes:
        return self.data.model_dump_json().encode()


def decode(headers: Sequence[tuple[str, bytes]], value: bytes | None, expected: type[T]) -> Event[T]:
    """Validate a record against the contract it must carry. Raises EnvelopeError with a reason
    short enough for a dead-letter header and free of the payload's content."""
    attributes = [(k, v) for k, v in headers if k.startswith("ce_") or k == "content-type"]
    if any(v is None for _, v in attributes):
        raise EnvelopeError("a CloudEvents header has no value")
    try:
        attrs = {k: v.decode("utf-8") for k, v in attributes}
    except UnicodeDecodeError as exc:
        raise EnvelopeError("headers are not UTF-8") from exc
    expected_type = event_type(name_of(expected))
    if attrs.get("ce_specversion") != "1.0":
        raise EnvelopeError("missing or unsupported ce_specversion")
    if attrs.get("ce_type") != expected_type:
        raise EnvelopeError(f"unexpected ce_type {attrs.get('ce_type', '')[:80]!r}, want {expected_type!r}")
    try:
        event_id = UUID(attrs["ce_id"])
        time = datetime.fromisoformat(attrs["ce_time"])
    except (KeyError, ValueError) as exc:
        raise EnvelopeError("ce_id must be a UUID and ce_time an ISO-8601 time") from exc
    if not value:
        raise EnvelopeError("empty value")
    try:
        data = expected.model_validate_json(value)
    except ValidationError as exc:
        raise EnvelopeError(f"schema: {describe(exc)}") from exc
    return Event(
        data=data,
        subject=attrs.get("ce_subject", ""),
        source=attrs.get("ce_source", ""),
        correlation_id=attrs.get(CORRELATION_HEADER) or str(event_id),
        id=event_id,
        time=time,
    )


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
