"""The routes the console added to the services, on the real database and broker: patient search,
ICD-10-CM search, the queues' cursors, a held claim fixed and billed again, an unmatched payment posted
to a chosen claim, the claim's history in each service, the approvals list and the dashboard's figures."""

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from rcmctl.sample import patients
from services.coding.app import build as coding
from services.registration.app import build as registration
from shared.contracts import topics
from shared.contracts.events import EncounterDocumentedV1
from shared.envelope import Event
from shared.settings import ServiceSettings
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration


async def test_patients_are_found_by_name_prefix_birth_date_and_mrn_a_page_at_a_time(platform):
    service = registration(settings_for(platform, ServiceSettings, "registration"))
    people = patients(12, seed=5)
    async with running(service) as client:
        for body in people:
            assert (await client.post("/v1/patients", json=body)).status_code == 201
        target = people[3]
        last = target["patient"]["last_name"]
        by_name = await client.post("/v1/patients/search", json={"last_name": last[:3].lower(), "limit": 100})
        by_birth = await client.post("/v1/patients/search", json={"birth_date": target["patient"]["birth_date"]})
        by_mrn = await client.post("/v1/patients/search", json={"mrn": target["mrn"]})
        first_page = await client.post("/v1/patients/search", json={"last_name": last[:1], "limit": 1})
        second_page = await client.post(
            "/v1/patients/search", json={"last_name": last[:1], "limit": 1, "cursor": first_page.json()["next"]}
        )
        nothing = await client.post("/v1/patients/search", json={})
        stranger = await client.post("/v1/patients/search", json={"last_name": "Zzzz"})
        audit = await client.get("/v1/audit", params={"limit": 1000})
    expected = sorted(
        (p["patient"]["last_name"].lower(), p["patient"]["first_name"].lower(), p["mrn"])
        for p in people
        if p["patient"]["last_name"].lower().startswith(last[:3].lower())
    )
    found = by_name.json()["patients"]
    assert [(p["last_name"].lower(), p["first_name"].lower()) for p in found] == [e[:2] for e in expected]
    assert target["mrn"] in {p["mrn"] for p in by_birth.json()["patients"]}
    assert [p["mrn"] for p in by_mrn.json()["patients"]] == [target["mrn"]]
    assert first_page.json()["next"] and second_page.json()["patients"][0] != first_page.json()["patients"][0]
    assert nothing.status_code == 422 and stranger.json() == {"patients": [], "next": None}
    searched = {e["entity_id"] for e in audit.json()["entries"] if e["subtype"] == "search-type"}
    assert {p["patient_id"] for p in found} <= searched  # every patient a search showed is in the audit trail


def documented(encounter_id: str, statement: str) -> Event:
    data = EncounterDocumentedV1.model_validate(
        {
            "encounter_id": encounter_id,
            "patient_id": str(uuid.uuid4()),
            "date_of_service": (date.today() - timedelta(days=2)).isoformat(),
            "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
            "diagnosis_statements": [statement],
            "total_time_minutes": 25,
            "patient_type": "established",
        }
    )
    return Event(data, encounter_id, "/test/ehr", correlation_id=str(uuid.uuid4()))


