"""Without an exporter no span is made, yet the traceparent headers are what the no-op tracer would
have carried: a staged event descends from the upstream span of its journey, else from the
journey's root (so a trace is whole the moment someone turns export on downstream)."""

from dataclasses import dataclass, field
from uuid import UUID, uuid4

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared import telemetry


@dataclass
class Staged:
    correlation_id: str
    id: UUID = field(default_factory=uuid4)
    type: str = "org.openrcm.test.v1"
    source: str = "/openrcm/test"


def traceparent(trace_id: int, span_id: int) -> bytes:
    return f"00-{trace_id:032x}-{span_id:016x}-01".encode()


@pytest.fixture(autouse=True)
def not_recording(monkeypatch):
    monkeypatch.setattr(telemetry, "_recording", lambda: False)


def test_an_event_staged_outside_a_batch_descends_from_its_journeys_root():
    root = telemetry.journey("enc-1")
    assert dict(telemetry.staged_headers("claim.submitted", Staged("enc-1"))) == {
        "traceparent": traceparent(root.trace_id, root.span_id)
    }


def test_an_event_staged_while_its_journey_is_consumed_descends_from_the_upstream_span():
    root, consumed = telemetry.journey("enc-2"), Staged("enc-2")
    upstream = [("traceparent", traceparent(root.trace_id, 0xABCDEF))]
    with telemetry.consuming("claims", "encounter.coded", [consumed], {consumed.id: upstream}):
        headers = dict(telemetry.staged_headers("claim.submitted", Staged("enc-2")))
    assert headers == {"traceparent": traceparent(root.trace_id, 0xABCDEF)}
    # after the batch the journey is no longer being consumed here
    assert dict(telemetry.staged_headers("claim.submitted", Staged("enc-2")))["traceparent"] == traceparent(
        root.trace_id, root.span_id
    )


def test_a_foreign_upstream_trace_is_not_the_parent():
    root, consumed = telemetry.journey("enc-3"), Staged("enc-3")
    foreign = [("traceparent", traceparent(0x1234, 0x5678))]
    with telemetry.consuming("coding", "encounter.documented", [consumed], {consumed.id: foreign}):
        headers = dict(telemetry.staged_headers("encounter.coded", Staged("enc-3")))
    assert headers == {"traceparent": traceparent(root.trace_id, root.span_id)}


def test_a_failure_in_the_batch_still_leaves_the_journeys_behind():
    consumed = Staged("enc-4")
    with pytest.raises(RuntimeError), telemetry.consuming("coding", "encounter.documented", [consumed]):
        raise RuntimeError("boom")
    root = telemetry.journey("enc-4")
    assert dict(telemetry.staged_headers("x", Staged("enc-4")))["traceparent"] == traceparent(
        root.trace_id, root.span_id
    )


PARENTS = [
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
    "  00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01  ",
    "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future-fields",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  # version 00 has no more fields
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
    "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  # upper case is not the format
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
    "",
    "garbage",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n-x",
]
STATES = [None, "", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "not a=valid==state"]


@pytest.mark.parametrize("parent", PARENTS)
@pytest.mark.parametrize("state", STATES)
def test_trace_headers_are_read_as_the_w3c_propagator_reads_them(parent, state):
    """The direct reading (no propagator machinery per event) finds what OpenTelemetry's own does."""
    headers = [("traceparent", parent.encode())] + ([("tracestate", state.encode())] if state is not None else [])
    carrier = {k: v.decode() for k, v in headers if v}
    expected = TraceContextTextMapPropagator().extract(carrier)
    expected_span = trace.get_current_span(expected).get_span_context()
    found = telemetry.upstream_of(headers)
    if not expected_span.is_valid:
        assert found is None
    else:
        assert found == expected_span and found.trace_state == expected_span.trace_state


@pytest.mark.parametrize("state", ["", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"])
def test_trace_headers_are_written_as_the_w3c_propagator_writes_them(state):
    span = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, True, TraceFlags(1),
                       TraceState.from_header([state]) if state else None)  # fmt: skip
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, context=trace.set_span_in_context(NonRecordingSpan(span)))
    assert telemetry._w3c_headers(span) == [(k, v.encode()) for k, v in carrier.items()]
