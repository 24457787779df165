"""Prometheus metrics every service exposes on /metrics."""

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter("rcm_messages_consumed_total", "Events consumed and committed", ["topic", "consumer"])
DUPLICATES = Counter("rcm_messages_duplicate_total", "Redelivered events skipped by the inbox", ["topic", "consumer"])
FAILED = Counter("rcm_messages_failed_total", "Handler attempts that raised", ["topic", "consumer"])
DEAD_LETTERED = Counter("rcm_messages_dead_lettered_total", "Events sent to a dead-letter topic", ["topic", "consumer"])
PUBLISHED = Counter("rcm_messages_published_total", "Outbox events published", ["topic"])
BATCH_SECONDS = Histogram("rcm_handler_batch_seconds", "Time to process one consumed batch", ["topic", "consumer"])
OUTBOX_BACKLOG = Gauge("rcm_outbox_backlog", "Outbox rows seen waiting at the last relay poll")
OUTBOX_AGE = Gauge("rcm_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row at the last poll")