async def test_the_code_picker_and_the_coder_queue_a_page_at_a_time(platform):
    service = coding(settings_for(platform, ServiceSettings, "coding"))
    async with running(service) as client:
        by_code = (await client.get("/v1/code-sets/icd10cm", params={"q": "e11.6", "limit": 3})).json()
        by_words = (await client.get("/v1/code-sets/icd10cm", params={"q": "essential hypertension"})).json()
        header = (await client.get("/v1/code-sets/icd10cm", params={"q": "E11"})).json()
        empty = await client.get("/v1/code-sets/icd10cm", params={"q": ""})
        await publish(
            platform, topics.ENCOUNTER_DOCUMENTED, [documented(f"ENC-P{n}", "rule out pneumonia") for n in range(5)]
        )
        await eventually(lambda: scalar(service, "SELECT count(*) = 5 FROM coding_outcome WHERE status = 'queued'"))
        pages, cursor = [], None
        while True:
            answer = (
                await client.get("/v1/work-queue", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
            ).json()
            pages.append([item["encounter_id"] for item in answer["items"]])
            cursor = answer["next"]
            if cursor is None:
                break
        wrong = await client.get("/v1/work-queue", params={"cursor": "yesterday|x"})
    assert [c["code"] for c in by_code["codes"]] == ["E11.610", "E11.618", "E11.620"]
    assert by_words["codes"][0] == {"code": "I10", "description": "Essential (primary) hypertension"}
    assert "E11" not in {c["code"] for c in header["codes"]} and all(
        c["code"].startswith("E11.") for c in header["codes"]
    )
    assert empty.status_code == 422
    assert [len(p) for p in pages] == [2, 2, 1] and sorted(e for page in pages for e in page) == [
        f"ENC-P{n}" for n in range(5)
    ]
    assert wrong.status_code == 422


async def test_a_biller_fixes_a_held_claim_and_its_history_shows_the_837_999_and_277ca(platform):
    from services.claims.app import build as claims
    from services.claims.settings import ClaimsSettings
    from tests.integration.test_claims import coded_event, patient_event
    from tests.integration.test_claims_acknowledgements import answer, with_coverages

    service = claims(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2, ack_poll_seconds=0.1))
    first, second = with_coverages(patient_event(30)), with_coverages(patient_event(31))
    twice = coded_event(300, first.data.patient_id)
    lines = [line.model_copy(update={"procedure_code": "36415"}) for line in twice.data.service_lines]
    twice = Event(twice.data.model_copy(update={"service_lines": lines}), twice.subject, "/test/coding", "c-300")
    unpriced = coded_event(301, second.data.patient_id, code="99499")
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [first, second])
        await publish(platform, topics.ENCOUNTER_CODED, [twice, unpriced])
        await eventually(lambda: scalar(service, "SELECT count(*) = 2 FROM claim WHERE status = 'held'"))
        page = (await client.get("/v1/work-queue", params={"limit": 1})).json()
        rest = (await client.get("/v1/work-queue", params={"limit": 1, "cursor": page["next"]})).json()
        held = {item["findings"][0]["code"]: item for item in page["items"] + rest["items"]}
        duplicate, no_price = held["line.duplicate"], held["price.missing"]
        fix = {"changes": {"lines": [{"line_number": 2, "modifiers": ["91"]}]}}
        stale = await client.post(
            f"/v1/claims/{duplicate['claim_id']}/resubmit", json=fix, headers={"If-Match": '"old"'}
        )
        nowhere = await client.post(
            f"/v1/claims/{no_price['claim_id']}/resubmit", json={"changes": {"lines": [{"line_number": 9, "units": 2}]}}
        )
        fixed = await client.post(
            f"/v1/claims/{duplicate['claim_id']}/resubmit", json=fix, headers={"If-Match": duplicate["version"]}
        )
        again = await client.post(f"/v1/claims/{duplicate['claim_id']}/resubmit", json=fix)
        still_held = await client.post(f"/v1/claims/{no_price['claim_id']}/resubmit")
        submitted = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=1, settle=0.2)
        answer(platform)
        await read_topic(platform, topics.CLAIM_ACKNOWLEDGED, expect=1)
        history = (await client.get(f"/v1/claims/{duplicate['claim_id']}/history")).json()
        as_sent = (await client.get(f"/v1/claims/{duplicate['claim_id']}/x12")).json()
        not_sent = await client.get(f"/v1/claims/{no_price['claim_id']}/x12")
    assert stale.status_code == 412 and nowhere.status_code == 422
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["claim_id"] == duplicate["claim_id"] and fixed.json()["status"] in ("ready", "batched")
    assert again.status_code == 409  # fixed once: the second person is told, nothing is made twice
    assert still_held.json()["status"] == "held" and still_held.json()["findings"][0]["code"] == "price.missing"
    assert [json.loads(r.value)["claim_id"] for r in submitted] == [duplicate["claim_id"]]
    kinds = [(e["kind"], e["accepted"], e["actor"]) for e in history["events"]]
    assert kinds[0] == ("fixed", None, "api-key") and history["events"][0]["detail"][0]["code"] == "line.duplicate"
    assert {("999", True), ("277CA", True)} <= {(kind, accepted) for kind, accepted, _ in kinds}
    assert all(e["file_name"] for e in history["events"] if e["kind"] != "fixed")
    assert history["sent_in"]["file_name"] == as_sent["file_name"]
    assert [line["modifiers"] for line in history["encounters"][0]["service_lines"]] == [[], ["91"]]
    pcn = history["claim"]["patient_control_number"]
    assert as_sent["claim"][0].startswith("HL*") and any(s.startswith(f"CLM*{pcn}*") for s in as_sent["claim"])
    assert any(s.startswith("SV1*HC:36415:91") for s in as_sent["claim"]) and as_sent["envelope"][0].startswith("ISA")
    assert not_sent.status_code == 404


