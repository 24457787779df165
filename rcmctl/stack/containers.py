"""RCM_INFRA=testcontainers: Kafka and PostgreSQL as Docker containers (machines with a Docker engine).

The calling process owns the containers: `down()` in that process stops them, and testcontainers'
reaper (Ryuk) removes them when the process exits. `rcm stack up` in this mode therefore only makes
sense inside a longer-lived process such as a pytest session.
"""

from __future__ import annotations

import socket

from rcmctl.stack import kafka, postgres, procs

KAFKA_IMAGE = "apache/kafka:4.1.1"
POSTGRES_IMAGE = "postgres:18"

_running: list = []  # container handles started by this process
_info = None


def up():
    global _info
    if _info is not None:
        return _info
    try:
        from testcontainers.community.postgres import PostgresContainer
        from testcontainers.core.container import DockerContainer
    except ImportError as err:
        raise RuntimeError("RCM_INFRA=testcontainers needs `pip install testcontainers[kafka,postgres]`") from err
    from rcmctl.stack import StackError, StackInfo

    try:
        bootstrap = _start_kafka(DockerContainer)
        template = _start_postgres(PostgresContainer)
    except Exception as err:
        down()
        raise StackError(f"testcontainers could not start the stack (is a Docker engine running?): {err}") from err
    _info = StackInfo(mode="testcontainers", kafka_bootstrap=bootstrap, database_url_template=template)
    return _info


def down() -> None:
    global _info
    while _running:
        _running.pop().stop()
    _info = None


def _start_kafka(DockerContainer) -> str:
    # Advertised listeners must name the host port clients use, so pick it before the container starts.
    host_port = _free_port()
    settings = kafka.server_settings("/var/lib/kafka/data", 9092, 9093, host="localhost")
    settings["listeners"] = "PLAINTEXT://0.0.0.0:9092,CONTROLLER://localhost:9093"
    settings["advertised.listeners"] = f"PLAINTEXT://localhost:{host_port}"
    container = DockerContainer(KAFKA_IMAGE).with_bind_ports(9092, host_port)
    for key, value in kafka.docker_env(settings).items():
        container.with_env(key, value)
    container.with_env("CLUSTER_ID", kafka.random_cluster_id())  # else the image's fixed default id
    container.with_env("KAFKA_HEAP_OPTS", " ".join(kafka.HEAP))
    _running.append(container.start())
    bootstrap = f"localhost:{host_port}"
    procs.run_async(kafka.wait_ready(bootstrap, timeout=120))
    return bootstrap


def _start_postgres(PostgresContainer) -> str:
    pg = PostgresContainer(
        POSTGRES_IMAGE, username=postgres.APP_ROLE, password=postgres.password(), dbname=postgres.DATABASES[0]
    )
    _running.append(pg.start())
    host, port = pg.get_container_host_ip(), pg.get_exposed_port(5432)
    template = pg.get_connection_url(driver="asyncpg").rsplit("/", 1)[0] + "/{db}"
    procs.run_async(_create_databases(host, port))
    return template


async def _create_databases(host: str, port: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(host=host, port=port, user=postgres.APP_ROLE, password=postgres.password(),
                                 database=postgres.DATABASES[0])  # fmt: skip
    try:
        present = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        for db in postgres.DATABASES:
            if db not in present:
                await conn.execute(f'CREATE DATABASE "{db}"')
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
