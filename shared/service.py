"""The runtime every service is made of: settings, database, Kafka broker and producer, outbox
relay, background loops, and an HTTP app with health, readiness and metrics. A service declares
its subscriptions, API (routes and their permission table) and loops; this module does the wiring
and the orderly shutdown.

Every `/v1` route needs a bearer token (shared/auth.py) whose roles the route's rule in the
service's permission table names (shared/security.py); `/healthz` and `/readyz` are open;
`/metrics` and the API documents are served only when RCM_HTTP_METRICS / RCM_HTTP_DOCS say so
(RCM_METRICS_PORT serves the metrics on a port of their own instead)."""

import asyncio
import functools
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit, inbox, metrics, migrations, outbox, telemetry
from shared.api import RefuseControlCharacters
from shared.auth import Authenticator, OidcSettings
from shared.consumer import BatchProcessor, InvalidAnswer, Subscriber, Subscription
from shared.contracts.events import Contract
from shared.db import asyncpg_dsn, make_engine, make_sessions
from shared.envelope import Event
from shared.http_server import serve
from shared.kafka import close_producer, make_producer
from shared.logging import configure_logging
from shared.outbox import OutboxRelay
from shared.security import Permissions, authorize
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
Loop = Callable[["Service[Any]"], Awaitable[None]]
T = TypeVar("T", bound=Contract)
D = TypeVar("D")


async def _call_with_deps(
    handler: Callable[..., Awaitable[None]], deps: Any, session: AsyncSession, events: list[Event[Any]]
) -> None:
    await handler(session, events, deps)


async def _purge_inbox(service: "Service[Any]") -> None:
    while True:
        async with service.sessions() as session, session.begin():
            await inbox.purge(session, service.settings.inbox_retention_days)
        await asyncio.sleep(3600)


@dataclass(frozen=True)
class Consumes(Generic[T, D]):
    """One subscription: the topic, its contract, and the handler `(session, events, deps)`."""

    topic: str
    contract: type[T]
    handler: Callable[[AsyncSession, list[Event[T]], D], Awaitable[None]]
    consumer: str | None = None  # logical consumer (inbox, dead letters); default "<service>.<topic>"
    answer_invalid: InvalidAnswer | None = None  # tells a sender why its record is not a valid event
    # A consumer group several of the service's subscriptions share: one consumer reads their topics
    # and handles each batch in one transaction, the handlers in declaration order (shared/consumer.py).
    group: str | None = None


@dataclass(frozen=True)
class Api:
    """A service's routes and who may call each: `"METHOD /path" -> roles` (shared/security.py)."""

    router: APIRouter
    permissions: Permissions


@dataclass(frozen=True)
class Declaration:
    """What a service is, in one place: its name, what it consumes and publishes, its migrations and
    its API. The chart's topology, the databases to create, the process list and the README's route x
    role table are derived from these."""

    name: str
    consumes: tuple[Consumes[Any, Any], ...]
    publishes: frozenset[str]
    migrations_dir: Path
    api: Api | None = None

    @property
    def apis(self) -> tuple[Api, ...]:
        """Every API the service serves: its own and the kernel's (GET /v1/audit, shared/audit.py)."""
        return (*((self.api,) if self.api else ()), Api(audit.router, audit.PERMISSIONS))

    @property
    def permissions(self) -> dict[str, frozenset[str]]:
        return {route: roles for api in self.apis for route, roles in api.permissions.items()}

    @property
    def consumed_topics(self) -> frozenset[str]:
        return frozenset(c.topic for c in self.consumes)