async def test_a_payment_nobody_could_match_is_posted_to_the_claim_a_person_chose(platform):
    from services.payments.app import build as payments
    from services.payments.settings import PaymentsSettings
    from tests.integration.test_payments import era_texts, submitted

    service = payments(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1))
    interchange, result = era_texts(claims=2)
    matched, typo = interchange.claims  # the payer answers the second under a number we never sent
    ours = submitted(
        typo.model_copy(update={"patient_control_number": "OURS" + typo.patient_control_number[4:]}), interchange
    )
    other = typo.model_copy(update={"patient_control_number": "OTHER1", "total_charge": typo.total_charge + 1})
    async with running(service) as client:
        await publish(
            platform, topics.CLAIM_SUBMITTED, [submitted(matched, interchange), ours, submitted(other, interchange)]
        )
        await eventually(lambda: scalar(service, "SELECT count(*) = 3 FROM known_claim"))
        for payer, text in result.by_payer.items():
            (platform.clearinghouse_dir / "inbound" / "835" / f"{payer}.835.x12").write_text(text)
        await read_topic(platform, topics.PAYMENT_POSTED, expect=1)
        queue = await client.get("/v1/work-queue", params={"limit": 5})
        (item,) = [i for i in queue.json() if i["kind"] == "unmatched_claim"]
        likely = (await client.get(f"/v1/work-queue/{item['item_id']}/candidates")).json()["claims"]
        unknown = await client.post(f"/v1/work-queue/{item['item_id']}/post", json={"claim_id": str(uuid.uuid4())})
        wrong = await client.post(
            f"/v1/work-queue/{item['item_id']}/post",
            json={"claim_id": str(submitted(matched, interchange).data.claim_id)},
        )
        posted = await client.post(f"/v1/work-queue/{item['item_id']}/post", json={"claim_id": str(ours.data.claim_id)})
        twice = await client.post(f"/v1/work-queue/{item['item_id']}/post", json={"claim_id": str(ours.data.claim_id)})
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=2)
        history = (await client.get(f"/v1/claims/{ours.data.claim_id}/payments")).json()
        after = (await client.get("/v1/work-queue")).json()
    assert item["payment"]["charge"] == str(typo.total_charge) and item["payment"]["trace_number"]
    assert [c["claim_id"] for c in likely] == [
        str(ours.data.claim_id)
    ]  # the matched one is paid, the other billed more
    assert unknown.status_code == 422
    assert wrong.status_code == 422 and "charge" in wrong.json()["detail"]
    assert posted.status_code == 200, posted.text
    assert twice.status_code == 409  # posted once: the second person is told, nothing is posted twice
    assert str(ours.data.claim_id) in {json.loads(p.value)["claim_id"] for p in postings}
    (posting,) = history["postings"]
    assert posting["file_name"].endswith(".835.x12") and posting["paid"] == posted.json()["paid"]
    assert item["item_id"] not in {i["item_id"] for i in after}


