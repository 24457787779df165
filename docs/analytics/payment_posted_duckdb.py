"""An analyst's example: read the revenue topics from Kafka into DuckDB, then compute the
revenue-cycle KPIs with the one definition A/R's `GET /v1/kpis` uses
(services/ar_followup/domain/kpis.py), and a few queries of your own over the tables.

    python docs/analytics/payment_posted_duckdb.py --bootstrap 127.0.0.1:19092 --database rcm.duckdb \\
        [--start 2026-01-01 --end 2026-03-31] [--topic-prefix ns.] [--parquet postings.parquet]

Each record's value is plain JSON valid against its schema in shared/contracts/schemas (read here
strictly, with the contract models); the CloudEvents attributes are headers (ce_id is unique per
event, so loading twice is harmless). What is kept carries no names, birth dates, addresses, member
ids or patient ids (claim.submitted's patient_id and control number are not loaded)."""

import argparse
import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
from aiokafka import AIOKafkaConsumer

from services.ar_followup.domain.kpis import Fold, kpis
from shared.contracts.events import (
    ClaimAcknowledgedV1,
    ClaimSubmittedV1,
    Contract,
    PatientPaymentPostedV1,
    PaymentPostedV1,
)

CONTRACTS: dict[str, type[Contract]] = {
    "claim.submitted": ClaimSubmittedV1,
    "claim.acknowledged": ClaimAcknowledgedV1,
    "payment.posted": PaymentPostedV1,
    "patient-payment.posted": PatientPaymentPostedV1,
}
TOPICS = tuple(CONTRACTS)

SCHEMA = """
CREATE TABLE IF NOT EXISTS claim (
    event_id UUID PRIMARY KEY, claim_id UUID, kind VARCHAR, original_claim_id UUID, encounter_ids VARCHAR[],
    payer_id VARCHAR, date_of_service DATE, total_charge DECIMAL(12,2), submitted_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS posting (
    event_id UUID PRIMARY KEY, posting_id UUID, claim_id UUID, claim_kind VARCHAR, original_claim_id UUID,
    charge_is_new BOOLEAN, payer_id VARCHAR, payer_name VARCHAR, outcome VARCHAR, claim_status_code VARCHAR,
    denied BOOLEAN, check_or_eft_number VARCHAR, payment_method VARCHAR, payment_date DATE, date_of_service DATE,
    posted_at TIMESTAMPTZ, charge DECIMAL(12,2), paid DECIMAL(12,2), contractual DECIMAL(12,2),
    deductible DECIMAL(12,2), coinsurance DECIMAL(12,2), copay DECIMAL(12,2),
    other_patient_responsibility DECIMAL(12,2), other_adjustments DECIMAL(12,2), carc_codes VARCHAR[],
    rarc_codes VARCHAR[]);
CREATE TABLE IF NOT EXISTS patient_payment (
    event_id UUID PRIMARY KEY, payment_id UUID, kind VARCHAR, amount DECIMAL(12,2), method VARCHAR,
    received_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS acknowledgement (
    event_id UUID PRIMARY KEY, claim_id UUID, accepted BOOLEAN, source VARCHAR, acknowledged_at TIMESTAMPTZ);
"""

# Your own questions, counting once: money collected by payer, and each charge once (a secondary
# claim's posting repeats its primary's charge; a reversal takes a charge back).
COLLECTIONS_BY_PAYER = """
SELECT payer_id, payer_name, count(DISTINCT claim_id) AS claims, sum(paid) AS collected
FROM posting GROUP BY ALL ORDER BY collected DESC, payer_id"""
CHARGES_ONCE = "SELECT sum(charge) FROM posting WHERE charge_is_new"


class Analytics:
    """The tables (DuckDB) and the KPI facts (the shared definition), fed record by record."""

    def __init__(self, path: str = ":memory:") -> None:
        self.con = duckdb.connect(path)
        self.con.execute(SCHEMA)
        self.fold = Fold()

    def load(self, topic: str, headers: dict[str, str], value: bytes) -> None:
        """One record; an event seen before (same ce_id) is skipped by both."""
        event_id = uuid.UUID(headers["ce_id"])
        data = CONTRACTS[topic].read_json(value)  # strictly; properties of a later release ignored
        self.fold.add(event_id, data)
        self.con.execute(*_row(event_id, data))

    def kpis(self, start: date, end: date, today: date) -> dict[str, Any]:
        return kpis(self.fold.facts(), start, end, today)

    def queries(self) -> dict[str, list[tuple]]:
        return {
            "collections_by_payer": self.con.execute(COLLECTIONS_BY_PAYER).fetchall(),
            "charges_once": self.con.execute(CHARGES_ONCE).fetchall(),
        }


