"""People and machines with the real Keycloak's tokens (no API key) reading and changing patients'
data across the services: each read and change is a row of the owning service's audit_log naming the token's
subject (never a name from the body), in the transaction of the change; the rows are published on
audit.recorded with ids only; the auditor asks by patient, by user and by period, a page at a
time; the rows cannot be changed; and a write-off above the threshold is approved only by another
person who is a supervisor, whatever the body says."""

import json
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from rcmctl.sample import patients
from services.ar_followup.actions import same_person
from services.ar_followup.app import build as build_ar
from services.ar_followup.settings import ArSettings
from services.claims.app import build as build_claims
from services.claims.settings import ClaimsSettings
from services.coding.app import build as build_coding
from services.payments.app import build as build_payments
from services.payments.settings import PaymentsSettings
from services.registration.app import build as build_registration
from services.registration.settings import RegistrationSettings
from shared.contracts import topics
from shared.settings import ServiceSettings
from tests.integration.test_ar_followup_work import claim_for, denial, patient
from tests.integration.test_claims import coded_event, patient_event
from tests.integration.test_coding_work_queue import PATIENT, encounter, registered
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from tests.unit.registration.fhir_bundles import bundle

pytestmark = pytest.mark.integration


async def trail(client, idp, **query) -> list[dict]:
    """Every entry of a service's trail that matches, as the auditor pages through it (two at a time)."""
    entries, cursor, auditor = [], None, await idp.bearer("audrey.auditor")
    while True:
        page = await client.get("/v1/audit", params=query | {"limit": 2} | ({"cursor": cursor} if cursor else {}),
                                headers=auditor)  # fmt: skip
        assert page.status_code == 200, page.text
        entries += page.json()["entries"]
        cursor = page.json()["next"]
        if cursor is None:
            return entries


def seen(entries: list[dict]) -> list[tuple]:
    """Who did what, leaving out the auditor's own reading of the trail (`of_the_trail`)."""
    return [(e["agent_name"], e["action"], e["subtype"], e["entity_type"]) for e in entries if not of_the_trail(e)]


def of_the_trail(entry: dict) -> bool:
    return entry["entity_type"] == "AuditEvent"


