"""A/R follow-up across the real services as processes, the payer simulator answering:
(a) a line denied CO-16 (no prior authorization) is corrected over HTTP with the authorization
number, the replacement goes out carrying it, gets paid, and the original's ledger balances as paid; (b) the primary pays, A/R bills the secondary, the secondary
pays by coordination of benefits, A/R sends the patient a statement, the patient pays at payments,
and the account owes nothing; (c) a claim the payer sits on gets a 276 from A/R's cycle, the
simulator answers with a 277, and the no-response work item shows the payer's status."""

import asyncio
import hashlib
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from payer_simulator.domain.adjudication import denial_reason
from rcmctl.ehr import publish_encounters, register_patients
from services.claims.domain.assembly import (
    claim_id_for,
    correction_claim_id,
    derived_claim_id,
    patient_control_number,
)
from shared.contracts.events import ClaimChanges, EncounterDocumentedV1
from tests.e2e.test_cycle import get, wait_until

pytestmark = pytest.mark.e2e


def person(mrn: str, coverages: list[dict]) -> dict:
    return {
        "mrn": mrn,
        "coverages": coverages,
        "patient": {
            "first_name": "Ada",
            "last_name": "Quill",
            "birth_date": "1961-04-05",
            "sex": "F",
            "address": {"line1": "12 Oak St", "city": "Springfield", "state": "IL", "postal_code": "62704"},
        },
    }


def coverage(rank: str, payer_id: str, payer_name: str, member_id: str) -> dict:
    return {
        "rank": rank,
        "payer_id": payer_id,
        "payer_name": payer_name,
        "member_id": member_id,
        "group_number": "GRP0001",
        "relationship": "self",
        "effective_date": "2024-01-01",
    }


def pcn(claim_id) -> str:
    return patient_control_number(claim_id)


def replacement_of(original, interchange: int, changes: ClaimChanges):
    """The replacement claims would bill for `original` with these changes if the payer numbered it from
    that 837 interchange (the simulator's claim number: SIM + a hash of sender, ISA13 and CLM01)."""
    number = "SIM" + hashlib.sha256(f"OPENRCM01|{interchange}|{pcn(original)}".encode()).hexdigest()[:15].upper()
    return correction_claim_id(original, "replacement", number, changes)


AUTHORIZED = ClaimChanges(prior_authorization="AUTH12345")


def encounter_id(prefix: str, wanted) -> str:
    """The first encounter id whose claim the simulator's stable hash treats as `wanted` wants."""
    return next(f"{prefix}-{n}" for n in range(10_000) if wanted(claim_id_for(f"{prefix}-{n}")))