def _row(event_id: uuid.UUID, data: Contract) -> tuple[str, list[Any]]:
    """The INSERT of a record into its table (contracts as JSON values: dates as text, money as text)."""
    d = json.loads(data.model_dump_json())
    if isinstance(data, ClaimSubmittedV1):
        keep = ["claim_id", "kind", "original_claim_id", "encounter_ids", "payer_id", "date_of_service"]
        return _insert("claim", event_id, [d[k] for k in keep] + [d["total_charge"], d["submitted_at"]])
    if isinstance(data, PaymentPostedV1):
        a = d["amounts"]
        keep = ["posting_id", "claim_id", "claim_kind", "original_claim_id", "charge_is_new", "payer_id", "payer_name"]
        keep += ["outcome", "claim_status_code", "denied", "check_or_eft_number", "payment_method", "payment_date"]
        money = ["charge", "paid", "contractual", "deductible", "coinsurance", "copay", "other_patient_responsibility"]
        return _insert(
            "posting",
            event_id,
            [d[k] for k in keep]
            + [d["date_of_service"], d["posted_at"]]
            + [a[k] for k in money]
            + [a["other_adjustments"], d["carc_codes"], d["rarc_codes"]],
        )
    if isinstance(data, PatientPaymentPostedV1):
        return _insert("patient_payment", event_id, [d[k] for k in ("payment_id", "kind", "amount", "method")]
                       + [d["received_at"]])  # fmt: skip
    return _insert("acknowledgement", event_id, [d[k] for k in ("claim_id", "accepted", "source", "acknowledged_at")])


def _insert(table: str, event_id: uuid.UUID, values: list[Any]) -> tuple[str, list[Any]]:
    marks = ", ".join("?" * (len(values) + 1))
    return f"INSERT OR IGNORE INTO {table} VALUES ({marks})", [str(event_id), *values]


async def consume(analytics: Analytics, bootstrap: str, prefix: str = "", idle_seconds: float = 3.0) -> int:
    """Everything on the topics from the beginning, until nothing new came for `idle_seconds`."""
    consumer = AIOKafkaConsumer(
        *(prefix + t for t in TOPICS),
        bootstrap_servers=bootstrap,
        group_id=f"analyst-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    count = 0
    try:
        while batches := await consumer.getmany(timeout_ms=int(idle_seconds * 1000)):
            for partition, records in batches.items():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers if v is not None}
                    analytics.load(partition.topic.removeprefix(prefix), headers, record.value)
                    count += 1
    finally:
        await consumer.stop()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--topic-prefix", default="", help="the deployment's RCM_TOPIC_PREFIX, if any")
    parser.add_argument("--database", default=":memory:", help="a DuckDB file to keep the tables in")
    parser.add_argument("--start", type=date.fromisoformat, help="first day (default: 89 days before --end)")
    parser.add_argument("--end", type=date.fromisoformat, help="last day (default: today)")
    parser.add_argument("--parquet", help="also write the postings to this Parquet file")
    args = parser.parse_args()
    today = datetime.now(UTC).date()
    end = args.end or today
    analytics = Analytics(args.database)
    print(f"read {asyncio.run(consume(analytics, args.bootstrap, args.topic_prefix))} records")
    print(json.dumps(analytics.kpis(args.start or end - timedelta(days=89), end, today), indent=2))
    for name, rows in analytics.queries().items():
        print(f"\n{name}")
        for row in rows:
            print("  " + "  ".join(str(v) for v in row))
    if args.parquet:
        quoted = args.parquet.replace("'", "''")
        analytics.con.execute(f"COPY posting TO '{quoted}' (FORMAT parquet)")


if __name__ == "__main__":
    main()
