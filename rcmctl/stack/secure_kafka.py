"""A second local Kafka broker that only speaks SASL_PLAINTEXT with SCRAM-SHA-512, for proving the
services' Kafka security settings against a real broker (tests/ops). The users and their SCRAM
credentials are written into the KRaft metadata at format time (`kafka-storage format --add-scram`),
as a production cluster's would be by its operator. It reuses the jars of the local stack.

    broker = SecureKafka(run_dir, port=29092, users={"claims": "s3cret"})
    broker.start()      # formats, starts, waits until an authenticated client is answered
    broker.stop()
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from rcmctl.stack import kafka, procs

MECHANISM = "SCRAM-SHA-512"
ADMIN = ("admin", "admin-local-secret")  # the broker's own inter-broker user


def scram_settings(data_dir: Path | str, port: int, controller_port: int, host: str = "127.0.0.1") -> dict[str, str]:
    settings = kafka.server_settings(data_dir, port, controller_port, host)
    user, password = ADMIN
    settings.update({
        "listeners": f"SASL_PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"SASL_PLAINTEXT://{host}:{port}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
            f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{user}" password="{password}";',
    })  # fmt: skip
    return settings


@dataclass
class SecureKafka:
    run_dir: Path
    port: int
    users: dict[str, str] = field(default_factory=dict)
    pid: int | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, local_run_dir: Path | None = None, timeout: float = 60) -> None:
        from rcmctl.stack import run_dir_from_env

        local = kafka.KafkaPaths.of(Path(local_run_dir) if local_run_dir else run_dir_from_env())
        kafka.fetch_jars(local)
        paths = kafka.KafkaPaths(self.run_dir / "secure-kafka")
        shutil.rmtree(paths.root, ignore_errors=True)
        paths.data.mkdir(parents=True)
        paths.log.parent.mkdir(parents=True, exist_ok=True)
        (paths.root / "libs").symlink_to(local.libs.resolve())
        for p in (self.port, self.port + 1):
            if procs.port_in_use(p):
                raise RuntimeError(f"127.0.0.1:{p} is taken")
        paths.config.write_text(kafka.render_properties(scram_settings(paths.data, self.port, self.port + 1)))
        paths.log4j.write_text((Path(kafka.__file__).parent / "log4j2.properties").read_text())
        scram = [
            f"{MECHANISM}=[name={name},password={password}]"
            for name, password in {**dict([ADMIN]), **self.users}.items()
        ]
        procs.run(
            kafka.java_cmd(paths, "kafka.tools.StorageTool", "format", "-t", kafka.random_cluster_id(),
                           "-c", str(paths.config), *[arg for s in scram for arg in ("--add-scram", s)]),
            what="SCRAM Kafka storage format",
        )  # fmt: skip
        self.pid = procs.spawn_detached(
            kafka.java_cmd(paths, "kafka.Kafka", str(paths.config)), paths.log, paths.pid_file
        )
        try:
            procs.run_async(self._wait_ready(timeout, paths.log))
        except BaseException:
            self.stop()
            raise

    async def _wait_ready(self, timeout: float, log: Path) -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not procs.alive(self.pid):
                raise RuntimeError(f"SCRAM Kafka exited during startup:\n{procs.tail(log)}")
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                security_protocol="SASL_PLAINTEXT",
                sasl_mechanism=MECHANISM,
                sasl_plain_username=ADMIN[0],
                sasl_plain_password=ADMIN[1],
                request_timeout_ms=3000,
            )
            try:
                await admin.start()
                await admin.describe_cluster()
                return
            except Exception:
                if loop.time() > deadline:
                    raise TimeoutError(f"SCRAM Kafka not ready after {timeout:.0f}s; see {log}") from None
                await asyncio.sleep(0.5)
            finally:
                await admin.close()

    def stop(self) -> None:
        if self.pid is not None:
            procs.terminate(self.pid, kafka.STOP_GRACE_S)
            self.pid = None