async def test_who_touched_which_patient_is_recorded_and_published_with_ids_only(platform, idp):
    registration = build_registration(settings_for(platform, RegistrationSettings, "registration"))
    payments = build_payments(settings_for(platform, PaymentsSettings, "payments"))
    frank, sam = await idp.bearer("frank.frontdesk"), await idp.bearer("sam.supervisor")
    async with AsyncExitStack() as stack:
        reg = await stack.enter_async_context(running(registration, idp, api_key=False))
        pay = await stack.enter_async_context(running(payments, idp, api_key=False))
        body = patients(1, seed=43)[0]
        created = await reg.post("/v1/patients", json=body, headers=frank)
        assert created.status_code == 201, created.text
        pid = created.json()["patient_id"]
        before = datetime.now(UTC)
        assert (await reg.get(f"/v1/patients/{pid}", headers=sam)).status_code == 200
        check = await reg.post(f"/v1/patients/{pid}/eligibility", json={}, headers=frank)
        assert check.status_code == 202, check.text
        assert (await reg.get(f"/v1/eligibility/{check.json()['check_id']}", headers=frank)).status_code == 200
        refused = await reg.get(f"/v1/patients/{pid}", headers=await idp.bearer("carol.coder"))
        assert refused.status_code == 403  # not a coder's business: refused before anything is read
        paid = await pay.post(f"/v1/patients/{pid}/payments", json={"amount": "20.00", "method": "card"}, headers=frank)
        assert paid.status_code == 201, paid.text
        assert (await pay.get(f"/v1/patients/{pid}/balance", headers=frank)).status_code == 200

        in_registration = await trail(reg, idp, patient_id=pid)
        in_payments = await trail(pay, idp, patient_id=pid)
        by_sam = await trail(reg, idp, agent=await idp.subject("sam.supervisor"))
        since_the_create = await trail(reg, idp, patient_id=pid, since=before.isoformat())
        later = await trail(reg, idp, since=(datetime.now(UTC) + timedelta(minutes=5)).isoformat())
        published = await read_topic(platform, topics.AUDIT_RECORDED, expect=8)
        stranger = await reg.get("/v1/audit", headers=frank)
        with pytest.raises(DBAPIError, match="append-only"):
            async with registration.engine.begin() as connection:
                await connection.execute(text("UPDATE audit_log SET agent_who = 'someone-else'"))
        with pytest.raises(DBAPIError, match="append-only"):
            async with registration.engine.begin() as connection:
                await connection.execute(text("DELETE FROM audit_log"))

    assert seen(in_registration) == [
        ("frank.frontdesk", "C", "create", "Patient"),
        ("sam.supervisor", "R", "read", "Patient"),
        ("frank.frontdesk", "E", "eligibility", "CoverageEligibilityRequest"),
        ("frank.frontdesk", "R", "read", "CoverageEligibilityResponse"),
        ("carol.coder", "R", "refused", "Route"),  # the attempt is in the trail: outcome 4, nothing read
    ]
    refusal = [e for e in in_registration if not of_the_trail(e)][-1]
    assert refusal["outcome"] == "4" and refusal["entity_id"] == "GET /v1/patients/{patient_id}"
    assert seen(in_payments) == [("frank.frontdesk", "C", "payment", "PatientPayment"),
                                 ("frank.frontdesk", "R", "read", "Account")]  # fmt: skip
    frank_sub = await idp.subject("frank.frontdesk")
    first = in_registration[0]
    assert (first["agent_who"], first["agent_client"], first["agent_machine"]) == (frank_sub, "rcm-test", False)
    assert (first["observer"], first["outcome"], first["purpose_of_use"], first["patient_id"]) == (
        "registration", "0", "HPAYMT", pid)  # fmt: skip
    assert first["source_address"]  # agent.network.address
    assert seen(by_sam) == [("sam.supervisor", "R", "read", "Patient")]
    assert seen(since_the_create) == seen(in_registration)[1:] and later == []
    assert stranger.status_code == 403  # the trail is the auditor's

    events = [json.loads(record.value) for record in published if not of_the_trail(json.loads(record.value))]
    assert sorted((e["observer"], e["action"]) for e in events) == sorted(
        [("registration", e["action"]) for e in in_registration if not of_the_trail(e)]
        + [("payments", e["action"]) for e in in_payments if not of_the_trail(e)]
    )
    assert all(e["patient_id"] == pid for e in events)
    assert {r.key.decode() for r in published if not of_the_trail(json.loads(r.value))} == {pid}
    raw = b"".join(record.value for record in published)
    for phi in (body["patient"]["last_name"], body["patient"]["birth_date"], body["mrn"], "frank"):
        assert phi.encode() not in raw  # ids only: no names, no birth dates, no MRN


