"""A single-node Apache Kafka (KRaft, broker+controller in one JVM) run from Maven Central jars,
or (for fault tests) a cluster of three such nodes on one machine.

Layout under <run_dir>:  kafka/libs/*.jar  kafka/data/  kafka/server.properties  kafka/kafka.pid
and logs/kafka.log. Jars come from `mvn dependency:copy-dependencies` (~/.m2 caches them).
A cluster: kafka-cluster/node<N>/{data,server.properties,kafka.pid} and logs/kafka-<N>.log, the jars
of kafka/libs, one cluster id (kafka-cluster/cluster.id), replication 3 and min.insync.replicas 2:
a node may die (SIGKILL) and producers with acks=all go on with the other two.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import signal
import time
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
# A small local broker: the client compiler (C1) only. C2's compiles cost more than its faster code
# saved: the broker's CPU in a 20,000-encounter burst was 0.33-0.38 ms an encounter with C2 and
# 0.17-0.21 with C1 only, and idle 0.016 -> 0.012 of a core (broker alone). No hsperfdata sampling
# either (jstat cannot attach; nothing here uses it). Bench runs docs/bench/2026-12-03-s32-c1*/-c2*.
JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:-UsePerfData"]
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
        # An idle broker on a 2-core machine (measured, broker alone: 0.037 of a core with the defaults,
        # 0.016 with these): the controller writes its no-op liveness record every 10 s, not every 0.5 s,
        # and two request handler and network threads poll instead of eight and three.
        "metadata.max.idle.interval.ms": "10000",
        "num.io.threads": "2",
        "num.network.threads": "2",
    }


def render_properties(settings: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in settings.items())


def docker_env(settings: dict[str, str]) -> dict[str, str]:
    """The apache/kafka image's env form of broker settings: KAFKA_ + upper case, with
    `_` -> `__`, `-` -> `___` and `.` -> `_` (in that order, so the escapes stay unambiguous)."""

    def name(key: str) -> str:
        return "KAFKA_" + key.replace("_", "__").replace("-", "___").replace(".", "_").upper()

    return {name(k): v for k, v in settings.items()}


def java_cmd(paths: KafkaPaths | Node, main_class: str, *args: str, heap: list[str] = HEAP) -> list[str]:
    return [
        "java", *heap, *JVM_OPTIONS, "-XX:+UseG1GC", "-Djava.awt.headless=true",
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
    """What `StorageTool random-uuid` prints: 16 random bytes, URL-safe base64 without padding, and, as
    Kafka's Uuid.randomUuid does, never one that starts with "-" (the tool would read it as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def running_pid(paths: KafkaPaths) -> int | None:
    return procs.live_pid(paths.pid_file, must_contain="kafka.Kafka")


def start(paths: KafkaPaths, timeout: float = READY_TIMEOUT_S) -> bool:
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
        procs.run_async(wait_ready(bootstrap(), pid, paths.log, timeout))
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


# --- a cluster of nodes on one machine ---------------------------------------------------------------

CLUSTER_HEAP = ["-Xms384m", "-Xmx384m"]  # three JVMs share the machine


@dataclass(frozen=True)
class Node:
    """One broker+controller of a local cluster: node N listens on RCM_KAFKA_PORT + 2(N-1), its
    controller on the port after."""

    run_dir: Path
    node_id: int
    port: int
    controller_port: int

    root = property(lambda s: s.run_dir / "kafka-cluster" / f"node{s.node_id}")
    libs = property(lambda s: KafkaPaths.of(s.run_dir).libs)  # fetched once, shared by the nodes
    data = property(lambda s: s.root / "data")
    config = property(lambda s: s.root / "server.properties")
    log4j = property(lambda s: s.root / "log4j2.properties")
    pid_file = property(lambda s: s.root / "kafka.pid")
    log = property(lambda s: s.run_dir / "logs" / f"kafka-{s.node_id}.log")
    bootstrap = property(lambda s: f"127.0.0.1:{s.port}")


