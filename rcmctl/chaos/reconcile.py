"""After the faults: every ledger reconciled against every other, from the services' APIs, their
databases, the dead-letter topics, the clearinghouse folders and the logs."""

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from rcmctl.chaos.poison import KEY_PREFIX
from rcmctl.processes import Platform
from services.coding.domain.validation import check_encounter
from shared.contracts.events import EncounterDocumentedV1
from shared.contracts.topics import EVENT_TOPICS, dead_letter_topic


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Expected:
    encounters: list[EncounterDocumentedV1]
    eras: dict[str, str]  # file name -> "quarantined" | "processed"
    letters: dict[str, int]  # dead-letter topic -> poison letters
    secrets: list[str]  # patient data that must appear in no log (MRNs, member ids, names)


def get(platform: Platform, service: str, path: str) -> dict[str, Any]:
    with platform.client(service, timeout=30) as client:
        response = client.get(path)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


async def query(platform: Platform, service: str, sql: str) -> list[asyncpg.Record]:
    url = platform.database_url(service).replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(url, timeout=30)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


async def reconcile(platform: Platform, expected: Expected) -> list[Check]:
    stats = {
        "coding": get(platform, "coding", "/v1/stats"),
        "claims": get(platform, "claims", "/v1/stats"),
        "encounters": get(platform, "claims", "/v1/stats/encounters"),
        "payments": get(platform, "payments", "/v1/stats"),
        "ar": get(platform, "ar_followup", "/v1/summary"),
    }
    checks = [encounters_accounted(stats, expected.encounters), claims_adjudicated(stats), ledger_matches(stats)]
    checks += await money_once(platform, stats)
    checks.append(eras_handled(platform.clearinghouse_dir, expected.eras))
    checks.append(await only_poison_dead_lettered(platform, expected.letters))
    checks.append(await nothing_waiting(platform))
    checks.append(no_patient_data_in_logs(platform, expected.secrets))
    return checks


def encounters_accounted(stats: dict[str, Any], encounters: list[EncounterDocumentedV1]) -> Check:
    today = encounters[0].date_of_service.today()
    valid = sum(1 for e in encounters if not check_encounter(e, today))
    coding, billed = stats["coding"], stats["encounters"]
    coded = coding.get("coded", 0) + coding.get("queued", 0)
    ok = coding.get("rejected", 0) == len(encounters) - valid and coded == valid
    ok = ok and billed.get("submitted", 0) + billed.get("held", 0) == coding.get("coded", 0)
    detail = f"{len(encounters)} published: {valid} valid, coding {coding}, on claims {billed}"
    return Check("every encounter accounted for", ok, detail)


def claims_adjudicated(stats: dict[str, Any]) -> Check:
    by_status = stats["ar"].get("by_status", {})
    adjudicated = sum(by_status.get(s, 0) for s in ("paid", "partially_paid", "denied"))
    submitted = stats["claims"].get("submitted", 0)
    posted = stats["payments"]["claim_payments"].get("posted", 0)
    ok = submitted == adjudicated == posted and submitted > 0
    return Check(
        "claims submitted = adjudicated",
        ok,
        f"{submitted} submitted, {adjudicated} adjudicated in A/R, {posted} posted",
    )


def ledger_matches(stats: dict[str, Any]) -> Check:
    ar = {
        k: Decimal(stats["ar"][k])
        for k in ("charged", "paid", "adjusted", "patient_responsibility", "insurance_balance")
    }
    posted = Decimal(stats["payments"]["total_posted"])
    ok = ar["paid"] == posted and ar["insurance_balance"] == 0
    ok = ok and ar["charged"] == ar["paid"] + ar["adjusted"] + ar["patient_responsibility"] + ar["insurance_balance"]
    detail = f"A/R paid ${ar['paid']:,} = 835s posted ${posted:,}; charged ${ar['charged']:,} balances, insurance balance ${ar['insurance_balance']}"
    return Check("ledger = payments posted, to the cent", ok, detail)


async def money_once(platform: Platform, stats: dict[str, Any]) -> list[Check]:
    (paid,) = await query(
        platform,
        "payments",
        "SELECT count(*) AS payments, count(DISTINCT claim_id) AS claims, coalesce(sum(patient_responsibility), 0) AS owed"
        " FROM claim_payment WHERE status = 'posted'",
    )
    reissued = await query(platform, "payments", "SELECT count(*) AS n FROM era_reissue")
    twice = await query(
        platform,
        "ar_followup",
        "SELECT patient_id, stage, issued_on FROM ar_statement GROUP BY 1, 2, 3 HAVING count(*) > 1",
    )
    billed = Decimal(stats["ar"]["patient_responsibility"])
    return [
        Check(
            "no payment posted twice",
            paid["payments"] == paid["claims"] and reissued[0]["n"] > 0,
            f"{paid['payments']} claim payments for {paid['claims']} claims; "
            f"{reissued[0]['n']} re-sent payment(s) recognised and not posted",
        ),
        Check(
            "no patient billed twice",
            billed == paid["owed"] and not twice,
            f"patient responsibility in A/R ${billed:,} = once per 835 payment ${paid['owed']:,}; "
            f"{len(twice)} statement(s) issued twice",
        ),
    ]


