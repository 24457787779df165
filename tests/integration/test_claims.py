"""Claims on the real broker and database: the join of patient and coded encounter (in either
order), pricing, an 837P that pyx12 accepts in the clearinghouse drop, and claim.submitted."""

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from rcmctl.sample import patients
from services.claims.app import build
from services.claims.settings import ClaimsSettings
from shared.contracts import topics
from shared.contracts.events import EncounterCodedV1, PatientRegisteredV1
from shared.envelope import Event
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from x12.validate import validate_x12

pytestmark = pytest.mark.integration


def patient_event(n: int, version: int = 1) -> Event:
    body = patients(n + 1, seed=5)[n]
    data = PatientRegisteredV1(
        patient_id=uuid.uuid5(uuid.NAMESPACE_OID, f"p{n}"), version=version, registered_at=datetime.now(UTC), **body
    )
    return Event(data, str(data.patient_id), "/test/registration", str(uuid.uuid4()))


def coded_event(n: int, patient_id: uuid.UUID, code: str = "99214", units: int = 1) -> Event:
    data = EncounterCodedV1(
        encounter_id=f"ENC-C{n}",
        patient_id=patient_id,
        date_of_service=date.today() - timedelta(days=3),
        place_of_service="11",
        rendering_provider={"npi": "1861492431", "first_name": "Rafael", "last_name": "Ortiz"},
        diagnoses=["E119", "I10"],
        service_lines=[
            {"line_number": 1, "procedure_code": code, "units": units, "diagnosis_pointers": [1, 2]},
            {"line_number": 2, "procedure_code": "83036", "units": 1, "diagnosis_pointers": [1]},
        ],
        coded_by="auto",
        coded_at=datetime.now(UTC),
    )
    return Event(data, data.encounter_id, "/test/coding", str(uuid.uuid4()))


async def test_claims_are_built_priced_written_and_announced(platform):
    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2))
    first, second = patient_event(0), patient_event(1)
    early = coded_event(1, second.data.patient_id)  # its patient is not known yet
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [first])
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(0, first.data.patient_id), early])
        await publish(platform, topics.PATIENT_REGISTERED, [second])
        submitted = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=2)
        stats = (await client.get("/v1/stats")).json()
    assert stats == {"submitted": 2}
    claims = [json.loads(r.value) for r in submitted]
    assert sorted(c["encounter_id"] for c in claims) == ["ENC-C0", "ENC-C1"]
    for claim in claims:
        assert claim["total_charge"] == "220.00"  # 99214 180.00 + 83036 40.00 from the chargemaster
        assert [line["charge"] for line in claim["lines"]] == ["180.00", "40.00"]
    files = sorted((platform.clearinghouse_dir / "outbound").glob("*.x12"))
    assert files and {c["file_name"] for c in claims} == {f.name for f in files}
    for file in files:
        assert validate_x12(file.read_text()) == []
    texts = "".join(f.read_text() for f in files)
    assert texts.count("CLM*") == 2


async def test_a_claim_that_cannot_be_priced_is_held_not_sent(platform):
    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2))
    patient = patient_event(2)
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [patient])
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(2, patient.data.patient_id, code="99499")])
        await eventually(lambda: scalar(service, "SELECT count(*) FROM claim WHERE status = 'held'"))
        claim_id = await scalar(service, "SELECT claim_id FROM claim")
        held = (await client.get(f"/v1/claims/{claim_id}")).json()
    assert [f["code"] for f in held["findings"]] == ["price.missing"]
    assert not list((platform.clearinghouse_dir / "outbound").glob("*.x12"))


async def test_an_older_patient_version_arriving_late_changes_nothing(platform):
    service = build(settings_for(platform, ClaimsSettings, "claims"))
    newer, older = patient_event(3, version=2), patient_event(3, version=1)
    async with running(service):
        await publish(platform, topics.PATIENT_REGISTERED, [newer, older])
        await eventually(lambda: _inbox_count(service, 2))
        assert await scalar(service, "SELECT version FROM claim_patient") == 2


