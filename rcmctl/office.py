"""A sample office's day for `rcm up` (and the browser tests): patients registered by the EHR,
their visits coded and billed, the payer's answers posted, and what people then find in their queues:

- encounters waiting for a coder (documentation whose diagnoses coding is unsure of);
- claims held by the scrubber (the same lab code twice without a repeat modifier; a code without a price);
- a claim the payer's front end rejected (a terminated member id: 277CA A7:164);
- denials (the simulated payer denies a chest X-ray without prior authorization: CO-16), with the
  A/R follow-up they open, and patients who owe their deductible and coinsurance;
- a payment nobody could match: the payer paid a pended claim late, under a mistyped claim number;
- a write-off above the approval threshold that an A/R specialist asked for, waiting for a supervisor.
Everyone is invented."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import remit
from rcmctl import sample
from rcmctl.ehr import publish_encounters, register_patients
from rcmctl.stack import keycloak
from rcmctl.up import Office, machine
from shared.contracts.events import EncounterDocumentedV1
from x12.x837p import parse_837p

UNSURE = (  # what a doctor writes that coding should not code alone
    ["rule out pneumonia"],
    ["possible urinary tract infection"],
    ["pain in right knee", "probable osteoarthritis"],
    ["chest pain versus reflux"],
    ["HTN", "suspected type 2 diabetes"],
    ["low back pain", "rule out sciatica"],
)
DOCTOR = {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"}


def special_patients(people: list[dict]) -> list[dict]:
    """A member the payer sits on (PEND…: accepted, never paid) and one whose coverage ended (TERM…)."""
    made = []
    for n, prefix in enumerate(("PEND", "TERM")):
        body = {**people[n], "mrn": f"MRNDAY{n:05d}"}
        body["patient"] = {**body["patient"], "last_name": ("Lindqvist", "Okonkwo")[n]}
        coverage = {**body["coverages"][0], "payer_id": "SIMBC", "payer_name": "SIM BLUE PLAN",
                    "member_id": f"{prefix}{700000 + n}"}  # fmt: skip
        made.append({**body, "coverages": [coverage]})
    return made


# The day's special visits (workday_visits) go to regular patients 0 to 20.
FEWEST_PATIENTS = 21


def workday_visits(
    patients: list[uuid.UUID], pended: uuid.UUID, terminated: uuid.UUID, denied_for: list[uuid.UUID]
) -> list[EncounterDocumentedV1]:
    day = date.today() - timedelta(days=2)

    def visit(n: int, patient: uuid.UUID, **fields: Any) -> EncounterDocumentedV1:
        return EncounterDocumentedV1.model_validate({"encounter_id": f"ENC-DAY-{n:04d}", "patient_id": str(patient),
                                                     "date_of_service": day.isoformat(), "place_of_service": "11",
                                                     "rendering_provider": DOCTOR, **fields})  # fmt: skip

    def lines(*codes: str) -> list[dict]:
        return [{"code": code, "units": 1, "diagnosis_pointers": [1]} for code in codes]

    unsure = [visit(n, patients[n], diagnosis_statements=statements, patient_type="established", total_time_minutes=25)
              for n, statements in enumerate(UNSURE)]  # fmt: skip
    held = [visit(10 + n, patients[10 + n], diagnoses=[{"code": "E11.9"}], procedures=lines("99213", "36415", "36415"))
            for n in range(2)]  # fmt: skip
    held.append(visit(20, patients[20], diagnoses=[{"code": "I10"}], procedures=lines("99213", "99499")))
    payer_answers = [visit(30, pended, diagnoses=[{"code": "I10"}], procedures=lines("99214")),
                     visit(31, terminated, diagnoses=[{"code": "J06.9"}], procedures=lines("99213"))]  # fmt: skip
    # a chest X-ray without prior authorization, which the payer of `denied_for` denies (CO-16, $140.00 a line)
    denied = [visit(40 + n, patient, diagnoses=[{"code": "R07.89"}], procedures=lines("99214", "71046"))
              for n, patient in enumerate(denied_for)]  # fmt: skip
    return unsure + held + payer_answers + denied


def chest_xray_deniers(people: list[dict], ids: list[uuid.UUID], count: int = 3) -> list[uuid.UUID]:
    """Patients whose payer denies a chest X-ray without prior authorization (payer_simulator/contracts.json),
    none of them one of the day's other special visits: so the day always has CO-16 denials to work."""
    taken = {*range(len(UNSURE)), 10, 11, 20}
    return [patient for n, (person, patient) in enumerate(zip(people, ids, strict=True))
            if n not in taken and person["coverages"][0]["payer_id"] == "SIMAETNA"][:count]  # fmt: skip