async def test_an_auditors_reading_of_the_trail_is_itself_in_the_trail_with_its_filters(platform, idp):
    registration = build_registration(settings_for(platform, RegistrationSettings, "registration"))
    auditor, frank = await idp.bearer("audrey.auditor"), await idp.bearer("frank.frontdesk")
    audrey, sam = await idp.subject("audrey.auditor"), await idp.subject("sam.supervisor")
    async with running(registration, idp, api_key=False) as reg:
        created = await reg.post("/v1/patients", json=patients(1, seed=44)[0], headers=frank)
        assert created.status_code == 201, created.text
        pid = created.json()["patient_id"]
        first = await reg.get("/v1/audit", params={"patient_id": pid}, headers=auditor)
        assert (await reg.get("/v1/audit", params={"agent": sam}, headers=auditor)).status_code == 200
        again = await reg.get("/v1/audit", params={"patient_id": pid}, headers=auditor)
        by_audrey = await reg.get("/v1/audit", params={"agent": audrey}, headers=auditor)
        published = await read_topic(platform, topics.AUDIT_RECORDED, expect=5)
        recorded_before = await scalar(registration, "SELECT count(*) FROM audit_log")
        one_at_a_time = await page_by_page(reg, auditor, limit=1, pages_at_most=recorded_before + 1)

    assert seen(first.json()["entries"]) == [("frank.frontdesk", "C", "create", "Patient")]
    assert not [e for e in first.json()["entries"] if of_the_trail(e)]  # recorded once the answer was found

    def reading(e: dict) -> tuple:
        return e["agent_who"], e["action"], e["subtype"], e["entity_type"], e["entity_id"], e["patient_id"]

    asked_of_the_patient = (audrey, "R", "search-type", "AuditEvent", "*", pid)
    assert [reading(e) for e in again.json()["entries"] if of_the_trail(e)] == [asked_of_the_patient]
    assert [reading(e) for e in by_audrey.json()["entries"]] == [
        asked_of_the_patient, (audrey, "R", "search-type", "AuditEvent", sam, None), asked_of_the_patient]  # fmt: skip
    mine = by_audrey.json()["entries"][0]
    assert (mine["agent_name"], mine["purpose_of_use"], mine["outcome"], mine["observer"]) == (
        "audrey.auditor", "HCOMPL", "0", "registration")  # fmt: skip
    events = [json.loads(record.value) for record in published]
    assert sorted(reading(e) for e in events if of_the_trail(e)) == sorted(
        [asked_of_the_patient, asked_of_the_patient, (audrey, "R", "search-type", "AuditEvent", sam, None),
         (audrey, "R", "search-type", "AuditEvent", audrey, None)])  # fmt: skip
    assert b"audrey" not in b"".join(record.value for record in published)  # ids only, never the name
    assert [e["entity_query"] for e in by_audrey.json()["entries"]] == [f"patient_id={pid}", f"agent={sam}",
                                                                        f"patient_id={pid}"]  # fmt: skip
    # Each page records its reading, yet a question ends: with what was there when its first page was asked.
    assert len(one_at_a_time) == recorded_before and len({e["id"] for e in one_at_a_time}) == recorded_before


async def page_by_page(client, auditor: dict, limit: int, pages_at_most: int) -> list[dict]:
    """The whole trail, unfiltered, `limit` at a time; fails rather than page forever."""
    entries, cursor = [], None
    for _ in range(pages_at_most):
        page = await client.get("/v1/audit", params={"limit": limit} | ({"cursor": cursor} if cursor else {}),
                                headers=auditor)  # fmt: skip
        assert page.status_code == 200, page.text
        entries += page.json()["entries"]
        if (cursor := page.json()["next"]) is None:
            return entries
    raise AssertionError(f"still a next page after {pages_at_most} pages of {limit}")