class Service(Generic[D]):
    lag_interval = 10.0  # seconds between refreshes of rcm_consumer_lag

    def __init__(self, declaration: Declaration, settings: ServiceSettings, deps: D) -> None:
        self.declaration, self.settings, self.deps = declaration, settings, deps
        self.name, self.migrations_dir = declaration.name, declaration.migrations_dir
        self.database_url = settings.database_url.get_secret_value()
        self.engine = make_engine(self.database_url)
        # A session knows which topics its service may publish: outbox.stage refuses any other.
        self.sessions = make_sessions(self.engine, info={outbox.PUBLISHES: declaration.publishes})
        self.producer: AIOKafkaProducer | None = None  # made in lifespan: aiokafka needs the running loop
        self.relay: OutboxRelay | None = None
        self._renewing = asyncio.Lock()
        self.loops: list[Loop] = []
        self.consumers: list[BatchProcessor[Any]] = []
        groups: dict[str, list[Subscription[Any]]] = {}
        for consumes in declaration.consumes:
            handler = functools.partial(_call_with_deps, consumes.handler, deps)
            consumer = consumes.consumer or f"{self.name}.{consumes.topic}"
            subscription = Subscription(
                consumes.topic, consumer, consumes.contract, handler, consumes.answer_invalid, consumes.group
            )
            groups.setdefault(subscription.group_id, []).append(subscription)
        for subscriptions in groups.values():
            self.consumers.append(
                BatchProcessor(subscriptions, settings, self.sessions, lambda: self.producer, self.renew_producer)
            )
        self.subscribers = [Subscriber(processor, settings) for processor in self.consumers]

    # -- declaration ------------------------------------------------------------------------
    def loop(self, body: Loop) -> Loop:
        """Decorator for a background loop; it is restarted after a crash, cancelled at stop."""
        self.loops.append(body)
        return body

    # -- lifecycle --------------------------------------------------------------------------
    async def _supervise(self, body: Loop) -> None:
        while True:
            try:
                await body(self)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background loop crashed; restarting", extra={"loop": body.__name__})
                await asyncio.sleep(1.0)

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        if self.settings.migrate_on_start:
            await asyncio.to_thread(migrations.upgrade, self.migrations_dir, self.database_url)
        self.producer = make_producer(self.settings)
        await self.producer.start()
        self.relay = OutboxRelay(
            service=self.name,
            engine=self.engine,
            dsn=asyncpg_dsn(self.database_url),
            producer=self.producer,
            topic_prefix=self.settings.topic_prefix,
            batch_size=self.settings.outbox_batch_size,
            poll_seconds=self.settings.outbox_poll_seconds,
            renew=self.renew_producer,
        )
        for subscriber in self.subscribers:
            await subscriber.start()
        metrics_server = None
        if self.settings.metrics_port:  # a listener of its own, for Prometheus only (not the API's port)
            metrics_server, _ = start_http_server(self.settings.metrics_port, self.settings.http_host)
        tasks = [asyncio.create_task(self.relay.run(), name="outbox-relay")]
        tasks.append(asyncio.create_task(metrics.track_consumer_lag(self, self.lag_interval), name="consumer-lag"))
        tasks.append(asyncio.create_task(self._supervise(_purge_inbox), name="inbox-purge"))
        dead_letters = metrics.track_dead_letters(self.settings, self.declaration.consumed_topics)
        tasks.append(asyncio.create_task(dead_letters, name="dead-letters"))
        tasks += [asyncio.create_task(self._supervise(body), name=body.__name__) for body in self.loops]
        log.info("service started", extra={"http_port": self.settings.http_port})
        try:
            yield
        finally:
            await asyncio.gather(*(s.stop() for s in self.subscribers))  # in-flight batches finish first
            await _cancel_all(tasks)
            await close_producer(self.producer)
            await self.engine.dispose()
            if metrics_server is not None:
                metrics_server.shutdown()
            telemetry.shutdown()
            log.info("service stopped")

    async def renew_producer(self, broken: AIOKafkaProducer) -> None:
        """A producer that can deliver nothing more (shared.kafka.ProducerBroken) is replaced; its callers
        send again (the outbox rows were never deleted, dead letters are retried)."""
        async with self._renewing:
            if self.producer is not broken:
                return  # the relay and a consumer both found it broken: renewed once
            fresh = make_producer(self.settings)
            await fresh.start()
            self.producer = fresh
            if self.relay is not None:
                self.relay.producer = fresh
        metrics.PRODUCER_RENEWED.inc()
        log.error("producer broken: replaced by a new one")
        await close_producer(broken)

    async def ready(self) -> dict[str, bool]:
        checks = {"database": False, "kafka": False}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception:  # noqa: BLE001, S110 - any failure means "not ready"
            pass
        try:
            async with asyncio.timeout(3.0):
                assert self.producer is not None
                checks["kafka"] = bool((await self.producer.client.fetch_all_metadata()).brokers())
        except Exception:  # noqa: BLE001, S110 - any failure means "not ready"
            pass
        checks["consumers"] = not any(consumer.paused for consumer in self.consumers)  # none waits for a fault
        return checks

    def app(self, authenticator: Authenticator | None = None) -> FastAPI:
        """The HTTP app; callers are checked by `authenticator` (default: from RCM_OIDC_*, so bad settings fail here)."""
        docs = self.settings.http_docs
        app = FastAPI(title=f"OpenRCM {self.name}", lifespan=self.lifespan, docs_url="/docs" if docs else None,
                      redoc_url=None, openapi_url="/openapi.json" if docs else None)  # fmt: skip
        app.state.settings = self.settings
        app.state.service = self
        app.add_middleware(RefuseControlCharacters)  # a NUL never reaches a route, nor PostgreSQL
        app.state.authenticator = authenticator or Authenticator(OidcSettings())

        @app.get("/healthz", include_in_schema=False)
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/readyz", include_in_schema=False)
        async def readyz(response: Response) -> dict[str, bool]:
            checks = await self.ready()
            if not all(checks.values()):
                response.status_code = 503
            return checks

        if self.settings.http_metrics:

            @app.get("/metrics", include_in_schema=False)
            async def metrics_endpoint() -> Response:
                return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        for api in self.declaration.apis:  # a route without a rule in its table is refused to everyone
            app.include_router(api.router, dependencies=[Depends(authorize(api.permissions, audit.refused))])
        return app

    def run(self) -> None:
        configure_logging(self.name, self.settings.log_level)
        telemetry.configure(self.name)  # exports spans only when OTEL_EXPORTER_OTLP_ENDPOINT is set
        app = self.app()
        if app.state.authenticator.settings.api_key_fallback:
            log.warning("RCM_OIDC_API_KEY_FALLBACK is on: the API key opens the API (local scripts only)")
        # What was built (code sets: some 600,000 objects in coding; tables, modules) lives as long as the
        # process: kept out of the collector's view, a full collection no longer walks it (~0.2 s each).
        gc.freeze()
        gc.set_threshold(*self.settings.gc_thresholds)
        serve(app, self.settings.http_host, self.settings.http_port, graceful_seconds=35)


async def _cancel_all(tasks: list[asyncio.Task[Any]], every: float = 1.0) -> None:
    """Cancels the tasks and waits until each has ended. A cancellation can be lost (Python 3.11's
    asyncio.wait_for, inside aiokafka's getmany, drops one that lands as its inner wait completes),
    so a task still running after `every` seconds is cancelled again."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=every)
