"""The fault-injection run: the whole cycle (five services and the payer simulator as processes, as
the demo runs them) on the chaos suite's own stack, a stream of encounters published at a steady
rate, and faults one after another while it flows; then the reconciliation and the figures."""

import asyncio
import json
import logging
import math
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from rcmctl import sample
from rcmctl.chaos import eras, poison
from rcmctl.chaos.reconcile import Check, Expected, get, pauses, reconcile
from rcmctl.chaos.stack import ChaosStack
from rcmctl.ehr import encounter_event, register_patients
from rcmctl.processes import SERVICES, Platform, free_port_base
from rcmctl.provision import deprovision, provision
from rcmctl.stack.topics import ensure_topics
from shared.contracts.events import EncounterDocumentedV1
from shared.contracts.topics import ALL_TOPICS, ENCOUNTER_DOCUMENTED
from shared.envelope import Event
from shared.kafka import ProducerBroken, close_producer, delivered

Log = Callable[[str], None]
SEND_TIMEOUT = 30.0  # the EHR's wait for one send's ack before it takes a new producer
GIVE_UP_AFTER = 180.0  # the longest the EHR tries one encounter (the longest broker outage is 30 s)
READY_TIMEOUT = 300.0  # coding loads its code sets first: slow on a busy 2-core machine


@dataclass(frozen=True)
class Plan:
    """What the run does: how much traffic, and which faults for how long."""

    encounters: int  # at least; publishing goes on at the rate until the last fault is over
    patients: int
    rate: float  # encounters published per second
    gap: float  # seconds between faults
    postgres_outages: tuple[float, ...]  # seconds PostgreSQL is down, one outage each
    broker_outage: float  # seconds a broker is down (one of three killed, or the only one)
    timeout: float  # seconds to wait for every encounter to finish after the last fault


FULL = Plan(encounters=2000, patients=200, rate=4.0, gap=8.0, postgres_outages=(20.0, 60.0), broker_outage=30.0,
            timeout=900.0)  # fmt: skip
SHORT = Plan(encounters=200, patients=30, rate=2.0, gap=3.0, postgres_outages=(20.0,), broker_outage=10.0,
             timeout=300.0)  # fmt: skip


@dataclass
class Fault:
    kind: str
    target: str
    down_seconds: float = 0.0
    in_flight: int = 0  # encounters published but not finished when it began: the events it delayed
    ready_after: float = 0.0  # seconds from the fault's end until every service was ready again


@dataclass
class Report:
    plan: Plan
    brokers: int
    faults: list[Fault] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    encounters: int = 0  # published while the faults ran (at least the plan's count)
    finished_after_last_fault: float = 0.0
    pauses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def figures(self) -> dict[str, Any]:
        longest = max((p["seconds"] for p in self.pauses), default=0.0)
        return {
            "encounters": self.encounters,
            "seconds": round(self.seconds, 1),
            "events delayed by faults": sum(f.in_flight for f in self.faults),
            "consumer pauses": len(self.pauses),
            "longest pause (s)": longest,
            "finished after the last fault (s)": round(self.finished_after_last_fault, 1),
            "lost": 0 if self.ok else "see the checks",
        }

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "ok": self.ok, "figures": self.figures()}, indent=2, default=str)


