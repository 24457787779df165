"""Settings from the environment (prefix RCM_). Secrets are SecretStr and never logged."""

import json
from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.reference import PAYER_DIRECTORY

DEFAULT_PAYER_DIRECTORY = PAYER_DIRECTORY


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RCM_", extra="ignore")

    service_name: str = "rcm"
    # "production" makes a service refuse its test-only settings (a simulated clock, for one); the
    # chart's production values set it.
    environment: str = "development"
    kafka_bootstrap: str = "127.0.0.1:19092"
    # Kafka security (SASL/TLS) is configured per deployment; plaintext is the local default.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None  # CA of the TLS listener (default: the system's CAs)
    # Test runs isolate themselves with a prefix on every topic name and consumer group.
    topic_prefix: str = ""
    database_url: SecretStr = SecretStr("postgresql+asyncpg://rcm:rcm-local-dev@127.0.0.1:15432/rcm")
    migrate_on_start: bool = True
    http_host: str = "127.0.0.1"
    http_port: int = 8100
    # Every /v1 route needs a bearer token (shared/auth.py, RCM_OIDC_*); these two are open when on.
    http_metrics: bool = True  # /metrics on the API's port (off where the API faces more than Prometheus)
    http_docs: bool = True  # /docs and /openapi.json
    metrics_port: int = 0  # >0: /metrics on this port of its own, for Prometheus only
    clearinghouse_dir: Path = Path(".run/clearinghouse")
    # Registration's payer directory; claims and A/R read their per-payer settings from it too.
    payer_directory_file: Path | None = None  # default: shared/reference/payers.json
    log_level: str = "INFO"
    # The garbage collector's generation thresholds (CPython's: 700, 10, 10). A batch of events makes
    # tens of thousands of short-lived objects (records, events, rows, statements); collected every 700
    # while still alive, the survivors were promoted and scanned again in the older generations: a fifth
    # to a third of coding's, claims', payments' and A/R's CPU in a burst went to the collector
    # (gc.callbacks timings, 3,000 encounters), under 7% with these. Peak memory did not move.
    gc_thresholds: tuple[int, int, int] = (50_000, 20, 100)

    # Consumer tuning: batches make one transaction serve many events (offsets: shared.consumer.COMMIT_SECONDS).
    consume_max_records: int = 500
    # An idle consumer's only traffic: a heartbeat to its group's coordinator every heartbeat_ms and a
    # fetch the broker holds up to fetch_wait_ms (it answers at once when a record arrives). A member
    # that dies without leaving keeps its partitions until session_timeout_ms.
    kafka_heartbeat_ms: int = Field(3000, ge=100)
    kafka_session_timeout_ms: int = Field(10_000, ge=1000)
    kafka_fetch_wait_ms: int = Field(5000, ge=0)
    # A poll that brought fewer records waits this long for more before the batch is handled: a steady
    # trickle of single records otherwise costs a transaction, an outbox relay and a publish each.
    consume_linger_ms: int = Field(20, ge=0, le=1000)
    retry_attempts: int = 4
    retry_backoff_seconds: float = 1.0
    inbox_retention_days: int = 14  # longer than the topics' retention: a redelivery is always recognised
    outbox_batch_size: int = 1000
    outbox_poll_seconds: float = 30.0  # the relays are woken by NOTIFY; this bounds a wait for one

    @model_validator(mode="after")
    def _heartbeats_within_the_session(self) -> Self:
        # The group coordinator drops a member it has not heard from for a session: a heartbeat must come first.
        if self.kafka_heartbeat_ms >= self.kafka_session_timeout_ms:
            raise ValueError("RCM_KAFKA_HEARTBEAT_MS must be below RCM_KAFKA_SESSION_TIMEOUT_MS")
        return self

    @classmethod
    def of(cls: type[Self], settings: "ServiceSettings | None" = None) -> Self:
        """A service's own settings from whatever it was given: its own class as is, the common
        settings with the service's fields taking their environment/defaults, or nothing (all from
        the environment)."""
        if isinstance(settings, cls):
            return settings
        return cls(**settings.model_dump()) if settings is not None else cls()

    @property
    def production(self) -> bool:
        return self.environment.strip().lower() == "production"

    def payer_directory(self) -> list[dict[str, Any]]:
        """The directory's payers as plain data (registration validates the file with its own model)."""
        path = self.payer_directory_file or DEFAULT_PAYER_DIRECTORY
        payers: list[dict[str, Any]] = json.loads(Path(path).read_text(encoding="utf-8"))["payers"]
        return payers

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def group(self, consumer: str) -> str:
        return f"{self.topic_prefix}{consumer}"
