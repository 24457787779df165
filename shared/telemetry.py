"""OpenTelemetry tracing: one encounter's journey is one trace.

The trace id is derived from the event's correlation id (`ce_correlationid`, one per encounter), so
the spans of every service fall into the same trace even where a batch loop (the 837 batcher, the
835 poster) stands between consuming one event and publishing the next. Within that trace the W3C
`traceparent` header makes each consumer span the child of the producer span that staged the event:
it is written when the event is staged and travels through the outbox with the other headers. A
sender's own trace (an EHR that sends a traceparent) is kept as a span link.

Spans are exported only when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set, over
OTLP/HTTP; otherwise the headers still propagate and nothing is recorded. Tests hand configure()
an in-memory exporter."""

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any
from uuid import UUID

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

TRACE_HEADERS = ("traceparent", "tracestate")
# correlation id -> the consumer span handling that journey's event in the batch in hand
_journeys: ContextVar[dict[str, SpanContext]] = ContextVar("rcm_journeys")
_provider_set = False  # configure() found or installed the SDK's provider: asked per event, so a flag


def configure(service: str, exporter: SpanExporter | None = None) -> bool:
    """Installs the process's tracer provider once; True when spans will be exported."""
    wanted = exporter is not None or any(
        os.environ.get(name) for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    if not wanted:
        return False
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        name = os.environ.get("OTEL_SERVICE_NAME") or f"openrcm-{service}"
        provider = TracerProvider(resource=Resource.create({"service.name": name, "service.namespace": "openrcm"}))
        trace.set_tracer_provider(provider)
    global _provider_set
    _provider_set = isinstance(trace.get_tracer_provider(), TracerProvider)
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return True


def shutdown() -> None:
    """Flushes spans still queued (at service stop)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_millis=5000)


@lru_cache(maxsize=16384)  # a service meets a journey's id when it consumes and again when it stages
def journey(correlation_id: str) -> SpanContext:
    """The encounter's trace: its id, and a root span id every service agrees on."""
    digest = hashlib.sha256(f"openrcm-journey:{correlation_id}".encode()).digest()
    return SpanContext(
        trace_id=int.from_bytes(digest[:16]) or 1,
        span_id=int.from_bytes(digest[16:24]) or 1,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )


def _parent(correlation_id: str, upstream: SpanContext | None) -> tuple[Context, list[Link]]:
    """The upstream span when it belongs to this journey, else the journey's root (linking a
    foreign upstream trace, so the sender's trace can still be followed)."""
    parent, links = _parent_span(correlation_id, upstream)
    return trace.set_span_in_context(NonRecordingSpan(parent)), links


def _parent_span(correlation_id: str, upstream: SpanContext | None) -> tuple[SpanContext, list[Link]]:
    root = journey(correlation_id)
    if upstream is not None and upstream.is_valid and upstream.trace_id == root.trace_id:
        return upstream, []
    return root, [Link(upstream)] if upstream is not None and upstream.is_valid else []


def _recording() -> bool:
    """Whether spans are recorded (configure() installed a provider). When not, a span would only
    be its parent again (the API's no-op tracer), so the headers are derived without making one:
    per staged or consumed event that was a sizeable share of a service's CPU."""
    return _provider_set


def _tracer() -> trace.Tracer:
    return trace.get_tracer("openrcm")


def staged_headers(topic: str, event: Any) -> list[tuple[str, bytes]]:
    """A producer span for an event staged in the outbox (a child of whatever the service is doing
    for this journey); returns the headers that carry it to the consumers."""
    upstream = _journeys.get({}).get(event.correlation_id) or trace.get_current_span().get_span_context()
    if not _recording():
        parent_span, _ = _parent_span(event.correlation_id, upstream)
        if _w3c_only():
            return _w3c_headers(parent_span)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(NonRecordingSpan(parent_span)))
        return [(k, carrier[k].encode()) for k in TRACE_HEADERS if k in carrier]
    parent, links = _parent(event.correlation_id, upstream)
    attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.destination.name": topic,
        "messaging.message.id": str(event.id),
        "cloudevents.event_type": event.type,
        "cloudevents.event_source": event.source,
    }
    with _tracer().start_as_current_span(
        f"{topic} publish", context=parent, kind=SpanKind.PRODUCER, links=links, attributes=attributes
    ):
        carrier = {}
        propagate.inject(carrier)
    return [(k, carrier[k].encode()) for k in TRACE_HEADERS if k in carrier]