class Run:
    def __init__(self, plan: Plan, chaos: ChaosStack, log: Log) -> None:
        self.plan, self.chaos, self.log = plan, chaos, log
        self.report = Report(plan, chaos.brokers)
        self.published = 0
        self.platform: Platform | None = None

    # -- the whole run ------------------------------------------------------------------------------
    async def __call__(self) -> Report:
        aiokafka_log = logging.getLogger("aiokafka")
        level = aiokafka_log.level
        aiokafka_log.setLevel(logging.CRITICAL)  # a broker away is the point here (and back afterwards)
        try:
            return await self._run()
        finally:
            aiokafka_log.setLevel(level)

    async def _run(self) -> Report:
        started = time.monotonic()
        self.log(
            f"stack of its own in {self.chaos.run_dir} (Kafka :{self.chaos.kafka_port}, x{self.chaos.brokers}; PostgreSQL :{self.chaos.pg_port})"
        )
        info = await asyncio.to_thread(self.chaos.up)
        platform = self.platform = Platform(
            stack=info,
            run_dir=self.chaos.run_dir,
            namespace="chaos_",
            port_base=free_port_base(28100),
            extra_env={"RCM_AR_CYCLE_SECONDS": "5", "RCM_AR_STATEMENTS_DIR": str(self.chaos.run_dir / "statements")},
        )
        try:
            await self._prepare(platform)
            patients = sample.patients(self.plan.patients, seed=31)
            ids = await register_patients(platform, patients)
            pool = sample.encounters(ids, self.plan.encounters * 10, faulty_rate=0.05, seed=37)
            faults_done = asyncio.Event()
            stream = asyncio.create_task(self._stream(platform, pool, faults_done))
            try:
                expected_eras, letters = await self._faults(platform)
            finally:
                faults_done.set()
            visits = await stream
            self.report.encounters = len(visits)
            last_fault = time.monotonic()
            await self._until_finished(platform)
            self.report.finished_after_last_fault = time.monotonic() - last_fault
            await asyncio.sleep(5)  # anything doubled or late would show now
            secrets = [p["mrn"] for p in patients] + [p["coverages"][0]["member_id"] for p in patients]
            self.report.checks = await reconcile(platform, Expected(visits, expected_eras, letters, secrets))
            self.report.pauses = pauses(platform)
        finally:
            self.report.seconds = time.monotonic() - started
            await asyncio.to_thread(platform.stop_all)
            await asyncio.to_thread(self.chaos.down)
        return self.report

    async def _prepare(self, platform: Platform) -> None:
        """A fresh namespace: its databases dropped and made again, its topics replicated on every broker."""
        bootstrap, names = platform.stack.kafka_bootstrap, [platform.namespace + topic for topic in ALL_TOPICS]
        for folder in (platform.clearinghouse_dir, platform.log_dir, self.chaos.run_dir / "statements"):
            shutil.rmtree(folder, ignore_errors=True)  # the payer remembers the interchanges it paid
        await deprovision(platform)
        await _until_gone(bootstrap, names)
        await ensure_topics(bootstrap, names, partitions=3, replication=min(3, self.chaos.brokers))
        await provision(platform)  # the databases; the topics are there already
        platform.start_all()
        await asyncio.to_thread(platform.wait_ready, SERVICES, READY_TIMEOUT)
        self.log(f"platform up: logs in {platform.log_dir}")

    # -- traffic ------------------------------------------------------------------------------------
    async def _stream(
        self, platform: Platform, pool: list[EncounterDocumentedV1], faults_done: asyncio.Event
    ) -> list[EncounterDocumentedV1]:
        """Publish at the plan's rate until the faults are over (and at least the plan's count), as an
        EHR would: a send that fails is sent again (same ce_id), by a new producer when the broker
        refused the old one's state after its restart (shared.kafka.delivered). Returns what was published."""
        bootstrap = platform.stack.kafka_bootstrap
        producer = await _ehr_producer(bootstrap)
        topic, began = platform.namespace + ENCOUNTER_DOCUMENTED, time.monotonic()
        try:
            for n, visit in enumerate(pool):
                if faults_done.is_set() and n >= self.plan.encounters:
                    break
                await asyncio.sleep(max(0.0, began + n / self.plan.rate - time.monotonic()))
                producer = await self._send(producer, bootstrap, topic, encounter_event(visit))
                self.published = n + 1
        finally:
            await close_producer(producer)
        self.log(f"published {self.published} encounters")
        return pool[: self.published]

    async def _send(
        self, producer: AIOKafkaProducer, bootstrap: str, topic: str, event: Event[Any]
    ) -> AIOKafkaProducer:
        """One encounter, sent until the broker has it; returns the producer to go on with. An EHR that
        cannot publish for GIVE_UP_AFTER seconds fails the run (loudly, not by waiting forever)."""
        deadline = time.monotonic() + GIVE_UP_AFTER
        while time.monotonic() < deadline:
            try:
                send = await producer.send(topic, event.value(), key=event.subject.encode(), headers=event.headers())
                await delivered([send], SEND_TIMEOUT)
                return producer
            except ProducerBroken as broken:
                self.log(f"  the EHR's producer is broken ({broken}): a new one sends again")
                await close_producer(producer)
                producer = await _ehr_producer(bootstrap, deadline)
            except KafkaError:
                await asyncio.sleep(1.0)
        await close_producer(producer)
        raise TimeoutError(f"chaos: the EHR could not publish an encounter for {GIVE_UP_AFTER:.0f}s")

    # -- faults -------------------------------------------------------------------------------------
    async def _faults(self, platform: Platform) -> tuple[dict[str, str], dict[str, int]]:
        await self._wait(
            lambda: any((platform.clearinghouse_dir / "processed" / "835").glob("*.x12")), 180, "a first 835"
        )
        expected_eras = eras.hostile(platform.clearinghouse_dir, control_number=900000001)
        letters = await poison.publish(platform.stack.kafka_bootstrap, platform.namespace)
        self.log(f"dropped {len(expected_eras)} hostile 835s, published poison on {len(letters)} topics")
        for name in SERVICES:
            await self._fault("SIGKILL", name, lambda n=name: self._kill_service(platform, n))
        kind, broker = ("SIGKILL", "one of three brokers") if self.chaos.brokers > 1 else ("stop", "the broker")
        await self._fault(
            kind,
            broker,
            lambda: self._outage(self.chaos.stop_broker, self.chaos.start_broker, self.plan.broker_outage),
        )
        for seconds in self.plan.postgres_outages:
            await self._fault(
                "stop",
                f"PostgreSQL {seconds:.0f} s",
                lambda s=seconds: self._outage(self.chaos.stop_postgres, self.chaos.start_postgres, s),
            )
        return expected_eras, letters

    async def _fault(self, kind: str, target: str, inject: Callable[[], Awaitable[float]]) -> None:
        assert self.platform is not None
        fault = Fault(kind, target, in_flight=await self._in_flight(self.platform))
        self.log(f"{kind} {target} ({fault.in_flight} encounters in flight)")
        fault.down_seconds = await inject()
        ended = time.monotonic()
        await asyncio.to_thread(self.platform.wait_ready, SERVICES, READY_TIMEOUT)
        fault.ready_after = time.monotonic() - ended
        self.log(f"  over after {fault.down_seconds:.1f} s; every service ready {fault.ready_after:.1f} s later")
        self.report.faults.append(fault)
        await asyncio.sleep(self.plan.gap)

    async def _kill_service(self, platform: Platform, name: str) -> float:
        began = time.monotonic()
        await asyncio.to_thread(platform.stop, name, True)
        await asyncio.sleep(1.0)
        platform.start(name)
        return time.monotonic() - began

    async def _outage(self, stop: Callable[[], None], start: Callable[[], None], seconds: float) -> float:
        began = time.monotonic()
        await asyncio.to_thread(stop)
        self.log(f"  stopped in {time.monotonic() - began:.1f} s")
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - began)))
        restarted = time.monotonic()
        await asyncio.to_thread(start)
        self.log(f"  started again in {time.monotonic() - restarted:.1f} s")
        return time.monotonic() - began

    # -- progress -----------------------------------------------------------------------------------
    async def _in_flight(self, platform: Platform) -> int:
        try:
            return max(0, self.published - await asyncio.to_thread(finished, platform, True))
        except httpx.HTTPError:
            return self.published

    async def _until_finished(self, platform: Platform) -> None:
        total = self.published

        def done() -> bool:
            try:
                return finished(platform) >= total
            except httpx.HTTPError:
                return False

        await self._wait(done, self.plan.timeout, f"all {total} encounters to finish")

    async def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(predicate):
            if time.monotonic() > deadline:
                raise TimeoutError(f"chaos: timed out after {timeout:.0f}s waiting for {what}")
            await asyncio.sleep(1.0)