async def load(office: Office, patients: int = 40, encounters: int = 200) -> dict[str, Any]:
    platform, run_dir = office.platform, office.run_dir
    people = sample.patients(patients)
    ids = await register_patients(platform, people + special_patients(people), auth=machine("rcm-ehr", run_dir))
    regular, (pended, terminated) = ids[:patients], ids[patients:]
    visits = sample.encounters(regular, encounters) + workday_visits(
        regular, pended, terminated, chest_xray_deniers(people, regular)
    )
    await publish_encounters(platform, visits)
    settled = await settle(office, len(visits), unanswered=2)
    late = await pay_late(office, pended)
    async with platform.async_client("ar_followup") as ar:
        (await ar.post("/v1/cycle")).raise_for_status()  # statements for the patients insurance is done with
    write_off = await ask_for_write_off(office)
    return {"namespace": platform.namespace, "patients": len(ids), "encounters": len(visits), "settled": settled,
            "late_payment_for": str(pended) if late else None, "write_off_requested": write_off}  # fmt: skip


async def settle(office: Office, visits: int, unanswered: int, timeout: float = 300) -> bool:
    """Until coding decided every visit, claims sent or held every claim and the payer answered all but
    `unanswered` of them (the pended and the rejected one)."""
    deadline = time.monotonic() + timeout
    async with office.platform.async_client("coding") as coding, office.platform.async_client("claims") as claims, \
            office.platform.async_client("ar_followup") as ar:  # fmt: skip
        while time.monotonic() < deadline:
            decided = sum((await coding.get("/v1/stats")).json().values())
            in_flight = {k: v for k, v in (await claims.get("/v1/stats")).json().items() if k in ("ready", "batched")}
            open_claims = (await ar.get("/v1/summary")).json()["by_status"].get("open", 0)
            if decided >= visits and not in_flight and open_claims <= unanswered:
                await asyncio.sleep(3)  # the last 835s' postings reach A/R
                return True
            await asyncio.sleep(1)
    return False


async def pay_late(office: Office, patient: uuid.UUID) -> bool:
    """The payer pays the pended claim after all, under a claim number with one character mistyped: an
    835 payments cannot match, for a biller to post to the right claim."""
    archive = office.platform.clearinghouse_dir / "archive"
    for path in sorted(archive.glob("*.x12")):
        interchange = parse_837p(path.read_text())
        for batch in interchange.transactions:
            for claim in batch.claims:
                if not claim.subscriber.member_id.startswith("PEND"):
                    continue
                wrong = claim.patient_control_number[:-1] + ("0" if claim.patient_control_number[-1] != "0" else "1")
                paid = claim.model_copy(update={"patient_control_number": wrong,
                                                "subscriber": claim.subscriber.model_copy(update={"member_id": "LATE1"})})  # fmt: skip
                one = interchange.model_copy(update={"transactions": (batch.model_copy(update={"claims": (paid,)}),)})
                answer = remit(one, load_contracts(), {}, 900_000_001, datetime.now(UTC))
                inbound = office.platform.clearinghouse_dir / "inbound" / "835"
                for payer, text in answer.by_payer.items():
                    _write(inbound / f"late-{payer}-{uuid.uuid4().hex[:8]}.835.x12", text)
                return True
    return False


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name("." + path.name)
    temporary.write_text(text)
    temporary.rename(path)


async def ask_for_write_off(office: Office) -> str | None:
    """Alex (A/R) resolves a denial that is not worth an appeal by asking to write it off; above the
    threshold it waits for a supervisor (Sam or Sue: never Alex)."""
    token = await asyncio.to_thread(keycloak.access_token, office.run_dir, "alex.ar")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=office.platform.url("ar_followup"), headers=headers, timeout=30) as ar:
        items = (await ar.get("/v1/work-queue", params={"kind": "denial", "limit": 100})).json()["items"]
        big = [i for i in items if Decimal(i["amount"]) > 100 and i.get("category") != "correctable"] or [
            i for i in items if Decimal(i["amount"]) > 100
        ]
        if not big:
            return None
        item = big[-1]
        note = "not worth an appeal: the payer's policy excludes it"
        asked = await ar.post(f"/v1/work-queue/{item['item_id']}/resolve", json={"action": "write_off", "note": note})
        asked.raise_for_status()
        return str(item["item_id"])