def eras_handled(clearinghouse: Path, eras: dict[str, str]) -> Check:
    folders = {
        "processed": {p.name for p in (clearinghouse / "processed" / "835").glob("*.x12")},
        "quarantined": {p.name for p in (clearinghouse / "quarantine" / "835").glob("*.x12")},
    }
    wrong = [name for name, fate in eras.items() if name not in folders[fate]]
    stray = folders["quarantined"] - {name for name, fate in eras.items() if fate == "quarantined"}
    waiting = [p.name for p in (clearinghouse / "inbound" / "835").glob("*.x12")]
    quarantined = sum(1 for fate in eras.values() if fate == "quarantined")
    detail = f"{quarantined} hostile 835s quarantined, {len(eras) - quarantined} copies posted nothing new"
    if wrong or stray or waiting:
        detail += f"; not where they belong: {wrong}, quarantined besides: {sorted(stray)}, waiting: {waiting}"
    return Check("835s: hostile quarantined, re-sent harmless", not (wrong or stray or waiting), detail)


async def only_poison_dead_lettered(platform: Platform, expected: dict[str, int]) -> Check:
    letters = await read_dead_letters(platform)
    healthy = [(topic, _header(r, "dlt_reason")) for topic, records in letters.items() for r in records
               if not (r.key or b"").startswith(KEY_PREFIX)]  # fmt: skip
    counts = {topic: len(records) for topic, records in letters.items() if records}
    ok = not healthy and counts == {topic: n for topic, n in expected.items() if n}
    detail = (
        f"{sum(counts.values())} letters, all poison records" if ok else f"unexpected: {healthy[:5]} counts {counts}"
    )
    return Check("nothing dead-lettered that a healthy system would process", ok, detail)


async def read_dead_letters(platform: Platform) -> dict[str, list[ConsumerRecord]]:
    bootstrap = platform.stack.kafka_bootstrap
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await reader.start()
    await admin.start()
    letters: dict[str, list[ConsumerRecord]] = {}
    try:
        for topic in EVENT_TOPICS:
            name = platform.namespace + dead_letter_topic(topic)
            (described,) = await admin.describe_topics([name])
            partitions = [TopicPartition(name, p["partition"]) for p in described["partitions"]]
            ends = await reader.end_offsets(partitions)
            reader.assign(partitions)
            await reader.seek_to_beginning(*partitions)
            records: list[ConsumerRecord] = []
            while any([await reader.position(tp) < end for tp, end in ends.items()]):
                for batch in (await reader.getmany(timeout_ms=1000)).values():
                    records += batch
            letters[dead_letter_topic(topic)] = records
    finally:
        await reader.stop()
        await admin.close()
    return letters


def _header(record: ConsumerRecord, name: str) -> str:
    return (dict(record.headers).get(name) or b"").decode("utf-8", "replace")


async def nothing_waiting(platform: Platform) -> Check:
    (payments,) = await query(
        platform, "payments", "SELECT count(*) AS n FROM claim_payment WHERE status = 'unmatched'"
    )
    (encounters,) = await query(
        platform, "claims", "SELECT count(*) AS n FROM coded_encounter WHERE status = 'waiting'"
    )
    ok = payments["n"] == 0 and encounters["n"] == 0
    return Check(
        "nothing left waiting",
        ok,
        f"{payments['n']} payments wait for a claim, {encounters['n']} encounters for a patient",
    )


def no_patient_data_in_logs(platform: Platform, secrets: list[str]) -> Check:
    logs = [*platform.log_dir.glob("*.log"), *(Path(p) for p in platform.stack.logs.values())]
    found = [log.name for log in logs if log.exists() and any(s in log.read_text(errors="replace") for s in secrets)]
    return Check(
        "no patient data in service or PostgreSQL logs",
        not found,
        f"{len(logs)} logs read" + (f"; found in {found}" if found else ""),
    )


def pauses(platform: Platform) -> list[dict[str, Any]]:
    """Every pause the services logged on resuming (consumer, seconds)."""
    found = []
    for log in platform.log_dir.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if '"resumed after pause"' in line:
                entry = json.loads(line)
                found.append(
                    {
                        "service": entry.get("service"),
                        "consumer": entry.get("consumer"),
                        "seconds": entry.get("paused_seconds", 0),
                    }
                )
    return found
