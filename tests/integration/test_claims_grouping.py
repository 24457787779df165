"""Claims on the real broker and database: a patient's encounters of one date become one claim
(also when they arrive in different batches), and a correction request's data reaches the
replacement claim's 837P."""

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.claims.app import build
from services.claims.domain.practice import load_chargemaster
from services.claims.settings import ClaimsSettings
from shared.contracts import topics
from shared.contracts.events import ClaimCorrectionRequestedV1, EncounterCodedV1
from shared.envelope import Event
from shared.settings import DEFAULT_PAYER_DIRECTORY
from tests.integration.test_claims import patient_event
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from x12.validate import validate_x12
from x12.x837p import parse_837p

pytestmark = pytest.mark.integration
DOS = date.today() - timedelta(days=2)


def encounter(
    encounter_id: str, patient_id: uuid.UUID, lines: list[tuple[str, list[int]]], diagnoses: list[str], on: date = DOS
) -> Event:
    data = EncounterCodedV1(
        encounter_id=encounter_id,
        patient_id=patient_id,
        date_of_service=on,
        place_of_service="11",
        rendering_provider={"npi": "1861492431", "first_name": "Rafael", "last_name": "Ortiz"},
        diagnoses=diagnoses,
        service_lines=[
            {"line_number": n, "procedure_code": code, "units": 1, "diagnosis_pointers": pointers}
            for n, (code, pointers) in enumerate(lines, start=1)
        ],
        coded_by="auto",
        coded_at=datetime.now(UTC),
    )
    return Event(data, encounter_id, "/test/coding", str(uuid.uuid4()))


def sent(records) -> list[dict]:
    return [json.loads(r.value) for r in records]


async def test_a_patients_encounters_of_one_date_are_billed_on_one_claim(platform):
    service = build(
        settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2, grouping_window_seconds=2.0)
    )
    anna, ben = patient_event(40), patient_event(41)
    a, b = anna.data.patient_id, ben.data.patient_id
    visit = encounter("ENC-G-VISIT", a, [("99214", [1, 2])], ["E119", "I10"])
    lab = encounter("ENC-G-LAB", a, [("83036", [1]), ("36415", [2])], ["E119", "E785"])
    unpriced = encounter("ENC-G-HELD", a, [("99499", [1])], ["I10"])  # held: must not spoil the others
    next_day = encounter("ENC-G-NEXT", a, [("99213", [1])], ["I10"], on=DOS + timedelta(days=1))
    other_patient = encounter("ENC-G-BEN", b, [("99213", [1])], ["I10"])
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [anna, ben])
        await publish(platform, topics.ENCOUNTER_CODED, [visit, other_patient])
        await asyncio.sleep(0.5)  # the lab arrives in a later batch, inside the grouping window
        await publish(platform, topics.ENCOUNTER_CODED, [lab, unpriced, next_day, lab])
        records = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=3, settle=1.0)
        stats = (await client.get("/v1/stats")).json()
        by_encounter = (await client.get("/v1/stats/encounters")).json()
    claims = {c["encounter_id"]: c for c in sent(records)}
    assert sorted(claims) == ["ENC-G-BEN", "ENC-G-NEXT", "ENC-G-VISIT"] and stats == {"submitted": 3, "held": 1}
    assert by_encounter == {"submitted": 4, "held": 1}
    day = claims["ENC-G-VISIT"]
    assert day["encounter_ids"] == ["ENC-G-VISIT", "ENC-G-LAB"]
    assert [line["procedure_code"] for line in day["lines"]] == ["99214", "83036", "36415"]
    assert Decimal(day["total_charge"]) == sum(Decimal(line["charge"]) for line in day["lines"]) > 0
    assert claims["ENC-G-NEXT"]["encounter_ids"] == ["ENC-G-NEXT"]
    [text] = {(platform.clearinghouse_dir / "outbound" / c["file_name"]).read_text() for c in [day]}
    assert validate_x12(text) == []
    [claim] = [c for c in parse_837p(text).claims if c.patient_control_number == day["patient_control_number"]]
    assert claim.diagnoses == ("E119", "I10", "E785")
    assert [line.diagnosis_pointers for line in claim.lines] == [(1, 2), (1,), (3,)]