async def _inbox_count(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM inbox") >= count


async def test_patients_and_encounters_arriving_together_all_become_claims(platform):
    """The two topics are consumed concurrently; no encounter may be left waiting for a patient
    that did arrive (the race the join lock closes)."""
    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2, consume_max_records=5))
    patients_ = [patient_event(10 + n) for n in range(40)]
    encounters = [coded_event(100 + n, p.data.patient_id) for n, p in enumerate(patients_)]
    async with running(service):
        await asyncio.gather(
            publish(platform, topics.PATIENT_REGISTERED, patients_),
            publish(platform, topics.ENCOUNTER_CODED, encounters),
        )
        await eventually(lambda: _inbox_count(service, 80))
        assert await scalar(service, "SELECT count(*) FROM coded_encounter WHERE status = 'waiting'") == 0
        assert await scalar(service, "SELECT count(*) FROM claim") == 40


async def test_a_coverage_the_payer_says_is_inactive_is_held_before_any_claim(platform):
    from shared.contracts.events import EligibilityCheckedV1

    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2))
    inactive, active = patient_event(60), patient_event(61)

    def check(patient: Event, is_active: bool) -> Event:
        coverage = patient.data.coverages[0]
        data = EligibilityCheckedV1(
            check_id=uuid.uuid4(),
            patient_id=patient.data.patient_id,
            coverage_rank="primary",
            payer_id=coverage.payer_id,
            service_date=date.today(),
            active=is_active,
            checked_at=datetime.now(UTC),
        )
        return Event(data, str(patient.data.patient_id), "/test/registration", str(uuid.uuid4()))

    async with running(service) as client:
        await publish(platform, topics.ELIGIBILITY_CHECKED, [check(inactive, False), check(active, True)])
        await eventually(lambda: scalar(service, "SELECT count(*) FROM coverage_eligibility"))
        await eventually(lambda: _inbox_count(service, 2))
        await publish(platform, topics.PATIENT_REGISTERED, [inactive, active])
        await publish(
            platform,
            topics.ENCOUNTER_CODED,
            [coded_event(60, inactive.data.patient_id), coded_event(61, active.data.patient_id)],
        )
        submitted = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=1)
        held_id = await scalar(service, "SELECT claim_id FROM claim WHERE status = 'held'")
        held = (await client.get(f"/v1/claims/{held_id}")).json()
    assert [json.loads(r.value)["encounter_id"] for r in submitted] == ["ENC-C61"]
    assert [f["code"] for f in held["findings"]] == ["eligibility.inactive"]


async def test_an_encounter_whose_patient_never_came_is_the_front_desks_work_after_a_while(platform):
    """RCM_PATIENT_WAIT_ALERT_MINUTES (here: none) after it arrived, a coded encounter still waiting
    for its patient is listed for the front desk; once the patient is registered it is billed and gone."""
    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2,
                                 patient_wait_alert_minutes=0))  # fmt: skip
    known, unknown = patient_event(0), patient_event(1)
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [known])
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(0, known.data.patient_id),
                                                         coded_event(1, unknown.data.patient_id)])  # fmt: skip
        await read_topic(platform, topics.CLAIM_SUBMITTED, expect=1)

        async def listed() -> list[dict]:
            return (await client.get("/v1/encounters/waiting", params={"limit": 1})).json()["items"]

        waiting = await eventually(listed)
        first_page = (await client.get("/v1/encounters/waiting", params={"limit": 1})).json()
        counted = (await client.get("/v1/encounters/waiting", params={"limit": 0})).json()
        await publish(platform, topics.PATIENT_REGISTERED, [unknown])
        await read_topic(platform, topics.CLAIM_SUBMITTED, expect=2)
        after = (await client.get("/v1/encounters/waiting")).json()
    assert [(w["encounter_id"], w["patient_id"]) for w in waiting] == [("ENC-C1", str(unknown.data.patient_id))]
    assert waiting[0]["waiting_minutes"] == 0 and "register the patient" in waiting[0]["task"]
    assert first_page["next"] is None and first_page["total"] == 1
    assert counted == {"items": [], "total": 1, "next": None}  # a count alone lists no patient
    assert after == {"items": [], "total": 0, "next": None}