async def test_ar_work_queue_filters_versions_approvals_ledger_and_the_dashboard(platform, tmp_path, idp):
    from services.ar_followup.app import build as ar
    from services.ar_followup.settings import ArSettings
    from tests.integration.test_ar_followup import payment
    from tests.integration.test_ar_followup_work import claim_for, denial, patient

    service = ar(settings_for(platform, ArSettings, "ar_followup", ar_statements_dir=tmp_path / "statements"))
    ada, bob = uuid.uuid4(), uuid.uuid4()
    recent, old, paid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    aged = claim_for(old, bob, payer="SIMMCD")
    aged = Event(aged.data.model_copy(update={"date_of_service": date.today() - timedelta(days=75)}), aged.subject,
                 "/test/claims", "c-old")  # fmt: skip
    async with running(service, idp) as client:
        anna, sam = await idp.bearer("anna.ar"), await idp.bearer("sam.supervisor")
        await publish(platform, topics.PATIENT_REGISTERED, [patient(ada), patient(bob, secondary=False)])
        await publish(platform, topics.CLAIM_SUBMITTED, [claim_for(recent, bob), aged, claim_for(paid, ada, "E-A")])
        await publish(platform, topics.PAYMENT_POSTED, [denial(recent, "16"), denial(old, "50"), payment(paid)])
        await eventually(lambda: scalar(service, "SELECT count(*) >= 2 FROM ar_work_item WHERE kind = 'denial'"))
        by_payer = (await client.get("/v1/work-queue", params={"payer": "SIMMCD", "kind": "denial"})).json()
        by_age = (await client.get("/v1/work-queue", params={"min_age": 60, "kind": "denial"})).json()
        young = (await client.get("/v1/work-queue", params={"max_age": 60, "kind": "denial"})).json()
        (item,) = by_payer["items"]
        stale = await client.post(f"/v1/work-queue/{item['item_id']}/assign", headers={**anna, "If-Match": '"x"'})
        taken = await client.post(
            f"/v1/work-queue/{item['item_id']}/assign", headers={**anna, "If-Match": item["version"]}
        )
        late = await client.post(f"/v1/work-queue/{item['item_id']}/resolve", json={"action": "write_off"},
                                 headers={**sam, "If-Match": item["version"]})  # fmt: skip
        resolved = await client.post(f"/v1/work-queue/{item['item_id']}/resolve", json={"action": "write_off"},
                                     headers={**anna, "If-Match": taken.json() and (await client.get(
                                         "/v1/work-queue", params={"payer": "SIMMCD", "kind": "denial"}
                                     )).json()["items"][0]["version"]})  # fmt: skip
        pending = (await client.get("/v1/write-offs", headers=anna)).json()
        own = await client.post(f"/v1/write-offs/{pending['items'][0]['adjustment_id']}/approve", headers=sam)
        after = (await client.get("/v1/write-offs", headers=sam)).json()
        approved = (await client.get("/v1/write-offs", params={"status": "approved"}, headers=sam)).json()
        ledger = (await client.get(f"/v1/claims/{old}")).json()
        board = (await client.get("/v1/dashboard", params={"months": 3})).json()
        summary = (await client.get("/v1/summary")).json()
        claim_by_claim = (await client.get("/v1/kpis")).json()
    assert [i["claim_id"] for i in by_payer["items"]] == [str(old)] and item["payer_id"] == "SIMMCD"
    assert [i["claim_id"] for i in by_age["items"]] == [str(old)]
    assert str(old) not in {i["claim_id"] for i in young["items"]} and str(recent) in {
        i["claim_id"] for i in young["items"]
    }
    assert stale.status_code == 412 and taken.status_code == 200
    assert late.status_code == 412  # taken meanwhile: the supervisor is told, nothing is applied
    assert resolved.status_code == 200, resolved.text
    (request,) = pending["items"]
    assert (
        request["requested_by_name"] == "anna.ar"
        and request["claim_id"] == str(old)
        and request["payer_id"] == "SIMMCD"
    )
    assert (
        own.status_code == 200
        and after["items"] == []
        and [a["adjustment_id"] for a in approved["items"]] == [request["adjustment_id"]]
    )
    assert {e["kind"] for e in ledger["ledger"]} >= {"charge", "contractual"} and ledger["write_offs"][0][
        "status"
    ] == "approved"
    owed = sum(Decimal(b["insurance"]) + Decimal(b["patient"]) for b in board["aging"])
    assert owed == Decimal(summary["insurance_balance"]) + Decimal(summary["patient_balance"])
    assert board["collections"]["series"]["SIMBC"][-1] == "110.40" and len(board["days_in_ar"]) == 3
    assert board["denials"]["adjudicated"] == 3 and set(board["denials"]["by_category"]) == {
        "correctable",
        "medical_necessity",
    }
    # the dashboard's set-wise KPIs are the ones A/R computes claim by claim (domain/kpis.py)
    same = (
        "open_ar",
        "days_in_ar",
        "clean_claim_rate",
        "first_pass_resolution_rate",
        "denial_rate",
        "net_collection_rate",
    )
    assert {k: board["kpis"][k] for k in same} == {k: claim_by_claim[k] for k in same}
    assert board["kpis"]["period"] == claim_by_claim["period"] and board["kpis"]["denial_rate"] is not None
