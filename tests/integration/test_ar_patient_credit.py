"""A/R and a patient payment that reaches no claim (paid at check-in, before any balance): it is the
patient's credit at payments, nothing to book in A/R, and never a dead letter."""

import uuid
from datetime import UTC, datetime

import pytest

from services.ar_followup.app import build
from services.ar_followup.settings import ArSettings
from shared.contracts import topics
from shared.contracts.events import PatientPaymentPostedV1
from shared.envelope import Event
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration


def credit_only(patient_id: uuid.UUID) -> Event:
    data = PatientPaymentPostedV1(
        payment_id=uuid.uuid4(),
        patient_id=patient_id,
        kind="payment",
        amount="40.00",
        method="card",
        applications=[],
        unapplied="40.00",
        received_at=datetime.now(UTC),
    )
    return Event(data, str(patient_id), "/test/payments", str(uuid.uuid4()))


async def test_a_payment_with_no_open_balance_is_consumed_not_dead_lettered(platform):
    service = build(settings_for(platform, ArSettings, "ar_followup"))
    async with running(service):
        event = credit_only(uuid.uuid4())
        await publish(platform, topics.PATIENT_PAYMENT_POSTED, [event])
        await eventually(lambda: scalar(service, "SELECT count(*) FROM inbox WHERE event_id = :e", e=event.id))
    assert await read_topic(platform, topics.PATIENT_PAYMENT_POSTED + ".dlt", expect=1, timeout=3) == []
