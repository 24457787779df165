"""An analyst's example: read payment.posted (and patient-payment.posted) from Kafka into DuckDB,
then compute collections by payer, denial rate by CARC and the net collection rate.

    pip install duckdb aiokafka
    python docs/analytics/payment_posted_duckdb.py --bootstrap 127.0.0.1:19092 --database rcm.duckdb

Each record's value is plain JSON valid against shared/contracts/schemas/payment.posted.v1.json;
the CloudEvents attributes are headers (ce_id is unique per event, so loading twice is harmless).
The topic carries no names, birth dates, addresses or member ids."""

import argparse
import asyncio
import json
import uuid

import duckdb
from aiokafka import AIOKafkaConsumer

TOPICS = ("payment.posted", "patient-payment.posted")

SCHEMA = """
CREATE TABLE IF NOT EXISTS posting (
    event_id UUID PRIMARY KEY, posting_id UUID, claim_id UUID, payer_id VARCHAR, payer_name VARCHAR,
    outcome VARCHAR, claim_status_code VARCHAR, denied BOOLEAN, check_or_eft_number VARCHAR,
    payment_method VARCHAR, payment_date DATE, date_of_service DATE, posted_at TIMESTAMPTZ,
    charge DECIMAL(12,2), paid DECIMAL(12,2), contractual DECIMAL(12,2), deductible DECIMAL(12,2),
    coinsurance DECIMAL(12,2), copay DECIMAL(12,2), other_patient_responsibility DECIMAL(12,2),
    other_adjustments DECIMAL(12,2), carc_codes VARCHAR[], rarc_codes VARCHAR[]);
CREATE TABLE IF NOT EXISTS patient_payment (
    event_id UUID PRIMARY KEY, payment_id UUID, kind VARCHAR, amount DECIMAL(12,2), method VARCHAR,
    received_at TIMESTAMPTZ);
"""

COLLECTIONS_BY_PAYER = """
SELECT payer_id, payer_name, count(DISTINCT claim_id) AS claims, sum(paid) AS collected
FROM posting GROUP BY ALL ORDER BY collected DESC, payer_id"""

# Share of the adjudicated claims whose latest posting is a denial, by the denial's reason codes.
DENIAL_RATE_BY_CARC = """
WITH latest AS (
    SELECT * FROM posting WHERE outcome <> 'reversed'
    QUALIFY row_number() OVER (PARTITION BY claim_id ORDER BY posted_at DESC, event_id) = 1),
adjudicated AS (SELECT count(*) AS n FROM latest)
SELECT carc, count(*) AS denied_claims, round(count(*) / any_value(adjudicated.n), 4) AS denial_rate
FROM latest, unnest(carc_codes) AS c(carc), adjudicated
WHERE latest.denied
GROUP BY carc ORDER BY denied_claims DESC, carc"""

# Payments (payers' and patients') over what could be collected: charges less contractual adjustments.
NET_COLLECTION_RATE = """
SELECT round((sum(paid) + (SELECT coalesce(sum(amount), 0) FROM patient_payment))
             / nullif(sum(charge) - sum(contractual), 0), 4) AS net_collection_rate
FROM posting"""


def connect(path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path)
    con.execute(SCHEMA)
    return con


def load(con: duckdb.DuckDBPyConnection, topic: str, headers: dict[str, str], value: bytes) -> None:
    """One record into its table; an event seen before (same ce_id) is skipped."""
    event_id, data = headers["ce_id"], json.loads(value)
    if topic.endswith("patient-payment.posted"):
        con.execute(
            "INSERT OR IGNORE INTO patient_payment VALUES (?, ?, ?, ?, ?, ?)",
            [event_id, data["payment_id"], data["kind"], data["amount"], data["method"], data["received_at"]],
        )
        return
    a = data["amounts"]
    con.execute(
        "INSERT OR IGNORE INTO posting VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            event_id,
            data["posting_id"],
            data["claim_id"],
            data["payer_id"],
            data["payer_name"],
            data.get("outcome", "denied" if data["denied"] else "paid"),
            data["claim_status_code"],
            data["denied"],
            data["check_or_eft_number"],
            data["payment_method"],
            data["payment_date"],
            data["date_of_service"],
            data["posted_at"],
            a["charge"],
            a["paid"],
            a["contractual"],
            a["deductible"],
            a["coinsurance"],
            a["copay"],
            a["other_patient_responsibility"],
            a["other_adjustments"],
            data["carc_codes"],
            data["rarc_codes"],
        ],
    )


async def consume(con: duckdb.DuckDBPyConnection, bootstrap: str, prefix: str = "", idle_seconds: float = 3.0) -> int:
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
                    load(con, partition.topic, headers, record.value)
                    count += 1
    finally:
        await consumer.stop()
    return count


def kpis(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        "collections_by_payer": con.execute(COLLECTIONS_BY_PAYER).fetchall(),
        "denial_rate_by_carc": con.execute(DENIAL_RATE_BY_CARC).fetchall(),
        "net_collection_rate": con.execute(NET_COLLECTION_RATE).fetchall(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--topic-prefix", default="", help="the deployment's RCM_TOPIC_PREFIX, if any")
    parser.add_argument("--database", default=":memory:", help="a DuckDB file to keep the tables in")
    parser.add_argument("--parquet", help="also write the postings to this Parquet file")
    args = parser.parse_args()
    con = connect(args.database)
    print(f"read {asyncio.run(consume(con, args.bootstrap, args.topic_prefix))} records")
    for name, rows in kpis(con).items():
        print(f"\n{name}")
        for row in rows:
            print("  " + "  ".join(str(v) for v in row))
    if args.parquet:
        quoted = args.parquet.replace("'", "''")
        con.execute(f"COPY posting TO '{quoted}' (FORMAT parquet)")


if __name__ == "__main__":
    main()
