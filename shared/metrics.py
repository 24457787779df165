"""Prometheus metrics every service exposes on /metrics."""

import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Counter, Gauge, Histogram

from shared.contracts.topics import dead_letter_topic
from shared.kafka import client_options
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

CONSUMED = Counter("rcm_messages_consumed_total", "Events consumed and committed", ["topic", "consumer"])
DUPLICATES = Counter("rcm_messages_duplicate_total", "Redelivered events skipped by the inbox", ["topic", "consumer"])
CONFLICTS = Counter(
    "rcm_messages_conflict_total",
    "Events whose id was handled with another body (dead-lettered)",
    ["topic", "consumer"],
)
FAILED = Counter("rcm_messages_failed_total", "Handler attempts that raised", ["topic", "consumer"])
DEAD_LETTERED = Counter("rcm_messages_dead_lettered_total", "Events sent to a dead-letter topic", ["topic", "consumer"])
PUBLISHED = Counter("rcm_messages_published_total", "Outbox events published", ["topic"])
BATCH_SECONDS = Histogram("rcm_handler_batch_seconds", "Time to process one consumed batch", ["topic", "consumer"])
PRODUCER_RENEWED = Counter(
    "rcm_producer_renewed_total", "Producers replaced because the broker stopped answering them or refused their state"
)
OUTBOX_BACKLOG = Gauge("rcm_outbox_backlog", "Outbox rows seen waiting at the last relay poll")
OUTBOX_AGE = Gauge("rcm_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row at the last poll")
CONSUMER_PAUSED = Gauge(
    "rcm_consumer_paused",
    "1 while the consumer (or file loop) waits for its database or broker to come back; nothing is committed",
    ["topic", "consumer"],
)
PAUSED_SECONDS = Counter(
    "rcm_consumer_paused_seconds", "Time spent paused for the infrastructure", ["topic", "consumer"]
)
DEAD_LETTER_LAST = Gauge(
    "rcm_dead_letter_last_timestamp_seconds", "When this consumer last wrote a dead letter", ["topic", "consumer"]
)
DEAD_LETTERS = Gauge("rcm_dead_letters", "Dead letters not replayed yet (by the replay group)", ["topic"])
DEAD_LETTER_AGE = Gauge("rcm_dead_letter_oldest_age_seconds", "Age of the oldest dead letter not replayed", ["topic"])
WAITING = Gauge("rcm_waiting", "Items waiting for something that has not come (0 when none)", ["what"])
WAITING_AGE = Gauge("rcm_waiting_oldest_age_seconds", "Age of the oldest waiting item (0 when none)", ["what"])
QUARANTINED = Gauge("rcm_files_quarantined", "Files set aside with a reason, waiting for a person", ["kind"])
QUARANTINED_AGE = Gauge("rcm_files_quarantined_oldest_age_seconds", "Age of the oldest quarantined file", ["kind"])
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


# -- what waits: items, quarantined files and dead letters, each with the age of the oldest ------------


def show_waiting(what: str, count: int, oldest: datetime | None) -> None:
    WAITING.labels(what).set(count)
    WAITING_AGE.labels(what).set(_age(oldest.timestamp()) if oldest and count else 0)


def show_quarantined(kind: str, folder: Path) -> None:
    """Quarantined files are the ones still in the folder (a person moves them out once handled)."""
    try:
        files = [p.stat().st_mtime for p in folder.iterdir() if p.is_file() and not p.name.endswith(".reason.txt")]
    except OSError:
        files = []
    QUARANTINED.labels(kind).set(len(files))
    QUARANTINED_AGE.labels(kind).set(_age(min(files)) if files else 0)


def _age(timestamp: float) -> float:
    return max(0.0, time.time() - timestamp)


class Every:
    """True at most once per `seconds`: loops that poll often refresh their gauges less often."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.last = seconds, float("-inf")

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True


async def dead_letter_backlogs(
    reader: AIOKafkaConsumer, admin: AIOKafkaAdminClient, groups: dict[str, str]
) -> dict[str, tuple[int, float | None]]:
    """(letters after the replay group's position, timestamp of the oldest of them) of each dead-letter
    topic, given as {topic: its replay group}. One metadata request and one offset listing each way
    for all of them; a replay group's position is asked only where letters are kept, so a service
    whose dead-letter topics are empty (the usual case) costs the broker three requests a round."""
    described = await admin.describe_topics(list(groups))
    partitions = {
        d["topic"]: [
            TopicPartition(d["topic"], p["partition"]) for p in sorted(d["partitions"], key=lambda p: p["partition"])
        ]
        for d in described
    }
    every = [tp for tps in partitions.values() for tp in tps]
    beginnings, ends = (await reader.beginning_offsets(every), await reader.end_offsets(every)) if every else ({}, {})
    waiting: dict[TopicPartition, int] = {}
    for topic, tps in partitions.items():
        if not any(ends[tp] > beginnings[tp] for tp in tps):
            continue
        committed = await admin.list_consumer_group_offsets(groups[topic], partitions=tps)
        for tp in tps:
            done = committed.get(tp)
            start = max(beginnings[tp], done.offset if done is not None and done.offset >= 0 else 0)
            if ends[tp] > start:
                waiting[tp] = start
    stamps: dict[TopicPartition, float] = {}
    if waiting:
        reader.assign(list(waiting))
        for tp, start in waiting.items():
            reader.seek(tp, start)
        first = await reader.getmany(*waiting, timeout_ms=3000, max_records=len(waiting))
        stamps = {tp: records[0].timestamp / 1000 for tp, records in first.items() if records}
    backlogs: dict[str, tuple[int, float | None]] = {}
    for topic in groups:
        mine = [tp for tp in waiting if tp.topic == topic]
        oldest = min((stamps[tp] for tp in mine if tp in stamps), default=None)
        backlogs[topic] = (sum(ends[tp] - waiting[tp] for tp in mine), oldest)
    return backlogs


async def track_dead_letters(settings: ServiceSettings, topics: Iterable[str], interval: float = 30.0) -> None:
    """rcm_dead_letters and rcm_dead_letter_oldest_age_seconds of the dead-letter topics of the
    topics a service consumes, until cancelled (`rcm dlq replay` moves the replay group on). The
    broker away: the next round tries again."""
    by_letters = {settings.topic(dead_letter_topic(t)): t for t in sorted(topics)}
    groups = {dlt: settings.group(f"replay.{topic}") for dlt, topic in by_letters.items()}
    while True:
        options = client_options(settings)
        reader = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False)
        admin = AIOKafkaAdminClient(**options)
        try:
            await reader.start()
            await admin.start()
            while True:
                if groups:
                    backlogs = await asyncio.wait_for(dead_letter_backlogs(reader, admin, groups), timeout=interval)
                    for dlt, (count, oldest) in backlogs.items():
                        DEAD_LETTERS.labels(by_letters[dlt]).set(count)
                        DEAD_LETTER_AGE.labels(by_letters[dlt]).set(_age(oldest) if oldest and count else 0)
                await asyncio.sleep(interval)
        except Exception as exc:  # noqa: BLE001 - no broker now: start over after a while
            log.info("dead letters not counted", extra={"exc_type": type(exc).__name__})
        finally:
            await reader.stop()
            await admin.close()
        await asyncio.sleep(interval)