async def test_a_write_off_is_approved_only_by_another_person_who_is_a_supervisor(platform, idp, tmp_path):
    settings = settings_for(platform, ArSettings, "ar_followup", ar_statements_dir=tmp_path / "statements",
                            ar_write_off_approval_threshold="25.00")  # fmt: skip
    ar = build_ar(settings)
    ada, claim_id = uuid.uuid4(), uuid.uuid4()
    sam, sue, anna = [await idp.bearer(u) for u in ("sam.supervisor", "sue.supervisor", "anna.ar")]
    demo = {"Authorization": f"Bearer {await idp.client_token('rcm-demo')}"}  # a machine with the supervisor role
    async with running(ar, idp, api_key=False) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [patient(ada, secondary=False)])
        await publish(platform, topics.CLAIM_SUBMITTED, [claim_for(claim_id, ada)])

        async def known():  # the patient's account and the claim's ledger both open in A/R
            claim = await client.get(f"/v1/claims/{claim_id}", headers=anna)
            account = await client.get(f"/v1/patients/{ada}/account", headers=anna)
            return (
                account.status_code == 200 and claim.status_code == 200 and claim.json()["status"] != "awaiting_claim"
            )

        await eventually(known)
        ask = {"party": "insurance", "amount": "50.00", "reason_code": "administrative"}
        named = await client.post(f"/v1/claims/{claim_id}/write-offs", json=ask | {"requested_by": "sue"}, headers=sam)
        assert named.status_code == 422  # who asks is the token's subject: a name in the body is not believed
        asked = await client.post(f"/v1/claims/{claim_id}/write-offs", json=ask, headers=sam)
        assert asked.status_code == 201 and asked.json()["status"] == "pending", asked.text
        approve = f"/v1/write-offs/{asked.json()['adjustment_id']}/approve"

        own = await client.post(approve, headers=sam)
        assert (own.status_code, own.json()["detail"]) == (
            403,
            "a write-off above the threshold needs a second person's approval",
        )
        assert (await client.post(approve, json={"by": "sue.supervisor"}, headers=sam)).status_code == 422
        assert (await client.post(approve, json={"by": "SUE.SUPERVISOR"}, headers=sam)).status_code == 422
        assert (await client.post(approve, headers=anna)).json()["detail"] == "requires one of: supervisor"
        machine = await client.post(approve, headers=demo)
        assert machine.status_code == 403 and "a person" in machine.json()["detail"]
        approved = await client.post(approve, headers=sue)
        assert approved.status_code == 200, approved.text
        assert (await client.post(approve, headers=sue)).status_code == 409  # decided once

        # a denial puts a work item on the queue: an A/R specialist takes it, a supervisor gives it away
        await publish(platform, topics.PAYMENT_POSTED, [denial(claim_id, "16")])

        async def queued():
            items = (await client.get("/v1/work-queue", headers=anna)).json()["items"]
            return items[0] if items else None

        item = await eventually(queued)
        assign = f"/v1/work-queue/{item['item_id']}/assign"
        taken = (await client.post(assign, headers=anna)).json()
        alex = await idp.subject("alex.ar")
        given_away = await client.post(assign, json={"owner": alex}, headers=anna)
        reassigned = (await client.post(assign, json={"owner": alex, "owner_name": "alex.ar"}, headers=sam)).json()
        resolved = await client.post(
            f"/v1/work-queue/{item['item_id']}/resolve", json={"action": "close"}, headers=anna
        )
        entries = await trail(client, idp, patient_id=str(ada))

    decided = approved.json()
    subjects = {u: await idp.subject(u) for u in ("sam.supervisor", "sue.supervisor")}
    assert (decided["status"], decided["requested_by"], decided["requested_by_name"]) == (
        "approved", subjects["sam.supervisor"], "sam.supervisor")  # fmt: skip
    assert (decided["decided_by"], decided["decided_by_name"]) == (subjects["sue.supervisor"], "sue.supervisor")
    writes = [e for e in entries if e["entity_type"] == "WriteOff"]
    assert seen(writes) == [("sam.supervisor", "C", "write-off-request", "WriteOff"),
                            ("sue.supervisor", "U", "write-off-approve", "WriteOff")]  # fmt: skip
    assert {e["entity_id"] for e in writes} == {decided["adjustment_id"]}  # the refusals left no trace of a change

    anna_sub = await idp.subject("anna.ar")
    assert (taken["owner"], taken["owner_name"]) == (anna_sub, "anna.ar")  # no body: the caller takes it
    assert (given_away.status_code, given_away.json()["detail"]) == (
        403, "only a supervisor gives a work item to someone else")  # fmt: skip
    assert (reassigned["owner"], reassigned["owner_name"]) == (alex, "alex.ar")
    assert (resolved.json()["resolved_by"], resolved.json()["resolved_by_name"]) == (anna_sub, "anna.ar")
    tasks = [e for e in entries if e["entity_type"] == "Task"]
    assert [(e["agent_name"], e["subtype"]) for e in tasks if e["action"] == "U"] == [
        ("anna.ar", "assign"), ("sam.supervisor", "assign"), ("anna.ar", "resolve-close")]  # fmt: skip
    assert {e["entity_id"] for e in tasks} == {item["item_id"]} and ("anna.ar", "search-type") in {
        (e["agent_name"], e["subtype"]) for e in tasks}  # fmt: skip


