"""Plays the EHR: registers patients over HTTP and publishes documented encounters to the
inbound topic, the way an outside system integrates with the platform."""

import asyncio
import uuid

import httpx
from aiokafka import AIOKafkaProducer

from rcmctl.processes import Platform
from shared.contracts.events import EncounterDocumentedV1
from shared.contracts.topics import ENCOUNTER_DOCUMENTED
from shared.envelope import Event

SOURCE = "/ehr/sample"


async def register_patients(
    platform: Platform, registrations: list[dict], concurrency: int = 16, auth: httpx.Auth | None = None
) -> list[uuid.UUID]:
    """POST /v1/patients for each, as `auth` (the EHR's client credentials) or as the platform calls."""
    limit = asyncio.Semaphore(concurrency)
    async with platform.async_client("registration", auth=auth) as client:

        async def register(body: dict) -> uuid.UUID:
            async with limit:
                response = await client.post("/v1/patients", json=body)
                response.raise_for_status()
                return uuid.UUID(response.json()["patient_id"])

        return list(await asyncio.gather(*(register(body) for body in registrations)))


def encounter_event(encounter: EncounterDocumentedV1) -> Event:
    return Event(encounter, encounter.encounter_id, SOURCE, correlation_id=str(uuid.uuid4()))


async def publish_encounters(platform: Platform, encounters: list[EncounterDocumentedV1], on_sent=None) -> list[Event]:
    producer = AIOKafkaProducer(
        bootstrap_servers=platform.stack.kafka_bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    events = [encounter_event(e) for e in encounters]
    try:
        topic = platform.namespace + ENCOUNTER_DOCUMENTED
        deliveries = [
            await producer.send(topic, value=event.value(), key=event.subject.encode(), headers=event.headers())
            for event in events
        ]
        for delivery in deliveries:
            await delivery
            if on_sent:
                on_sent()
    finally:
        await producer.stop()
    return events