async def test_encounters_arriving_after_their_claim_was_sent_get_their_own_claim(platform):
    service = build(
        settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2, grouping_window_seconds=0.0)
    )
    patient = patient_event(42)
    first = encounter("ENC-G-EARLY", patient.data.patient_id, [("99213", [1])], ["I10"])
    late = encounter("ENC-G-LATE", patient.data.patient_id, [("83036", [1])], ["E119"])
    async with running(service):
        await publish(platform, topics.PATIENT_REGISTERED, [patient])
        await publish(platform, topics.ENCOUNTER_CODED, [first])
        await read_topic(platform, topics.CLAIM_SUBMITTED, expect=1)
        await publish(platform, topics.ENCOUNTER_CODED, [late])
        records = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=2, settle=0.5)
    assert sorted(c["encounter_ids"][0] for c in sent(records)) == ["ENC-G-EARLY", "ENC-G-LATE"]
    assert await scalar(service, "SELECT count(*) FROM coded_encounter WHERE claim_id IS NOT NULL") == 2


async def test_a_correction_request_with_changes_reaches_the_replacement_claim(platform):
    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2))
    patient = patient_event(43)
    imaging = encounter("ENC-G-XRAY", patient.data.patient_id, [("99213", [1]), ("71046", [1])], ["R0602"])
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [patient])
        await publish(platform, topics.ENCOUNTER_CODED, [imaging])
        [original] = sent(await read_topic(platform, topics.CLAIM_SUBMITTED, expect=1))
        now = datetime.now(UTC)

        def request(changes: dict) -> Event:
            data = ClaimCorrectionRequestedV1.model_validate(
                dict(
                    claim_id=original["claim_id"],
                    frequency_code="7",
                    payer_claim_control_number="SIM000123",
                    reason="CO-16 authorization missing",
                    requested_by="biller1",
                    requested_at=now,
                    changes=changes,
                )
            )
            return Event(data, original["claim_id"], "/test/ar", str(uuid.uuid4()))

        good = request({"prior_authorization": "AUTH12345", "lines": [{"line_number": 2, "units": 2}]})
        bad = request({"lines": [{"line_number": 7, "units": 2}]})
        await publish(platform, topics.CLAIM_CORRECTION_REQUESTED, [good, good, bad])
        records = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=2, settle=0.5)
        await eventually(lambda: scalar(service, "SELECT count(*) FROM claim WHERE status = 'held'"))
        queue = (await client.get("/v1/work-queue")).json()
    replacement = next(c for c in sent(records) if c["kind"] == "replacement")
    assert replacement["encounter_ids"] == ["ENC-G-XRAY"] and replacement["original_claim_id"] == original["claim_id"]
    text = (platform.clearinghouse_dir / "outbound" / replacement["file_name"]).read_text()
    assert validate_x12(text) == []
    [claim] = [c for c in parse_837p(text).claims if c.frequency_code == "7"]
    assert claim.prior_authorization == "AUTH12345" and claim.payer_claim_control_number == "SIM000123"
    prices = load_chargemaster()
    assert claim.lines[1].units == 2 and claim.lines[1].charge == 2 * prices["71046"]
    assert Decimal(replacement["total_charge"]) == prices["99213"] + 2 * prices["71046"]
    [held] = queue["items"]
    assert held["kind"] == "replacement" and [f["code"] for f in held["findings"]] == ["correction.no_such_line"]


async def test_a_payer_that_wants_a_claim_per_encounter_gets_one(platform, tmp_path):
    directory = json.loads(DEFAULT_PAYER_DIRECTORY.read_text())
    for payer in directory["payers"]:
        payer["same_day_encounters"] = "claim_each"
    (tmp_path / "payers.json").write_text(json.dumps(directory))
    service = build(
        settings_for(
            platform,
            ClaimsSettings,
            "claims",
            batch_interval_seconds=0.2,
            grouping_window_seconds=1.0,
            payer_directory_file=tmp_path / "payers.json",
        )
    )
    patient = patient_event(44)
    visit = encounter("ENC-G-EACH-1", patient.data.patient_id, [("99214", [1])], ["I10"])
    lab = encounter("ENC-G-EACH-2", patient.data.patient_id, [("83036", [1])], ["E119"])
    async with running(service):
        await publish(platform, topics.PATIENT_REGISTERED, [patient])
        await publish(platform, topics.ENCOUNTER_CODED, [visit, lab])
        records = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=2, settle=0.5)
    assert sorted(c["encounter_ids"] for c in sent(records)) == [["ENC-G-EACH-1"], ["ENC-G-EACH-2"]]