def test_subjects_are_compared_without_case_so_a_cased_twin_is_refused_not_confused():
    assert same_person("f3b1c2d4-AAAA", "f3b1c2d4-aaaa") and not same_person("a", "b") and not same_person("a", None)


async def test_the_ehr_the_coder_and_the_biller_leave_their_trail_in_the_service_that_owns_the_data(platform, idp):
    services = {
        "registration": build_registration(settings_for(platform, RegistrationSettings, "registration")),
        "coding": build_coding(settings_for(platform, ServiceSettings, "coding")),
        "claims": build_claims(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2)),
    }
    ehr = {"Authorization": f"Bearer {await idp.client_token('rcm-ehr')}"}
    carol, bill = await idp.bearer("carol.coder"), await idp.bearer("bill.biller")
    async with AsyncExitStack() as stack:
        reg, coding, claims = [await stack.enter_async_context(running(s, idp, api_key=False))
                               for s in services.values()]  # fmt: skip
        intake = await reg.post("/v1/fhir/Bundle", json=bundle(), headers=ehr)
        assert intake.status_code == 201, intake.text
        assert (await reg.post("/v1/fhir/Bundle", json=bundle(), headers=carol)).status_code == 403  # intake only

        await publish(platform, topics.PATIENT_REGISTERED, [registered("F")])
        # Coding must know she is female before the encounter (N40.1 is a man's diagnosis: the edit that
        # queues it for a coder); the two topics are not ordered with each other.
        await eventually(lambda: scalar(services["coding"], "SELECT count(*) FROM coding_patient"))
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [encounter("ENC-A1", diagnoses=[{"code": "N40.1"}],
                                                                        procedures=[{"code": "99213"}])])  # fmt: skip

        async def queued():
            return (await coding.get("/v1/work-queue", headers=carol)).json()["items"]

        await eventually(queued)
        assert (await coding.get("/v1/work-queue/ENC-A1", headers=carol)).status_code == 200
        assert (await coding.post("/v1/work-queue/ENC-A1/accept", headers=carol)).status_code == 200

        billed = patient_event(7)
        await publish(platform, topics.PATIENT_REGISTERED, [billed])
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(7, billed.data.patient_id)])
        claim_id = await eventually(lambda: scalar(services["claims"], "SELECT claim_id FROM claim WHERE patient_id = :p",
                                                   p=billed.data.patient_id))  # fmt: skip
        assert (await claims.get(f"/v1/claims/{claim_id}", headers=bill)).status_code == 200

        registered_trail = await trail(reg, idp, patient_id=intake.json()["patient_id"])
        coding_trail = await trail(coding, idp, patient_id=str(PATIENT))
        claims_trail = await trail(claims, idp, patient_id=str(billed.data.patient_id))

    ehr_client = "service-account-rcm-ehr"
    assert seen(registered_trail) == [(ehr_client, "C", "create", "Patient"), (ehr_client, "C", "create", "Encounter")]
    assert registered_trail[0]["agent_machine"] and registered_trail[0]["agent_client"] == "rcm-ehr"
    assert seen(coding_trail)[-2:] == [("carol.coder", "R", "read", "Encounter"),
                                       ("carol.coder", "U", "accepted", "Encounter")]  # fmt: skip
    assert {s for s in seen(coding_trail)[:-2]} == {("carol.coder", "R", "search-type", "Encounter")}
    assert seen(claims_trail) == [("bill.biller", "R", "read", "Claim")]
    assert claims_trail[0]["entity_id"] == str(claim_id)
