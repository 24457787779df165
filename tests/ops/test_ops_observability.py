"""Tracing and metrics: one encounter's journey is one trace across services (through the outbox),
and the consumer-lag gauge reads the real broker."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.ar_followup.app import LEDGER
from services.ar_followup.app import build as build_ar
from services.claims.app import build as build_claims
from services.claims.settings import ClaimsSettings
from shared import metrics, telemetry
from shared.contracts import topics
from shared.service import Service
from shared.settings import ServiceSettings
from tests.integration.test_claims import coded_event, patient_event
from tests.kit import eventually, publish, running, scalar, settings_for


@pytest.fixture(scope="session")
def exporter() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    assert telemetry.configure("tests", exporter=exporter)
    return exporter


@pytest.fixture
def spans(exporter):
    exporter.clear()
    yield exporter
    exporter.clear()


def test_a_staged_event_descends_from_the_consumer_span_of_its_journey(spans):
    consumed = patient_event(7)
    with telemetry.consuming("claims.patient.registered", topics.PATIENT_REGISTERED, [consumed]):
        headers = dict(telemetry.staged_headers(topics.CLAIM_SUBMITTED, consumed))
    consumer, producer = sorted(spans.get_finished_spans(), key=lambda s: s.kind is SpanKind.PRODUCER)
    assert consumer.kind is SpanKind.CONSUMER and producer.kind is SpanKind.PRODUCER
    assert producer.parent.span_id == consumer.context.span_id
    assert consumer.context.trace_id == telemetry.journey(consumed.correlation_id).trace_id
    assert headers["traceparent"].decode() == f"00-{producer.context.trace_id:032x}-{producer.context.span_id:016x}-01"


def test_a_failed_handler_marks_its_spans_without_the_message(spans):
    event = patient_event(8)
    with (
        pytest.raises(ValueError),
        telemetry.consuming("claims.patient.registered", topics.PATIENT_REGISTERED, [event]),
    ):
        raise ValueError("Jane Doe born 1970-01-01")  # a message that quotes patient data
    (span,) = spans.get_finished_spans()
    assert not span.status.is_ok and span.status.description == "ValueError"
    assert "Jane" not in repr(span.attributes) + repr(span.events)


@pytest.mark.integration
async def test_one_encounter_is_one_trace_across_claims_and_ar(platform, spans):
    claims = build_claims(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2))
    ar = build_ar(settings_for(platform, ServiceSettings, "ar_followup"))
    patient = patient_event(3)
    coded = coded_event(3, patient.data.patient_id)
    # The EHR's own trace: kept as a link, while the journey's trace id comes from the correlation id.
    sender = trace.SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=trace.TraceFlags(1))
    sender_headers = [("traceparent", f"00-{sender.trace_id:032x}-{sender.span_id:016x}-01".encode())]
    async with running(claims), running(ar):
        await publish(platform, topics.PATIENT_REGISTERED, [patient])
        await publish(
            platform,
            topics.ENCOUNTER_CODED,
            raw=[(coded.subject.encode(), coded.headers() + sender_headers, coded.value())],
        )
        await eventually(lambda: scalar(ar, "SELECT count(*) FROM ar_claim"), timeout=60)

    journey = telemetry.journey(coded.correlation_id).trace_id
    mine = [s for s in spans.get_finished_spans() if s.context.trace_id == journey]
    by_name = {s.name: s for s in mine}
    coded_process = by_name[f"{topics.ENCOUNTER_CODED} process"]
    submitted_publish = by_name[f"{topics.CLAIM_SUBMITTED} publish"]
    submitted_process = by_name[f"{topics.CLAIM_SUBMITTED} process"]
    assert [link.context.span_id for link in coded_process.links] == [sender.span_id]
    # claims staged claim.submitted in its 837 batch loop; A/R's span is the child of that span.
    assert submitted_process.parent.span_id == submitted_publish.context.span_id
    assert submitted_process.attributes["messaging.consumer.group.name"] == "ar_followup.claim.submitted"


@pytest.mark.integration
async def test_consumer_lag_is_high_watermark_minus_position(platform):
    topic = platform.namespace + topics.ENCOUNTER_REJECTED
    producer = AIOKafkaProducer(bootstrap_servers=platform.stack.kafka_bootstrap)
    await producer.start()
    try:
        for n in range(30):
            await producer.send(topic, value=b"{}", key=b"k", partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=platform.stack.kafka_bootstrap,
        group_id=f"lag-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        max_poll_records=10,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        await eventually(lambda: _assigned(consumer))
        assert sum((await metrics.lag_by_partition(consumer)).values()) == 30  # nothing fetched yet
        fetched = 0
        while fetched < 10:
            fetched += sum(
                len(batch) for batch in (await consumer.getmany(timeout_ms=500, max_records=10 - fetched)).values()
            )
        lags = await metrics.lag_by_partition(consumer)
    finally:
        await consumer.stop()
    assert lags[(topic, 0)] == 20 and sum(lags.values()) == 20


async def _assigned(consumer) -> bool:
    return bool(consumer.assignment())


@pytest.mark.integration
async def test_services_export_consumer_lag_on_metrics(platform, monkeypatch):
    monkeypatch.setattr(Service, "lag_interval", 0.2)
    ar = build_ar(settings_for(platform, ServiceSettings, "ar_followup"))
    group = f"{platform.namespace}{LEDGER}"  # A/R's one writer of the ledgers reads payment.posted among others
    async with running(ar) as client:

        async def exported():
            text = (await client.get("/metrics")).text
            return [
                line
                for line in text.splitlines()
                if line.startswith("rcm_consumer_lag{") and group in line and topics.PAYMENT_POSTED in line
            ]

        lines = await eventually(exported, timeout=20)
    assert any(line.endswith(" 0.0") for line in lines)
