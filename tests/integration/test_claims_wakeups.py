"""Claims' loops wake when there is work, not on a timer, on the real broker and database. The
fallback looks are set to 30 s here, so a claim (or an acknowledgement) that comes back within a
second or two shows the loop was woken: by the NOTIFY of the transaction that made the claim ready,
by its grouping window closing, by a delivery (the HTTP mailbox is then polled often). A claim another
replica built is left to it a while after its window, and then taken up at once."""

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.claims.app import build
from services.claims.settings import ClaimsSettings
from services.claims.submission import LEFT_TO_BUILDER_SECONDS
from shared.contracts import topics
from tests.integration.test_claims import coded_event, patient_event
from tests.integration.test_claims_acknowledgements import with_coverages
from tests.integration.test_claims_http_acknowledgements import http_settings, payer_answers
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from tests.unit.claims.clearinghouse_server import clearinghouse_server

pytestmark = pytest.mark.integration
FALLBACK = 30.0
THE_LISTENER = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%claim_ready%'"
LISTENING = f"SELECT count(*) {THE_LISTENER}"


async def submitted(service, encounter_id: str, since: str = "created_at") -> float | None:
    """Seconds from the claim's making (its transaction's start), or from `since`, to its hand-over to
    the clearinghouse."""
    return await scalar(
        service,
        f"SELECT extract(epoch FROM submitted_at - {since}) FROM claim WHERE encounter_id = :id",
        id=encounter_id,
    )


def coded_when(event, when: datetime):
    return replace(event, data=event.data.model_copy(update={"coded_at": when}))


async def head_start(service, encounter_id: str) -> float:
    """Seconds the claim's grouping window had been open when the claim was made."""
    return await scalar(
        service,
        "SELECT extract(epoch FROM created_at - window_opened_at) FROM claim WHERE encounter_id = :id",
        id=encounter_id,
    )


async def test_without_grouping_a_ready_claim_goes_out_at_once_also_after_the_listener_was_lost(platform):
    settings = settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=FALLBACK, group_encounters=False)
    service = build(settings)
    first, second = patient_event(90), patient_event(91)
    async with running(service):
        await eventually(lambda: scalar(service, LISTENING))
        await publish(platform, topics.PATIENT_REGISTERED, [first, second])
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(90, first.data.patient_id)])
        assert await eventually(lambda: submitted(service, "ENC-C90"), timeout=10) < 1.0
        # The listening connection is killed (a failover, a restart): it is made again.
        assert await scalar(service, f"SELECT count(pg_terminate_backend(pid)) {THE_LISTENER}") == 1
        await asyncio.sleep(0.2)
        await eventually(lambda: scalar(service, LISTENING), timeout=10)
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(91, second.data.patient_id)])
        assert await eventually(lambda: submitted(service, "ENC-C91"), timeout=10) < 1.0
        records = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=2, settle=0)
    assert sorted(json.loads(r.value)["encounter_id"] for r in records) == ["ENC-C90", "ENC-C91"]


async def test_with_grouping_a_claim_waits_out_its_window_then_goes_out_promptly(platform):
    window = 2.0
    settings = settings_for(
        platform, ClaimsSettings, "claims", batch_interval_seconds=FALLBACK, grouping_window_seconds=window
    )
    service = build(settings)
    early, late = patient_event(92), patient_event(93)
    async with running(service):
        await publish(platform, topics.PATIENT_REGISTERED, [early, late])
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(92, early.data.patient_id)])
        await asyncio.sleep(1.0)  # the second claim is made while the first one's window is open
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(93, late.data.patient_id)])
        waited = [
            await eventually(lambda n=n: submitted(service, f"ENC-C{n}", since="window_opened_at"), timeout=15)
            for n in (92, 93)
        ]
    assert all(window <= seconds < window + 1.0 for seconds in waited), waited