def upstream_of(headers: Any) -> SpanContext | None:
    carrier = {k: v.decode("utf-8", "replace") for k, v in headers or () if k in TRACE_HEADERS and v}
    if _w3c_only():
        return _w3c_span(carrier)
    context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
    return context if context.is_valid else None


# W3C Trace Context written and read here, not through the global propagator, when that is the
# default (tracecontext, baggage): per event on every hop the propagator's machinery cost 15-20 µs,
# the string a few. Baggage never rides on our events. Another propagator (OTEL_PROPAGATORS=b3 ...)
# is used as configured.
_TRACEPARENT = re.compile(r"^\s*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?\s*$")


def _w3c_only() -> bool:
    return _is_w3c(propagate.get_global_textmap())


@lru_cache(maxsize=4)
def _is_w3c(textmap: TextMapPropagator) -> bool:
    return set(textmap.fields) <= {"traceparent", "tracestate", "baggage"}


def _w3c_headers(span: SpanContext) -> list[tuple[str, bytes]]:
    if not span.is_valid:
        return []
    headers = [("traceparent", b"00-%032x-%016x-%02x" % (span.trace_id, span.span_id, span.trace_flags))]
    if span.trace_state:
        headers.append(("tracestate", span.trace_state.to_header().encode()))
    return headers


def _w3c_span(carrier: dict[str, str]) -> SpanContext | None:
    """What TraceContextTextMapPropagator.extract finds, or None where it finds no valid span."""
    match = _TRACEPARENT.match(carrier.get("traceparent", ""))
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or int(trace_id, 16) == 0 or int(span_id, 16) == 0:
        return None
    state = TraceState.from_header([carrier["tracestate"]]) if carrier.get("tracestate") else None
    return SpanContext(int(trace_id, 16), int(span_id, 16), True, TraceFlags(int(flags, 16)), state)


@contextmanager
def consuming(
    consumer: str, topic: str, events: list[Any], headers_by_id: dict[UUID, Any] | None = None
) -> Iterator[None]:
    """One consumer span per event around a batch handler. Handlers work set-based on the whole
    batch, so the span an event staged in the outbox descends from is found by its journey
    (correlation id), not by the current context. A failure marks every span with the exception's
    type only (messages may quote patient data)."""
    if not _recording():
        known = headers_by_id or {}
        parents = {e.correlation_id: _parent_span(e.correlation_id, upstream_of(known.get(e.id)))[0] for e in events}
        with _following(parents):
            yield
        return
    tracer, spans, journeys = _tracer(), [], {}
    for event in events:
        parent, links = _parent(event.correlation_id, upstream_of((headers_by_id or {}).get(event.id)))
        span = tracer.start_span(
            f"{topic} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": topic,
                "messaging.consumer.group.name": consumer,
                "messaging.message.id": str(event.id),
                "cloudevents.event_type": event.type,
            },
        )
        spans.append(span)
        journeys[event.correlation_id] = span.get_span_context()
    token = _journeys.set({**_journeys.get({}), **journeys})
    try:
        yield
    except BaseException as exc:
        for span in spans:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        _journeys.reset(token)
        for span in spans:
            span.end()


@contextmanager
def _following(journeys: dict[str, SpanContext]) -> Iterator[None]:
    """What a staged event of each journey descends from while the batch is handled."""
    token = _journeys.set({**_journeys.get({}), **journeys})
    try:
        yield
    finally:
        _journeys.reset(token)
