"""The chaos suite's own Kafka and PostgreSQL: a run folder and ports of their own, so stopping
PostgreSQL or killing a broker never touches the stack other people and tests use. One broker, or
a cluster of three (replication 3, min.insync.replicas 2) for the broker-kill case."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rcmctl.stack import DEFAULT_RUN_DIR, StackInfo, kafka, postgres

SHARED_PORTS = {19092, 19093, 15432}  # the development stack's (rcmctl.stack defaults)
START_TIMEOUT = 300.0  # a broker recovering its logs on a busy 2-core machine takes minutes


class NotOurs(RuntimeError):
    """The chaos stack would share a folder or a port with the development stack."""


@dataclass(frozen=True)
class ChaosStack:
    run_dir: Path
    kafka_port: int = 29092
    pg_port: int = 25432
    brokers: int = 1
    with_postgres: bool = True  # False: the broker alone (a producer's own fault test)

    def __post_init__(self) -> None:
        if self.run_dir.resolve() == DEFAULT_RUN_DIR.resolve():
            raise NotOurs(f"{self.run_dir} is the development stack's folder: give the chaos suite its own")
        taken = {self.pg_port, *range(self.kafka_port, self.kafka_port + 2 * self.brokers)} & SHARED_PORTS
        if taken:
            raise NotOurs(f"ports {sorted(taken)} belong to the development stack")

    @contextmanager
    def environment(self) -> Iterator[None]:
        """RCM_RUN_DIR, RCM_KAFKA_PORT and RCM_PG_PORT of this stack (rcmctl.stack reads them at each call)."""
        ours = {
            "RCM_RUN_DIR": str(self.run_dir),
            "RCM_KAFKA_PORT": str(self.kafka_port),
            "RCM_PG_PORT": str(self.pg_port),
        }
        saved = {name: os.environ.get(name) for name in ours}
        os.environ.update(ours)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    @property
    def pg(self) -> postgres.PgPaths:
        return postgres.PgPaths.of(self.run_dir)

    @property
    def nodes(self) -> list[kafka.Node]:
        with self.environment():
            return kafka.cluster(self.run_dir, self.brokers)

    def up(self) -> StackInfo:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._borrow_jars()
        with self.environment():
            if self.with_postgres:
                postgres.start(self.pg)
            if self.brokers == 1:
                kafka.start(kafka.KafkaPaths.of(self.run_dir), START_TIMEOUT)
                bootstrap = kafka.bootstrap()
            else:
                bootstrap = kafka.start_cluster(self.run_dir, self.brokers, START_TIMEOUT)
            template = postgres.dsn_template() if self.with_postgres else ""
        logs = {"postgres": str(self.pg.log)} if self.with_postgres else {}
        return StackInfo(mode="local", kafka_bootstrap=bootstrap, database_url_template=template, logs=logs)

    def down(self) -> None:
        with self.environment():
            if self.brokers == 1:
                kafka.stop(kafka.KafkaPaths.of(self.run_dir))
            else:
                kafka.stop_cluster(self.run_dir, self.brokers)
            if self.with_postgres:
                postgres.stop(self.pg)

    def _borrow_jars(self) -> None:
        """The broker's jars are the same wherever it runs: use the development stack's if present."""
        ours, theirs = kafka.KafkaPaths.of(self.run_dir).libs, kafka.KafkaPaths.of(DEFAULT_RUN_DIR).libs
        if not ours.exists() and any(theirs.glob(f"kafka_2.13-{kafka.KAFKA_VERSION}.jar")):
            ours.parent.mkdir(parents=True, exist_ok=True)
            ours.symlink_to(theirs, target_is_directory=True)

    def last_words(self, lines: int = 15) -> str:
        """The end of every log of the run (services, simulator, broker, PostgreSQL): what a failed run
        leaves to read when its folder is removed. The services never log patient data."""
        parts = []
        for log in sorted((self.run_dir / "logs").rglob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append("\n".join([f"--- {log.relative_to(self.run_dir)}", *tail]))
        return "\n".join(parts)

    # -- faults -----------------------------------------------------------------------------------
    def stop_postgres(self) -> None:
        """pg_ctl stop -m fast: sessions end at once ("terminating connection", then refused)."""
        with self.environment():
            postgres.stop(self.pg)

    def start_postgres(self) -> None:
        with self.environment():
            postgres.start(self.pg)

    def stop_broker(self, node: int = 2) -> None:
        """One of three brokers is killed (SIGKILL): the other two keep every topic writable (min
        ISR 2). The only broker is stopped (SIGTERM): the platform waits for it."""
        if self.brokers == 1:
            with self.environment():
                kafka.stop(kafka.KafkaPaths.of(self.run_dir))
        else:
            kafka.stop_node(self.nodes[node - 1], kill=True)

    def start_broker(self, node: int = 2) -> None:
        """Started again; a broker that gives up during its start (a loaded machine: its old sockets and
        locks not yet released) gets a second start a few seconds later, as an operator would give it."""
        for attempt in (1, 2):
            try:
                with self.environment():
                    if self.brokers == 1:
                        kafka.start(kafka.KafkaPaths.of(self.run_dir), START_TIMEOUT)
                    else:
                        kafka.start_node(self.nodes[node - 1], self.nodes, START_TIMEOUT)
                return
            except RuntimeError as exc:
                if attempt == 2 or "exited during startup" not in str(exc):
                    raise
                print(f"chaos: the broker gave up during its start, starting it again: {exc}", flush=True)
                time.sleep(5)
