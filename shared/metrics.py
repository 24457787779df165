"""Prometheus metrics every service exposes on /metrics."""

import asyncio
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter("rcm_messages_consumed_total", "Events consumed and committed", ["topic", "consumer"])
DUPLICATES = Counter("rcm_messages_duplicate_total", "Redelivered events skipped by the inbox", ["topic", "consumer"])
FAILED = Counter("rcm_messages_failed_total", "Handler attempts that raised", ["topic", "consumer"])
DEAD_LETTERED = Counter("rcm_messages_dead_lettered_total", "Events sent to a dead-letter topic", ["topic", "consumer"])
PUBLISHED = Counter("rcm_messages_published_total", "Outbox events published", ["topic"])
BATCH_SECONDS = Histogram("rcm_handler_batch_seconds", "Time to process one consumed batch", ["topic", "consumer"])
OUTBOX_BACKLOG = Gauge("rcm_outbox_backlog", "Outbox rows seen waiting at the last relay poll")
OUTBOX_AGE = Gauge("rcm_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row at the last poll")
CONSUMER_LAG = Gauge(
    "rcm_consumer_lag",
    "Records on the partition not yet consumed (high watermark - position)",
    ["topic", "partition", "consumer"],
)


async def lag_by_partition(consumer: Any) -> dict[tuple[str, int], int]:
    """Lag of each partition assigned to an aiokafka consumer. The high watermark comes with every
    fetch; a partition not fetched yet asks the broker for its end offset."""
    assigned = consumer.assignment()
    unknown = [tp for tp in assigned if consumer.highwater(tp) is None]
    ends = await consumer.end_offsets(unknown) if unknown else {}
    lags = {}
    for tp in assigned:
        end = consumer.highwater(tp)
        end = ends.get(tp) if end is None else end
        if end is not None:
            lags[(tp.topic, tp.partition)] = max(0, end - await consumer.position(tp))
    return lags


async def track_consumer_lag(broker: Any, interval: float = 10.0) -> None:
    """Refreshes rcm_consumer_lag for every subscriber of the broker until cancelled; partitions
    that moved to another replica after a rebalance stop being reported here."""
    shown: set[tuple[str, str, str]] = set()
    while True:
        current: set[tuple[str, str, str]] = set()
        for subscriber in broker.subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if consumer is None:
                continue
            try:
                lags = await asyncio.wait_for(lag_by_partition(consumer), timeout=interval)
            except Exception:  # noqa: BLE001, S112 - a rebalance or a broker hiccup: try again next round
                continue
            for (topic, partition), lag in lags.items():
                labels = (topic, str(partition), subscriber.group_id or "")
                CONSUMER_LAG.labels(*labels).set(lag)
                current.add(labels)
        for labels in shown - current:
            CONSUMER_LAG.remove(*labels)
        shown = current
        await asyncio.sleep(interval)
