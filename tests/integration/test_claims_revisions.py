"""The EHR's corrections and voids reach claims (over the real broker and database, the payer
simulator answering in this process): before its claim is sent, the claim is simply made again
(or withdrawn); after, the payer gets a replacement (frequency 7, REF*F8 = its claim number) or a
void (8), and a correction that arrives before the payer numbered the claim waits for the 277CA."""

import json
import uuid
from decimal import Decimal

import pytest

from services.claims.app import build
from services.claims.settings import ClaimsSettings
from shared.contracts import topics
from shared.contracts.events import EncounterCodedV1
from shared.envelope import Event
from tests.integration.test_claims import coded_event, patient_event
from tests.integration.test_claims_acknowledgements import answer
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from x12.x837p import parse_837p

pytestmark = pytest.mark.integration


def version(event: Event, number: int, action: str, **changes) -> Event:
    data = EncounterCodedV1.model_validate(
        event.data.model_dump(mode="json") | {"version": number, "action": action} | changes
    )
    return Event(data, data.encounter_id, "/test/coding", str(uuid.uuid4()))


def claims_of(records) -> list[dict]:
    return [json.loads(r.value) for r in records]


async def claim_status(service, claim_id) -> str | None:
    return await scalar(service, "SELECT status FROM claim WHERE claim_id = :id", id=claim_id)


async def test_before_sending_the_claim_is_made_again_or_withdrawn(platform):
    service = build(settings_for(platform, ClaimsSettings, "claims", grouping_window_seconds=60.0))
    patient = patient_event(60)
    first = coded_event(600, patient.data.patient_id, code="99213")
    async with running(service):
        await publish(platform, topics.PATIENT_REGISTERED, [patient])
        await publish(platform, topics.ENCOUNTER_CODED, [first])
        charge = await eventually(lambda: scalar(service, "SELECT total_charge FROM claim"))
        await publish(platform, topics.ENCOUNTER_CODED, [version(first, 2, "correct", diagnoses=["E119"],
                      service_lines=[{"line_number": 1, "procedure_code": "99214", "units": 1,
                                      "diagnosis_pointers": [1]}])])  # fmt: skip
        corrected = await eventually(
            lambda: scalar(service, "SELECT total_charge FROM claim WHERE total_charge <> :old", old=charge)
        )
        codes = await scalar(service, "SELECT content->'diagnoses' FROM claim")
        lines = await scalar(service, "SELECT jsonb_path_query_array(content, '$.lines[*].procedure_code') FROM claim")
        await publish(platform, topics.ENCOUNTER_CODED, [version(first, 3, "void")])
        await eventually(lambda: _no_claims(service))
        status = await scalar(service, "SELECT status FROM coded_encounter")
        submitted = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=0, timeout=0, settle=1.0)
    assert corrected != charge and (codes, lines) == (["E119"], ["99214"])  # the 83036 line and I10 gone
    assert status == "voided" and submitted == []


async def _no_claims(service) -> bool:
    return await scalar(service, "SELECT count(*) FROM claim") == 0


async def test_after_sending_the_payer_gets_a_replacement_then_a_void(platform):
    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2, ack_poll_seconds=0.1))
    patient = patient_event(61)
    first = coded_event(610, patient.data.patient_id, code="99213")
    async with running(service):
        await publish(platform, topics.PATIENT_REGISTERED, [patient])
        await publish(platform, topics.ENCOUNTER_CODED, [first])
        [original] = claims_of(await read_topic(platform, topics.CLAIM_SUBMITTED, expect=1, settle=0.2))
        # corrected before the payer numbered the claim: it waits for the 277CA
        await publish(platform, topics.ENCOUNTER_CODED, [version(first, 2, "correct", service_lines=[
            {"line_number": 1, "procedure_code": "99214", "units": 2, "diagnosis_pointers": [1, 2]}])])  # fmt: skip
        await eventually(lambda: scalar(service, "SELECT count(*) FROM coded_encounter WHERE status = 'correcting'"))
        answer(platform)  # 999, 277CA (the payer's claim number) and the 835 paying the original
        records = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=2, settle=0.2)
        replacement = claims_of(records)[1]
        number = await scalar(service, "SELECT payer_claim_control_number FROM claim WHERE claim_id = :id",
                              id=uuid.UUID(original["claim_id"]))  # fmt: skip
        answer(platform)  # the replacement's 277CA: its own claim number
        await eventually(lambda: scalar(service, "SELECT payer_claim_control_number FROM claim WHERE claim_id = :id",
                                        id=uuid.UUID(replacement["claim_id"])))  # fmt: skip
        await publish(platform, topics.ENCOUNTER_CODED, [version(first, 3, "void")])
        records = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=3, settle=1.0)
        void = claims_of(records)[2]
        answer(platform)
        status = await scalar(service, "SELECT status FROM coded_encounter")
    assert (replacement["kind"], replacement["original_claim_id"]) == ("replacement", original["claim_id"])
    assert [(line["procedure_code"], line["units"]) for line in replacement["lines"]] == [("99214", 2)]
    assert Decimal(replacement["total_charge"]) != Decimal(original["total_charge"])
    assert (void["kind"], void["original_claim_id"]) == ("void", replacement["claim_id"])
    assert status == "voided"
    sent = {
        c.patient_control_number: c
        for path in (platform.clearinghouse_dir / "archive").glob("*.837p.x12")
        for c in parse_837p(path.read_text()).claims
    }
    assert sent[replacement["patient_control_number"]].frequency_code == "7"
    assert sent[replacement["patient_control_number"]].payer_claim_control_number == number
    assert sent[void["patient_control_number"]].frequency_code == "8"
    assert sent[void["patient_control_number"]].payer_claim_control_number != number  # the replacement's number
