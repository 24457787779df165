"""A single-node Apache Kafka (KRaft, broker+controller in one JVM) run from Maven Central jars.

Layout under <run_dir>:  kafka/libs/*.jar  kafka/data/  kafka/server.properties  kafka/kafka.pid
and logs/kafka.log. Jars come from `mvn dependency:copy-dependencies` (~/.m2 caches them).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rcmctl.stack import procs

KAFKA_VERSION = "4.1.1"
LOG4J2_VERSION = "2.24.3"  # the version the 4.1.1 release tarball ships
SLF4J_VERSION = "1.7.36"  # Kafka 4.x logs through SLF4J 1.x; a 2.x api would ignore the binding
HEAP = ["-Xms512m", "-Xmx512m"]
STOP_GRACE_S = 30.0
READY_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class KafkaPaths:
    root: Path

    @classmethod
    def of(cls, run_dir: Path) -> KafkaPaths:
        return cls(run_dir / "kafka")

    libs = property(lambda s: s.root / "libs")
    data = property(lambda s: s.root / "data")
    pom = property(lambda s: s.root / "pom.xml")
    config = property(lambda s: s.root / "server.properties")
    log4j = property(lambda s: s.root / "log4j2.properties")
    pid_file = property(lambda s: s.root / "kafka.pid")
    log = property(lambda s: s.root.parent / "logs" / "kafka.log")


def ports() -> tuple[int, int]:
    """PLAINTEXT port from RCM_KAFKA_PORT (default 19092); the controller takes the next one."""
    port = int(os.environ.get("RCM_KAFKA_PORT", "19092"))
    return port, port + 1


def bootstrap() -> str:
    return f"127.0.0.1:{ports()[0]}"


def render_pom() -> str:
    deps = [
        ("org.apache.kafka", "kafka_2.13", KAFKA_VERSION),  # broker + StorageTool
        ("org.apache.kafka", "kafka-tools", KAFKA_VERSION),  # TopicCommand, perf tools
        # The binding is only in the release tarball, in no POM: without it the broker logs nothing.
        ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J2_VERSION),
        ("org.apache.logging.log4j", "log4j-api", LOG4J2_VERSION),
        ("org.apache.logging.log4j", "log4j-core", LOG4J2_VERSION),
        ("org.slf4j", "slf4j-api", SLF4J_VERSION),
    ]
    # dependencyManagement pins api/core/slf4j even where Kafka's POMs pull other versions in.
    xml = "".join(
        f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"
        for g, a, v in deps
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        "<modelVersion>4.0.0</modelVersion>"
        "<groupId>org.openrcm.local</groupId><artifactId>kafka-runtime</artifactId>"
        "<version>1</version><packaging>pom</packaging>"
        f"<dependencyManagement><dependencies>{xml}</dependencies></dependencyManagement>"
        f"<dependencies>{xml}</dependencies></project>\n"
    )


def server_settings(data_dir: Path | str, port: int, controller_port: int, host: str = "127.0.0.1") -> dict[str, str]:
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        # One node: internal topics must not ask for three replicas, or no group coordinator appears.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",  # tests join consumer groups without a 3 s pause
        "auto.create.topics.enable": "false",  # topics are created explicitly (rcmctl.stack.topics)
        "num.partitions": "3",
        "log.cleaner.dedupe.buffer.size": "16777216",  # the 128 MiB default would sit on a 512 MiB heap
    }


def render_properties(settings: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in settings.items())


def docker_env(settings: dict[str, str]) -> dict[str, str]:
    """The apache/kafka image's env form of broker settings: KAFKA_ + upper case, with
    `_` -> `__`, `-` -> `___` and `.` -> `_` (in that order, so the escapes stay unambiguous)."""

    def name(key: str) -> str:
        return "KAFKA_" + key.replace("_", "__").replace("-", "___").replace(".", "_").upper()

    return {name(k): v for k, v in settings.items()}


def java_cmd(paths: KafkaPaths, main_class: str, *args: str) -> list[str]:
    return [
        "java", *HEAP, "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={paths.log4j}",
        f"-Dkafka.logs.dir={paths.log.parent}",
        "-cp", f"{paths.libs}/*", main_class, *args,
    ]  # fmt: skip


def fetch_jars(paths: KafkaPaths) -> bool:
    """Copies the broker's jars into libs/ unless they are already there. True if Maven ran."""
    if any(paths.libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        return False
    if shutil.which("mvn") is None:
        raise RuntimeError("Kafka jars are missing and Maven (mvn) is not installed")
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.pom.write_text(render_pom())
    staging = paths.root / "libs.partial"  # an interrupted fetch never looks complete
    shutil.rmtree(staging, ignore_errors=True)
    procs.run(
        ["mvn", "-B", "-q", "-f", str(paths.pom), "dependency:copy-dependencies",
         "-DincludeScope=runtime", f"-DoutputDirectory={staging}"],
        what="Maven fetch of the Kafka jars",
    )  # fmt: skip
    shutil.rmtree(paths.libs, ignore_errors=True)
    staging.rename(paths.libs)
    return True


def configure(paths: KafkaPaths) -> None:
    """Writes the configs (every start, so a changed port applies) and formats storage once."""
    port, controller_port = ports()
    paths.data.mkdir(parents=True, exist_ok=True)
    paths.log.parent.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(render_properties(server_settings(paths.data, port, controller_port)))
    paths.log4j.write_text(resources.files(__package__).joinpath("log4j2.properties").read_text())
    if not (paths.data / "meta.properties").exists():
        cluster_id = random_cluster_id()
        procs.run(
            java_cmd(paths, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(paths.config)),
            what="Kafka storage format",
        )


def random_cluster_id() -> str:
    # What `StorageTool random-uuid` prints: 16 random bytes, URL-safe base64 without padding.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def running_pid(paths: KafkaPaths) -> int | None:
    return procs.live_pid(paths.pid_file, must_contain="kafka.Kafka")


def start(paths: KafkaPaths) -> bool:
    """Starts the broker detached unless it already runs; waits until it answers. True if started."""
    if running_pid(paths):
        return False
    fetch_jars(paths)
    configure(paths)
    port, controller_port = ports()
    for p in (port, controller_port):
        if procs.port_in_use(p):
            raise RuntimeError(f"127.0.0.1:{p} is taken by another process (set RCM_KAFKA_PORT)")
    pid = procs.spawn_detached(java_cmd(paths, "kafka.Kafka", str(paths.config)), paths.log, paths.pid_file)
    try:
        procs.run_async(wait_ready(bootstrap(), pid, paths.log))
    except BaseException:
        procs.terminate(pid, STOP_GRACE_S)
        paths.pid_file.unlink(missing_ok=True)
        raise
    return True


async def wait_ready(
    bootstrap_servers: str, pid: int | None = None, log: Path | None = None, timeout: float = READY_TIMEOUT_S
) -> None:
    """Polls with a metadata request until the broker answers; fails early if the JVM died."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_error: Exception | None = None
    while loop.time() < deadline:
        if pid is not None and not procs.alive(pid):
            raise RuntimeError(f"Kafka exited during startup; see {log}:\n{procs.tail(log)}")
        try:
            await ping(bootstrap_servers)
            return
        except Exception as err:  # not up yet: connection refused, no controller yet, ...
            last_error = err
            await asyncio.sleep(0.5)
    where = f"; see {log}" if log else ""
    raise TimeoutError(f"Kafka at {bootstrap_servers} not ready after {timeout:.0f}s ({last_error!r}){where}")


@contextmanager
def _quiet(logger_name: str):
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def ping(bootstrap_servers: str, timeout_ms: int = 3000) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=timeout_ms)
    with _quiet("aiokafka"):  # a refused connection is an answer here, not an error worth logging
        try:
            await admin.start()
            await admin.describe_cluster()
        finally:
            await admin.close()


def stop(paths: KafkaPaths) -> bool:
    """SIGTERM (controlled shutdown), SIGKILL after a grace period. True if a broker was running."""
    pid = running_pid(paths)
    if pid:
        procs.terminate(pid, STOP_GRACE_S)
    paths.pid_file.unlink(missing_ok=True)
    return pid is not None