async def test_the_window_opens_when_the_encounter_was_coded_but_at_most_a_quarter_second_early(platform):
    """The time an encounter spent reaching claims is not added to its claim's wait; an encounter coded
    long ago (a backlog, a clock behind) still leaves most of the window for the ones queued behind it,
    and one stamped in the future (a clock ahead) opens it when the claim is made."""
    window = 1.5
    settings = settings_for(
        platform, ClaimsSettings, "claims", batch_interval_seconds=FALLBACK, grouping_window_seconds=window
    )
    service = build(settings)
    patients = [patient_event(n) for n in (96, 97, 98)]
    now = datetime.now(UTC)
    coded = [
        coded_when(coded_event(96, patients[0].data.patient_id), now - timedelta(seconds=0.1)),
        coded_when(coded_event(97, patients[1].data.patient_id), now - timedelta(minutes=10)),
        coded_when(coded_event(98, patients[2].data.patient_id), now + timedelta(minutes=10)),
    ]
    async with running(service):
        await publish(platform, topics.PATIENT_REGISTERED, patients)
        await eventually(lambda: scalar(service, "SELECT count(*) = 3 FROM claim_patient"))
        for event in coded:  # one batch each: a batch's claims open their windows at its newest encounter's time
            await publish(platform, topics.ENCOUNTER_CODED, [event])
            await eventually(
                lambda e=event: scalar(service, "SELECT 1 FROM claim WHERE encounter_id = :id", id=e.data.encounter_id)
            )
        starts = {n: await head_start(service, f"ENC-C{n}") for n in (96, 97, 98)}
        waited = [
            await eventually(lambda n=n: submitted(service, f"ENC-C{n}", since="window_opened_at"), timeout=15)
            for n in (96, 97, 98)
        ]
    assert 0.0 < starts[96] <= 0.25, starts  # coded 0.1 s before it was published, and on its way since
    assert starts[97] == pytest.approx(0.25), starts
    assert starts[98] == 0.0, starts
    assert all(window <= seconds < window + 1.0 for seconds in waited), waited


async def test_a_claim_is_left_to_the_replica_that_built_it_then_taken_up_once_that_one_is_gone(platform):
    window = 3.0
    settings = settings_for(
        platform, ClaimsSettings, "claims", batch_interval_seconds=FALLBACK, grouping_window_seconds=window
    )
    patient = patient_event(95)
    builder = build(settings)
    async with running(builder):  # makes the claim, and stops while its window is still open
        await publish(platform, topics.PATIENT_REGISTERED, [patient])
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(95, patient.data.patient_id)])
        await eventually(lambda: scalar(builder, "SELECT count(*) FROM claim WHERE encounter_id = 'ENC-C95'"))
    other = build(settings)  # another replica: it did not build the claim
    async with running(other):
        waited = await eventually(lambda: submitted(other, "ENC-C95", since="window_opened_at"), timeout=15)
    # Not when the window closed (the builder might still take it), and not at the 30 s fallback look.
    assert window + LEFT_TO_BUILDER_SECONDS <= waited < window + LEFT_TO_BUILDER_SECONDS + 1.5, waited


async def test_the_http_mailbox_is_polled_often_only_while_acknowledgements_are_awaited(platform):
    patient = with_coverages(patient_event(94))
    with clearinghouse_server() as server:  # the mailbox stays empty until the test puts the answers in
        service = build(http_settings(platform, server, ack_fallback_seconds=FALLBACK))

        async def listings_within(seconds: float) -> int:
            before = _listings(server)
            await asyncio.sleep(seconds)
            return _listings(server) - before

        async def looked_once() -> bool:
            return _listings(server) >= 1

        async with running(service):
            await eventually(looked_once)
            idle = await listings_within(1.5)  # nothing sent, nothing awaited
            await publish(platform, topics.PATIENT_REGISTERED, [patient])
            await publish(platform, topics.ENCOUNTER_CODED, [coded_event(94, patient.data.patient_id)])
            await eventually(lambda: submitted(service, "ENC-C94"), timeout=10)
            awaited = await listings_within(1.5)  # ack_poll_seconds is 0.1
            for kind, name, body in payer_answers(server.accepted[0].body):
                server.deliver(kind, name, body)
            acks = await read_topic(platform, topics.CLAIM_ACKNOWLEDGED, expect=1, timeout=10, settle=0)
            answered = await listings_within(1.5)
    assert idle == 0 and awaited >= 5 and answered <= 1
    assert len(acks) == 1 and json.loads(acks[0].value)["accepted"]


def _listings(server) -> int:
    return sum(1 for r in list(server.requests) if r.body == "GET" and "/acknowledgements?" in r.path)
