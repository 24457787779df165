"""Where an encounter's time to claim.submitted goes, hop by hop, in a run kept by `rcm bench --keep`:

    ./rcm bench --encounters 300 --patients 100 --no-relay --trickle-seconds 30 --keep
    python -m rcmctl.bench.hops bench1796…_ [--last 1500]

Each encounter is followed by its correlation id through the records and claims' tables:
- published: the encounter.documented record's timestamp (the bench's producer);
- coded: encounter.coded's `coded_at` (coding's decision), then its record's timestamp (coding's relay);
- made: the claim's row (created_at, the claims transaction's start), its grouping window's opening
  (window_opened_at) and its batch (submission_batch.created_at: the 837P rendered; delivered_at);
- submitted: the claim.submitted record's timestamp (claims' relay).
The bench's own consumer is a step after the last; its p99 (the headline) is a little above TOTAL's.
Percentiles of each hop are over the last `--last` encounters published (the trickle's, at its size);
the hops' percentiles do not add up to the total's: the slow ones are not the same encounters."""

import argparse
import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from rcmctl import stack
from shared.contracts import topics
from shared.envelope import CORRELATION_HEADER

Stamps = dict[str, float]  # correlation id -> seconds since the epoch

HOPS: Sequence[tuple[str, str, str]] = (
    ("published → coded (coding's consumer, handler)", "published", "coded"),
    ("coded → encounter.coded out (coding's relay)", "coded", "coded_out"),
    ("encounter.coded out → claim made (claims' consumer)", "coded_out", "made"),
    ("claim made → 837P rendered", "made", "batched"),
    ("window opened → 837P rendered (the window, the spacing)", "window_opened", "batched"),
    ("837P rendered → handed over", "batched", "delivered"),
    ("handed over → claim.submitted out (claims' relay)", "delivered", "submitted_out"),
    ("TOTAL published → claim.submitted out", "published", "submitted_out"),
)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def record_times(
    bootstrap: str, topic: str, when: Callable[[object, Mapping[str, bytes]], float]
) -> dict[str, float]:
    """`when(record, headers)` of each record of the topic, by correlation id (the first record of each)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = (await admin.describe_topics([topic]))[0]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        end = await consumer.end_offsets(assigned)
        times: dict[str, float] = {}
        while any([await consumer.position(tp) < end[tp] for tp in assigned]):
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                for record in batch:
                    headers = dict(record.headers)
                    times.setdefault(headers[CORRELATION_HEADER].decode(), when(record, headers))
        return times
    finally:
        await consumer.stop()


def _record_time(record: object, _headers: Mapping[str, bytes]) -> float:
    return record.timestamp / 1000  # type: ignore[attr-defined]


def _coded_at(record: object, _headers: Mapping[str, bytes]) -> float:
    return datetime.fromisoformat(json.loads(record.value)["coded_at"]).timestamp()  # type: ignore[attr-defined]


async def claim_times(dsn: str) -> dict[str, Stamps]:
    """From claims' tables: when each claim (by correlation id) was made, its window opened, its 837P rendered and handed over."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT c.correlation_id, extract(epoch FROM c.created_at) AS made,"
            " extract(epoch FROM coalesce(c.window_opened_at, c.created_at)) AS window_opened,"
            " extract(epoch FROM b.created_at) AS batched, extract(epoch FROM b.delivered_at) AS delivered"
            " FROM claim c JOIN submission_batch b USING (batch_id) WHERE b.delivered_at IS NOT NULL"
        )
    finally:
        await connection.close()
    return {
        name: {row["correlation_id"]: float(row[name]) for row in rows}
        for name in ("made", "window_opened", "batched", "delivered")
    }


async def measure(namespace: str, last: int) -> tuple[int, list[tuple[str, float, float, float]]]:
    info = stack.read_info()
    if info is None:
        raise SystemExit("no stack is up (./rcm stack up)")
    bootstrap = info.kafka_bootstrap
    stamps: dict[str, dict[str, float]] = {
        "published": await record_times(bootstrap, namespace + topics.ENCOUNTER_DOCUMENTED, _record_time),
        "coded": await record_times(bootstrap, namespace + topics.ENCOUNTER_CODED, _coded_at),
        "coded_out": await record_times(bootstrap, namespace + topics.ENCOUNTER_CODED, _record_time),
        "submitted_out": await record_times(bootstrap, namespace + topics.CLAIM_SUBMITTED, _record_time),
    }
    dsn = info.database_url(namespace + "claims").replace("postgresql+asyncpg://", "postgresql://", 1)
    stamps |= await claim_times(dsn)
    followed = set.intersection(*(set(times) for times in stamps.values()))
    chosen = sorted(followed, key=lambda cid: stamps["published"][cid])[-last:]
    rows = []
    for name, start, end in HOPS:
        seconds = [stamps[end][cid] - stamps[start][cid] for cid in chosen]
        rows.append((name, percentile(seconds, 0.5), percentile(seconds, 0.9), percentile(seconds, 0.99)))
    return len(chosen), rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("namespace", help="the kept run's namespace (rcm bench --keep prints it), e.g. bench1796…_")
    parser.add_argument("--last", type=int, default=1500, help="the last N encounters published (default 1500)")
    args = parser.parse_args(argv)
    count, rows = asyncio.run(measure(args.namespace, args.last))
    print(f"{count} encounters; seconds at p50 / p90 / p99")
    for name, p50, p90, p99 in rows:
        print(f"{name:58s} {p50:7.3f} {p90:7.3f} {p99:7.3f}")


if __name__ == "__main__":
    main()
