"""Without an exporter no span is made, yet the traceparent headers are what the no-op tracer would
have carried: a staged event descends from the upstream span of its journey, else from the
journey's root (so a trace is whole the moment someone turns export on downstream)."""

from dataclasses import dataclass, field
from uuid import UUID, uuid4

import pytest

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
