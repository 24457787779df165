"""Helpers for tests on the real broker and database: run a service in this process, publish
events the way a producer would, and read what landed on a topic."""

import asyncio
import random
import secrets
import uuid
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from sqlalchemy import text

from rcmctl.processes import Platform
from rcmctl.stack import procs
from shared.auth import Authenticator, OidcSettings
from shared.envelope import Event
from shared.service import Service


def settings_for(platform: Platform, settings_class: type, service: str, **overrides: Any):
    return settings_class(
        service_name=service,
        kafka_bootstrap=platform.stack.kafka_bootstrap,
        database_url=platform.database_url(service),
        topic_prefix=platform.namespace,
        clearinghouse_dir=platform.clearinghouse_dir,
        retry_backoff_seconds=0.05,
        **overrides,
    )


@asynccontextmanager
async def running(service: Service, idp=None, api_key: bool = True):
    """The service's whole lifespan (migrations, broker, relay, loops) and an HTTP client to it. The client
    calls with an API key the app accepts (the fallback: every role, one subject), unless a request names a
    bearer token: with `idp` (the real Keycloak, tests/integration/keycloak_idp.py) the app takes its tokens
    too, so a test acts as a sample user with `headers=await idp.bearer("anna.ar")`; `api_key=False` takes
    tokens only, as production does."""
    key = secrets.token_urlsafe(24)
    fallback = {"api_key_fallback": api_key, "api_key": key}
    settings = idp.settings(**fallback) if idp is not None else OidcSettings(issuer="", **fallback)
    app = service.app(Authenticator(settings))
    async with _stopping_in_time(service.lifespan(app)):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://service", headers={"X-API-Key": key} if api_key else {}
        ) as client:
            await wait_for_assignment(service)
            yield client


@asynccontextmanager
async def _stopping_in_time(lifespan, seconds: float = 90):
    """A lifespan whose stop hangs fails the test then, with every task's stack to say where."""
    watchdog = None
    try:
        async with lifespan:
            try:
                yield
            finally:
                stopping = asyncio.current_task()
                watchdog = asyncio.get_running_loop().call_later(seconds, _report_and_cancel, stopping, seconds)
    finally:
        if watchdog is not None:
            watchdog.cancel()


def _report_and_cancel(stopping: asyncio.Task, seconds: float) -> None:
    for task in asyncio.all_tasks():
        task.print_stack(limit=8)
    stopping.cancel(f"the service did not stop within {seconds} s (every task's stack printed above)")


async def wait_for_assignment(service: Service, timeout: float = 30) -> None:
    """Consumers join their groups asynchronously; tests publish only once partitions are assigned."""
    deadline = asyncio.get_running_loop().time() + timeout
    for subscriber in service.subscribers:
        while not getattr(subscriber, "consumer", None) or not subscriber.consumer.assignment():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("consumer got no partitions")
            await asyncio.sleep(0.1)


async def publish(
    platform: Platform,
    topic: str,
    events: list[Event] | None = None,
    raw: list[tuple[bytes | None, list[tuple[str, bytes]], bytes | None]] | None = None,
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=platform.stack.kafka_bootstrap, acks="all", max_request_size=4 * 1024 * 1024
    )
    await producer.start()
    try:
        for event in events or []:
            await producer.send_and_wait(
                platform.namespace + topic, value=event.value(), key=event.subject.encode(), headers=event.headers()
            )
        for key, headers, value in raw or []:
            await producer.send_and_wait(platform.namespace + topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def read_topic(
    platform: Platform, topic: str, expect: int, timeout: float = 30, settle: float = 1.0
) -> list[ConsumerRecord]:
    """Everything on the topic once `expect` records arrived (then `settle` more seconds, so a
    duplicate that was going to arrive has the chance to)."""
    consumer = AIOKafkaConsumer(
        platform.namespace + topic,
        bootstrap_servers=platform.stack.kafka_bootstrap,
        group_id=f"reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    loop = asyncio.get_running_loop()
    try:
        deadline = loop.time() + timeout
        while len(records) < expect and loop.time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records += batch
        settle_until = loop.time() + settle
        while loop.time() < settle_until:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records += batch
    finally:
        await consumer.stop()
    return records


def header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers:
        if key == name:
            return value.decode()
    return None


async def scalar(service: Service, sql: str, **params: Any) -> Any:
    async with service.engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def eventually(check, timeout: float = 30, interval: float = 0.2):
    """Polls an async check until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports, below Linux's ephemeral range (32768 and up): a
    broker restarted on its ports mid-test could find one held by a client's outgoing connection there."""
    for _ in range(100):
        first = random.randrange(21000, 32000, 10)
        if not any(procs.port_in_use(first + n) for n in range(count)):
            return first
    raise RuntimeError("no free ports")


async def outbox_empty(dsn: str) -> bool:
    """Whether a service database's outbox has been relayed whole."""
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await connection.close()