def visit(encounter: str, patient_id, diagnoses: list[str], procedures: list[str]) -> EncounterDocumentedV1:
    return EncounterDocumentedV1(
        encounter_id=encounter,
        patient_id=patient_id,
        date_of_service=date.today() - timedelta(days=3),
        place_of_service="11",
        rendering_provider={"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
        diagnoses=[{"code": d} for d in diagnoses],
        procedures=[{"code": p, "modifiers": [], "units": 1, "diagnosis_pointers": [1]} for p in procedures],
    )


def post(platform, service: str, path: str, body: dict) -> dict:
    with platform.client(service) as client:
        return client.post(path, json=body).raise_for_status().json()


def status_of(platform, claim_id) -> str | None:
    with platform.client("ar_followup") as client:
        response = client.get(f"/v1/claims/{claim_id}")
    return response.json()["status"] if response.status_code == 200 else None


@pytest.fixture
async def running(platform, tmp_path):
    platform.extra_env["RCM_AR_STATEMENTS_DIR"] = str(tmp_path / "statements")
    platform.extra_env["RCM_AR_SIMULATED_CLOCK"] = "true"  # the silent payer's cycle runs a month later (as_of)
    platform.start_all()
    await asyncio.to_thread(platform.wait_ready)
    return platform


async def test_denied_claim_is_corrected_resubmitted_and_paid(running):
    """SIMAETNA pays the visit and denies the chest X-ray (71046) CO-16: no prior authorization. The
    biller corrects the claim with the authorization number; the replacement (frequency 7, REF*G1)
    is paid, the payer reverses the original, and the encounter's one ledger balances as paid."""
    platform = running
    [patient_id] = await register_patients(
        platform, [person("MRN-AR-1", [coverage("primary", "SIMAETNA", "SIMULATED CARE PLAN", "SIM100200300")])]
    )
    encounter = encounter_id(
        "ENC-AR-AUTH",
        lambda c: (
            denial_reason(pcn(c)) is None
            and all(denial_reason(pcn(replacement_of(c, control, AUTHORIZED))) is None for control in range(1, 31))
        ),
    )
    original = claim_id_for(encounter)
    await publish_encounters(platform, [visit(encounter, patient_id, ["R05.9"], ["99213", "71046"])])

    def denial_item() -> dict | None:
        queue = get(platform, "ar_followup", "/v1/work-queue?kind=denial")["items"]
        return next((i for i in queue if i["claim_id"] == str(original)), None)

    await wait_until(denial_item, 90, "the CO-16 denial of the X-ray")
    item = denial_item()
    assert (item["category"], item["action"], item["reason"]) == ("correctable", "correct", "CARC 16")
    denied = get(platform, "ar_followup", f"/v1/claims/{original}")
    assert Decimal(denied["balances"]["paid"]) > 0  # the visit was paid, the X-ray refused
    resolved = post(
        platform,
        "ar_followup",
        f"/v1/work-queue/{item['item_id']}/resolve",
        {
            "action": "correct",
            "note": "authorization on file",
            "changes": {"prior_authorization": "AUTH12345"},
        },
    )
    assert resolved["status"] == "resolved" and resolved["changes"] == {"prior_authorization": "AUTH12345"}
    assert status_of(platform, original) == "open"  # the X-ray's 140.00 is owed again, by the payer

    await wait_until(lambda: status_of(platform, original) == "paid", 120, "the replacement to be paid")
    ledger = get(platform, "ar_followup", f"/v1/claims/{original}")
    balances = {k: Decimal(v) for k, v in ledger["balances"].items()}
    assert balances["charge"] == Decimal("265.00")  # 99213 + 71046 from the chargemaster, charged once
    assert balances["insurance_balance"] == 0 and balances["paid"] > 0
    assert balances["charge"] == balances["paid"] + balances["adjusted"] + balances["patient_responsibility"]
    # The replacement went out once: frequency 7, the payer's number for the original, the authorization.
    archive = "".join(p.read_text() for p in (platform.clearinghouse_dir / "archive").glob("*.x12"))
    assert archive.count(f"CLM*{pcn(original)}*") == 1
    [replacement] = re.findall(r"CLM\*[^~]*:B:7\*[^~]*~(?:(?!CLM\*)[^~]*~)*", archive)
    assert "REF*G1*AUTH12345~" in replacement and f"REF*F8*{denied['payer_claim_control_number']}~" in replacement
    assert "REF*G1*" not in archive.replace(replacement, "")  # the original had no authorization
    assert get(platform, "claims", "/v1/stats") == {"submitted": 2}


async def test_secondary_then_statement_then_patient_pays(running):
    platform = running
    [patient_id] = await register_patients(
        platform,
        [
            person(
                "MRN-AR-2",
                [
                    coverage("primary", "SIMAETNA", "SIMULATED CARE PLAN", "SIM400500600"),
                    coverage("secondary", "SIMMCD", "SIM STATE MEDICAID", "SIM700800900"),
                ],
            )
        ],
    )
    encounter = encounter_id(
        "ENC-AR-COB",
        lambda c: denial_reason(pcn(c)) is None and denial_reason(pcn(derived_claim_id(c, "secondary"))) is None,
    )
    primary = claim_id_for(encounter)
    await publish_encounters(platform, [visit(encounter, patient_id, ["E11.9", "I10"], ["99214", "83036", "36415"])])

    def insurance_done() -> bool:
        with platform.client("ar_followup") as client:
            response = client.get(f"/v1/patients/{patient_id}/account")
        return (
            response.status_code == 200
            and response.json()["insurance_done"]
            and get(platform, "claims", "/v1/stats").get("submitted", 0) == 2
        )

    await wait_until(insurance_done, 120, "the primary and the secondary to pay")
    ledger = get(platform, "ar_followup", f"/v1/claims/{primary}")
    assert Decimal(ledger["balances"]["insurance_balance"]) == 0
    owed = Decimal(ledger["balances"]["patient_balance"])
    assert owed > 0  # Medicaid paid its own rate, not all the primary left to the patient

    cycle = post(platform, "ar_followup", "/v1/cycle", {})
    account = get(platform, "ar_followup", f"/v1/patients/{patient_id}/account")
    assert Decimal(account["balance"]) == owed, (cycle, account)
    [statement] = account["statements"]
    assert Decimal(statement["amount_due"]) == owed

    post(platform, "payments", f"/v1/patients/{patient_id}/payments", {"amount": str(owed), "method": "card"})

    def settled() -> bool:
        return Decimal(get(platform, "ar_followup", f"/v1/patients/{patient_id}/account")["balance"]) == 0

    await wait_until(settled, 60, "the patient's payment to reach A/R")
    account = get(platform, "ar_followup", f"/v1/patients/{patient_id}/account")
    assert all(Decimal(v) == 0 for v in account["by_party"].values())
    assert [c["status"] for c in account["claims"]] == ["paid"]


async def test_a_claim_the_payer_sits_on_gets_a_276_and_the_277_shows_on_its_work_item(running):
    """The payer accepts the claim (a member id starting PEND: see the simulator's contracts) and never
    pays it. A month later A/R's cycle sends a 276, the simulator's status desk answers with a 277, and
    the claim's no-response work item says what the payer said."""
    platform = running
    [patient_id] = await register_patients(
        platform, [person("MRN-AR-3", [coverage("primary", "SIMBC", "SIM BLUE PLAN", "PEND100200300")])]
    )
    encounter = "ENC-AR-SILENT-1"
    claim_id = claim_id_for(encounter)
    await publish_encounters(platform, [visit(encounter, patient_id, ["I10"], ["99213"])])

    def accepted() -> bool:  # A/R knows the claim and the payer's number for it (277CA), and no 835 came
        with platform.client("ar_followup") as client:
            response = client.get(f"/v1/claims/{claim_id}")
        return response.status_code == 200 and response.json()["payer_claim_control_number"] is not None

    await wait_until(accepted, 90, "the payer's front end to accept the claim")
    month_later = (date.today() + timedelta(days=35)).isoformat() + "T12:00:00Z"
    cycle = post(platform, "ar_followup", f"/v1/cycle?as_of={month_later}", {})
    assert (cycle["no_response"], cycle["status_requests"]) == (1, 1), cycle

    def answered() -> bool:
        return post(platform, "ar_followup", f"/v1/cycle?as_of={month_later}", {})["status_answers"] == 1

    await wait_until(answered, 60, "the payer's 277 to reach A/R")
    queue = get(platform, "ar_followup", f"/v1/work-queue?kind=no_response&as_of={month_later}")["items"]
    [item] = [i for i in queue if i["claim_id"] == str(claim_id)]
    assert "277 P1:20 in process as of" in item["reason"] and item["owner"] == "claims-follow-up"
    ledger = get(platform, "ar_followup", f"/v1/claims/{claim_id}")
    assert ledger["status"] == "open" and ledger["balances"]["paid"] == "0.00"  # still nothing from the payer
