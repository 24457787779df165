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
from collections.abc import Sequence
from datetime import datetime

import asyncpg
from aiokafka import ConsumerRecord

from rcmctl import stack
from rcmctl.bench.probes import KafkaProbe, read_records
from shared.contracts import topics
from shared.db import asyncpg_dsn
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


async def first_records(bootstrap: str, names: Sequence[str]) -> dict[str, dict[str, ConsumerRecord]]:
    """Each topic's first record of each correlation id, read once (probes.read_records)."""
    async with KafkaProbe(bootstrap) as kafka:
        ends = await kafka.end_offsets(names)
    firsts: dict[str, dict[str, ConsumerRecord]] = {name: {} for name in names}
    async for record in read_records(bootstrap, {}, ends):
        correlation = dict(record.headers)[CORRELATION_HEADER].decode()
        firsts[record.topic].setdefault(correlation, record)
    return firsts


def _seconds(record: ConsumerRecord) -> float:
    return record.timestamp / 1000


def _coded_at(record: ConsumerRecord) -> float:
    return datetime.fromisoformat(json.loads(record.value)["coded_at"]).timestamp()


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
    documented, coded, submitted = (
        namespace + t for t in (topics.ENCOUNTER_DOCUMENTED, topics.ENCOUNTER_CODED, topics.CLAIM_SUBMITTED)
    )
    firsts = await first_records(info.kafka_bootstrap, [documented, coded, submitted])
    stamps: dict[str, Stamps] = {
        name: {cid: when(record) for cid, record in firsts[topic].items()}
        for name, topic, when in (
            ("published", documented, _seconds),
            ("coded", coded, _coded_at),
            ("coded_out", coded, _seconds),
            ("submitted_out", submitted, _seconds),
        )
    }
    stamps |= await claim_times(asyncpg_dsn(info.database_url(namespace + "claims")))
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