def cluster(run_dir: Path, size: int = 3) -> list[Node]:
    port = ports()[0]
    return [Node(run_dir, n, port + 2 * (n - 1), port + 2 * (n - 1) + 1) for n in range(1, size + 1)]


def cluster_bootstrap(nodes: list[Node]) -> str:
    return ",".join(node.bootstrap for node in nodes)


def node_settings(node: Node, nodes: list[Node]) -> dict[str, str]:
    replicas, isr = str(min(3, len(nodes))), str(min(2, len(nodes)))
    return server_settings(node.data, node.port, node.controller_port) | {
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes),
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": isr,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": isr,
        "default.replication.factor": replicas,
        "min.insync.replicas": isr,
        "unclean.leader.election.enable": "false",
    }


def configure_node(node: Node, nodes: list[Node], cluster_id: str) -> None:
    """The node's config (every start) and its storage, formatted once with the cluster's id."""
    node.data.mkdir(parents=True, exist_ok=True)
    node.log.parent.mkdir(parents=True, exist_ok=True)
    node.config.write_text(render_properties(node_settings(node, nodes)))
    node.log4j.write_text(resources.files(__package__).joinpath("log4j2.properties").read_text())
    if not (node.data / "meta.properties").exists():
        procs.run(
            java_cmd(node, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(node.config),
                     heap=CLUSTER_HEAP),
            what=f"Kafka storage format (node {node.node_id})",
        )  # fmt: skip


def _cluster_id(run_dir: Path) -> str:
    path = run_dir / "kafka-cluster" / "cluster.id"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(random_cluster_id() + "\n")
    return path.read_text().strip()


def node_pid(node: Node) -> int | None:
    return procs.live_pid(node.pid_file, must_contain=str(node.config))


def start_cluster(run_dir: Path, size: int = 3, timeout: float = READY_TIMEOUT_S) -> str:
    """Starts every node not running (all before waiting on any: each waits for the quorum); returns
    the bootstrap list once every node answers."""
    nodes = cluster(run_dir, size)
    fetch_jars(KafkaPaths.of(run_dir))
    cluster_id = _cluster_id(run_dir)
    for node in nodes:
        configure_node(node, nodes, cluster_id)
    started = [(node, _spawn(node)) for node in nodes if not node_pid(node)]
    for node, pid in started:
        procs.run_async(wait_ready(node.bootstrap, pid, node.log, timeout))
    return cluster_bootstrap(nodes)


def start_node(node: Node, nodes: list[Node], timeout: float = READY_TIMEOUT_S) -> None:
    """(Re)starts one node of a cluster whose storage is formatted; waits until it answers."""
    if node_pid(node):
        return
    configure_node(node, nodes, _cluster_id(node.run_dir))
    procs.run_async(wait_ready(node.bootstrap, _spawn(node), node.log, timeout))


def _spawn(node: Node) -> int:
    for port in (node.port, node.controller_port):
        if procs.port_in_use(port):
            raise RuntimeError(f"127.0.0.1:{port} is taken by another process (set RCM_KAFKA_PORT)")
    command = java_cmd(node, "kafka.Kafka", str(node.config), heap=CLUSTER_HEAP)
    return procs.spawn_detached(command, node.log, node.pid_file)


def stop_node(node: Node, kill: bool = False) -> bool:
    """SIGKILL (a crash) or SIGTERM with a grace period. True if the node was running."""
    pid = node_pid(node)
    if pid and kill:
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 10)
    elif pid:
        procs.terminate(pid, STOP_GRACE_S)
    node.pid_file.unlink(missing_ok=True)
    return pid is not None


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while procs.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not procs.alive(pid)


def stop_cluster(run_dir: Path, size: int = 3) -> None:
    """Stops every node at once (a node alone would wait for the others in its controlled shutdown)."""
    nodes = [node for node in cluster(run_dir, size) if node_pid(node)]
    for node in nodes:
        pid = node_pid(node)
        if pid:
            os.kill(pid, signal.SIGTERM)
    for node in nodes:
        pid = node_pid(node)
        if pid and not _wait_gone(pid, STOP_GRACE_S):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
        node.pid_file.unlink(missing_ok=True)