async def _ehr_producer(bootstrap: str, deadline: float = math.inf) -> AIOKafkaProducer:
    while time.monotonic() < deadline:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                    request_timeout_ms=10000)  # fmt: skip
        try:
            await producer.start()
            return producer
        except KafkaError:  # the broker is away: the EHR tries again
            await close_producer(producer)
            await asyncio.sleep(1.0)
    raise TimeoutError("chaos: the EHR could not reach the broker")


async def _until_gone(bootstrap: str, topics: list[str], timeout: float = 60) -> None:
    """Topic deletion finishes in the background; a topic made again too early races with it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while set(topics) & set(await admin.list_topics()) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


def finished(platform: Platform, estimate: bool = False) -> int:
    """Encounters at their end: rejected or queued at coding, held, or on a claim the payer answered.
    A claim bills a patient's encounters of a day: until every claim is answered, `estimate` counts
    the billed encounters in proportion to the claims answered (else none)."""
    coding = get(platform, "coding", "/v1/stats")
    encounters = get(platform, "claims", "/v1/stats/encounters")
    billed, held = encounters.get("submitted", 0), encounters.get("held", 0)
    submitted = get(platform, "claims", "/v1/stats").get("submitted", 0)
    ar = get(platform, "ar_followup", "/v1/summary").get("by_status", {})
    adjudicated = sum(ar.get(s, 0) for s in ("paid", "partially_paid", "denied"))
    if submitted and adjudicated >= submitted:
        answered = billed
    else:
        answered = billed * adjudicated // submitted if estimate and submitted else 0
    return int(coding.get("rejected", 0) + coding.get("queued", 0) + held + answered)


def run(plan: Plan, chaos: ChaosStack, log: Log, report_file: Path | None = None) -> Report:
    report = asyncio.run(Run(plan, chaos, log)())
    if report_file is not None:
        report_file.parent.mkdir(parents=True, exist_ok=True)
        report_file.write_text(report.to_json())
    return report
