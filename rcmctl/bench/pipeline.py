"""Benchmark of the whole platform (run it; it is not a test), every cost counted:

1. The platform starts in a namespace of its own (five services, replicas if asked, the payer
   simulator) and registers the patients; once that has settled, every process idles for
   `idle_seconds` to measure what each costs doing nothing.
2. Burst: the encounters are published at once. The clock stops when the run has settled: every
   consumer group has committed every record, no outbox holds an event, every file the payer wrote
   has been read, and A/R has adjudicated every claim with every posting applied (paid in A/R =
   posted from the 835s). CPU per encounter
   is each process's CPU over the window less its idle rate (rcmctl/bench/cpu.py); Kafka records,
   PostgreSQL statements, row writes and transactions are the differences of the servers' counters.
3. Trickle: encounters published at a steady rate, for latencies when nothing queues.
4. Relay: the services stop, and the same records go through the same hops as pure aiokafka
   consume → produce (rcmctl/bench/relay.py), burst then trickle, measured the same way.

Latencies come from the records' own timestamps (publication of the encounter → its claim's
claim.submitted → the first payment.posted), read once each window has closed."""

import asyncio
import json
import os
import platform as host
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord
from rich.console import Console
from rich.table import Table

from payer_simulator.simulator import Folders, complete_files
from rcmctl import demo, sample, stack
from rcmctl.bench import cpu, quota, relay, results
from rcmctl.bench.probes import (
    KafkaProbe,
    Offsets,
    PostgresProbe,
    lag,
    read_records,
    records_by_topic,
    statements_delta,
    transactions_delta,
    writes_delta,
)
from rcmctl.ehr import encounter_event, register_patients
from rcmctl.processes import ROOT, SERVICES, Platform, free_port_base
from rcmctl.provision import deprovision, provision
from rcmctl.stack import keycloak
from rcmctl.stack.topics import delete_topics, ensure_topics
from services import declaration
from shared.contracts.topics import ALL_TOPICS, CLAIM_SUBMITTED, ENCOUNTER_CODED, ENCOUNTER_DOCUMENTED, PAYMENT_POSTED

console = Console()
Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]  # key, value, headers
SAMPLES_PER_PRODUCER = 1000  # records of each topic and producer kept for the relay to replay


@dataclass(frozen=True)
class Options:
    encounters: int = 5000
    patients: int = 500
    replicas: dict[str, int] = field(default_factory=dict)
    trickle_rate: float = 50.0  # encounters/s; 0 skips the trickle
    trickle_seconds: float = 20.0
    idle_seconds: float = 10.0
    relay: bool = True
    env: dict[str, str] = field(default_factory=dict)  # extra environment of every service
    label: str = "run"
    note: str = ""
    timeout: float = 900.0  # seconds a phase may take to settle
    out: Path = results.RESULTS_DIR
    cpu_limits: dict[str, float] = field(default_factory=dict)  # service -> cores each of its processes may use
    partitions: int = 3  # of every topic
    keep: bool = False  # the run's databases and topics stay, for a look afterwards (rcmctl.bench.hops)

    @property
    def trickle_encounters(self) -> int:
        return round(self.trickle_rate * self.trickle_seconds)


def parse_pairs(values: Iterable[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name or not setting:
            raise ValueError(f"{what} must look like NAME=VALUE, not {value!r}")
        pairs[name.strip()] = setting.strip()
    return pairs


def parse_replicas(values: Iterable[str]) -> dict[str, int]:
    """`claims=2` -> {"claims": 2}; a name that is not a service, or a count below 1, is refused."""
    replicas = {}
    for name, count in parse_pairs(values, "--replicas").items():
        if name not in SERVICES:
            raise ValueError(f"--replicas: {name!r} is not one of {', '.join(SERVICES)}")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--replicas: {name} needs a count of at least 1, not {count!r}")
        replicas[name] = int(count)
    return replicas


# --- what the records say ----------------------------------------------------------------------------


def producer_of(record: ConsumerRecord) -> str:
    """The service that wrote a record, from its CloudEvents source (/openrcm/<service>)."""
    source = dict(record.headers).get("ce_source", b"").decode()
    name = source.rstrip("/").rsplit("/", 1)[-1]
    return name if name in SERVICES else relay.SOURCE


@dataclass
class Traffic:
    """What a window's records tell: who produced what, how big, and when each encounter moved."""

    prefix: str  # the topics' prefix: the namespace, or the namespace's relay prefix
    published: dict[str, float] = field(default_factory=dict)  # encounter id -> publication (s)
    coded: dict[str, float] = field(default_factory=dict)  # encounter id -> its encounter.coded (s)
    claims: dict[str, tuple[list[str], float]] = field(default_factory=dict)  # claim -> encounters, submitted
    posted: dict[str, float] = field(default_factory=dict)  # claim -> first payment.posted
    relayed: dict[str, list[float]] = field(default_factory=dict)  # relay: topic -> latencies from bench-origin
    produced: dict[str, dict[str, int]] = field(default_factory=dict)  # topic -> producer -> records
    sizes: dict[str, int] = field(default_factory=dict)  # topic -> bytes (key, value, headers)
    samples: dict[str, dict[str, list[Record]]] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)  # topic -> its last record's time

    def add(self, record: ConsumerRecord) -> None:
        topic, at = record.topic.removeprefix(self.prefix), record.timestamp / 1000
        self.last[topic] = max(at, self.last.get(topic, 0.0))
        producer = producer_of(record)
        by = self.produced.setdefault(topic, {})
        by[producer] = by.get(producer, 0) + 1
        headers = list(record.headers)
        self.sizes[topic] = (
            self.sizes.get(topic, 0)
            + len(record.value or b"")
            + len(record.key or b"")
            + sum(len(k) + len(v) for k, v in headers)
        )
        kept = self.samples.setdefault(topic, {}).setdefault(producer, [])
        if len(kept) < SAMPLES_PER_PRODUCER:
            kept.append((record.key, record.value, [(k, v) for k, v in headers if k != relay.ORIGIN]))
        origin = dict(headers).get(relay.ORIGIN)
        if origin is not None:
            self.relayed.setdefault(topic, []).append(at - int(origin) / 1000)
        elif topic == ENCOUNTER_DOCUMENTED:
            self.published.setdefault(record.key.decode(), at)
        elif topic == ENCOUNTER_CODED:
            self.coded.setdefault(json.loads(record.value)["encounter_id"], at)
        elif topic == CLAIM_SUBMITTED:
            data = json.loads(record.value)
            self.claims.setdefault(data["claim_id"], (data.get("encounter_ids") or [data["encounter_id"]], at))
        elif topic == PAYMENT_POSTED:
            self.posted.setdefault(json.loads(record.value)["claim_id"], at)

    def latencies(self) -> dict[str, dict | None]:
        if self.relayed:
            return {name: results.percentiles(self.relayed.get(topic, [])) for name, topic in _MILESTONES.items()}
        coded = [at - self.published[e] for e, at in self.coded.items() if e in self.published]
        submitted, paid = [], []
        for claim, (encounters, at) in self.claims.items():
            for encounter in encounters:
                if encounter in self.published:
                    submitted.append(at - self.published[encounter])
                    if claim in self.posted:
                        paid.append(self.posted[claim] - self.published[encounter])
        return {
            "encounter_coded": results.percentiles(coded),  # the first hop: where the rest of the time goes
            "claim_submitted": results.percentiles(submitted),
            "payment_posted": results.percentiles(paid),
        }

    def last_posted(self) -> float | None:
        return self.last.get(PAYMENT_POSTED)


_MILESTONES = {"encounter_coded": ENCOUNTER_CODED, "claim_submitted": CLAIM_SUBMITTED, "payment_posted": PAYMENT_POSTED}


def kafka_figures(traffic: Traffic, encounters: int, consumers: dict[str, list[str]]) -> dict:
    """Records, bytes and deliveries (records × the groups that read them) per encounter."""
    records = {topic: sum(by.values()) for topic, by in sorted(traffic.produced.items())}
    readers = {topic: sum(topic in topics for topics in consumers.values()) for topic in records}
    per = {topic: round(count / encounters, 3) for topic, count in records.items()}
    per["total"] = round(sum(records.values()) / encounters, 3)
    return {
        "records_per_encounter": per,
        "bytes_per_encounter": round(sum(traffic.sizes.values()) / encounters),
        "deliveries_per_encounter": round(sum(records[t] * readers[t] for t in records) / encounters, 3),
    }


# --- the run -------------------------------------------------------------------------------------------


def run_bench(options: Options, run_dir: Path) -> Path:
    """Runs every phase and writes the result; returns the JSON file's path."""
    identity = stack.mode() == "local"
    keycloak_was_up = identity and keycloak.running_pid(keycloak.KcPaths.of(run_dir)) is not None
    info = stack.up(run_dir, identity=identity)
    platform = Platform(
        stack=info,
        run_dir=run_dir,
        namespace=f"bench{int(time.time())}{secrets.token_hex(2)}_",  # two benches started together stay apart
        port_base=free_port_base(8200),
        replicas=dict(options.replicas),
        extra_env=dict(options.env),
        partitions=options.partitions,
    )
    ehr = _as_the_demo_calls(platform, run_dir) if identity else None
    bench = Bench(platform, options, ehr)
    try:
        result = asyncio.run(bench.run())
        path = results.write(result, options.out)  # kept even if the clean-up below fails
    finally:
        platform.stop_all()
        quota.release(bench.quota_groups)
        if options.keep:
            kept = platform.namespace
            console.print(f"kept: databases and topics {kept}* (python -m rcmctl.bench.hops {kept})")
        else:
            asyncio.run(deprovision(platform))
        asyncio.run(delete_topics(info.kafka_bootstrap, [relay.relay_topic(platform.namespace, t) for t in ALL_TOPICS]))
        if identity and not keycloak_was_up:
            keycloak.stop(run_dir)
    show(result, path)
    return path


def _as_the_demo_calls(platform: Platform, run_dir: Path) -> httpx.Auth:
    """The services trust the local Keycloak and the benchmark calls as the demo does (rcmctl/demo.py):
    it watches as `rcm-demo` and registers patients as the EHR's client, `rcm-ehr`."""
    demo._with_tokens(platform, run_dir)
    return demo._client("rcm-ehr", run_dir)


class Bench:
    def __init__(self, platform: Platform, options: Options, ehr: httpx.Auth | None) -> None:
        self.platform, self.options, self.ehr = platform, options, ehr
        self.namespace = platform.namespace
        self.bootstrap = platform.stack.kafka_bootstrap
        self.topics = [self.namespace + t for t in ALL_TOPICS]
        self.consumers = {name: sorted(declaration(name).consumed_topics) for name in SERVICES}
        self.groups: dict[str, tuple[str, ...]] = {}  # consumer group -> the topics it reads
        for name in SERVICES:
            for c in declaration(name).consumes:
                group = self.namespace + (c.group or c.consumer or f"{name}.{c.topic}")
                self.groups[group] = (*self.groups.get(group, ()), self.namespace + c.topic)
        self.relays: dict[str, subprocess.Popen] = {}
        self.quota_groups: list[Path] = []
        self.plan_dir = platform.run_dir / "bench" / self.namespace.rstrip("_")

    async def run(self) -> dict:
        o = self.options
        await provision(self.platform)
        await asyncio.to_thread(self.platform.start_all)
        await asyncio.to_thread(self.platform.wait_ready)
        self._confine()
        databases = {name: self.platform.database(name) for name in SERVICES}
        dsn = self.platform.stack.database_url_template.replace("postgresql+asyncpg://", "postgresql://", 1)
        async with KafkaProbe(self.bootstrap) as self.kafka, PostgresProbe(dsn, databases) as self.pg:
            self.sampler = cpu.Sampler(self._roots, self.namespace, *_server_pids(self.platform))
            self.sampler.bench_pids = self.pg.pids
            self.sampler.start()
            try:
                return await self._phases(o, databases)
            finally:
                self.sampler.stop()
                self._stop_relay()
                shutil.rmtree(self.plan_dir, ignore_errors=True)  # the replayed records

    async def _phases(self, o: Options, databases: dict[str, str]) -> dict:
        console.print(f"registering {o.patients} patients…")
        ids = await register_patients(self.platform, sample.patients(o.patients, seed=31), auth=self.ehr)
        burst = _records(sample.encounters(ids, o.encounters, faulty_rate=0.0, seed=37))
        trickle = _records(sample.encounters(ids, o.trickle_encounters, faulty_rate=0.0, seed=41))
        await self._settle(expected=0)
        await self.kafka.wait_stable(self.groups)
        before = _machine()
        idle = await self._idle()
        pg_before = await self._pg_snapshot()
        console.print(f"burst: {o.encounters} encounters…")
        platform_burst, traffic = await self._phase(burst, None, idle, o.encounters)
        pg_after = await self._pg_snapshot()
        platform_result = {
            "burst": platform_burst,
            "kafka": kafka_figures(traffic, o.encounters, self.consumers),
            "postgres": {
                "statements": statements_delta(pg_before, pg_after, databases, o.encounters),
                "statements_unavailable": self.pg.unavailable,
                "row_writes": writes_delta(pg_before, pg_after, databases, o.encounters),
                "transactions": transactions_delta(pg_before, pg_after, databases, o.encounters),
            },
            "idle_cores": results.idle_summary(idle),
        }
        plans = {"burst": traffic}
        if o.trickle_encounters:
            console.print(f"trickle: {o.trickle_encounters} encounters at {o.trickle_rate:g}/s…")
            platform_result["trickle"], plans["trickle"] = await self._phase(
                trickle, o.trickle_rate, idle, o.encounters + o.trickle_encounters
            )
            platform_result["trickle"]["rate"] = o.trickle_rate
        platform_result["peak_rss_mib"] = self._peak_rss()
        await asyncio.to_thread(self.platform.stop_all)
        relay_result = await self._relay(plans, burst, trickle) if o.relay else None
        return self._result(platform_result, relay_result, before)

    def _confine(self) -> None:
        """Caps every process of a service given --cpu-limit (replicas each get the same cap)."""
        for key, process in self.platform.processes.items():
            cores = self.options.cpu_limits.get(key.split(".")[0])
            if cores is not None:
                self.quota_groups.append(quota.confine(key, process.pid, cores))

    def _peak_rss(self) -> dict[str, int]:
        """The services' and the simulator's (the servers' shared memory would count once per process)."""
        return {g: rss >> 20 for g, rss in sorted(self.sampler.peak_rss.items()) if g in self.platform.processes}

    def _roots(self) -> dict[str, int]:
        running = {**self.platform.processes, **{f"relay:{name}": p for name, p in self.relays.items()}}
        return {name: process.pid for name, process in running.items() if process.poll() is None}

    async def _idle(self, only: str | None = None) -> dict[str, float]:
        console.print(f"measuring idle CPU for {self.options.idle_seconds:g}s…")
        start = self.sampler.mark()
        await asyncio.sleep(self.options.idle_seconds)
        end = self.sampler.mark()
        return cpu.idle_rates(_only(cpu.window(start, end, self.sampler.first_seen), only), end.at - start.at)

    async def _pg_snapshot(self):
        await asyncio.sleep(1.5)  # backends report their statistics at most once a second
        return await self.pg.snapshot()

    async def _phase(
        self, records: list[Record], rate: float | None, idle: dict[str, float], expected: int
    ) -> tuple[dict, Traffic]:
        """Publishes, waits for the platform to settle (`expected` encounters finished since the
        start), and reads what happened."""
        offsets, start = await self.kafka.end_offsets(self.topics), self.sampler.mark()
        await publish(self.bootstrap, self.namespace + ENCOUNTER_DOCUMENTED, records, rate)
        settled = await self._settle(expected)
        end = self.sampler.mark()
        traffic = await self._read(Traffic(self.namespace), offsets, await self.kafka.end_offsets(self.topics))
        return _figures(start, end, settled, traffic, idle, len(records), self.sampler.first_seen), traffic

    async def _settle(self, expected: int) -> float | None:
        """When every group has committed everything, the outboxes are empty and A/R is complete:
        the time of the check that found it so (None after the timeout)."""
        deadline = time.monotonic() + self.options.timeout
        while time.monotonic() < deadline:
            at = time.time()
            committed = await self.kafka.committed(self.groups)
            if not any(lag(self.groups, committed, await self.kafka.end_offsets(self.topics)).values()):
                quiet = await self.pg.outbox_rows() == 0 and await self.kafka.committed(self.groups) == committed
                if (
                    quiet
                    and _every_file_read(self.platform)
                    and await asyncio.to_thread(_ar_complete, self.platform, expected)
                ):
                    return at
            await asyncio.sleep(0.25)
        console.print(f"[red]not settled after {self.options.timeout:g}s[/]")
        return None

    async def _read(self, traffic: Traffic, start: Offsets, end: Offsets) -> Traffic:
        async for record in read_records(self.bootstrap, start, end):
            traffic.add(record)
        return traffic

    # --- the relay ----------------------------------------------------------------------------------

    async def _relay(self, plans: dict[str, Traffic], burst: list[Record], trickle: list[Record]) -> dict:
        topics = [relay.relay_topic(self.namespace, t) for t in ALL_TOPICS]
        await ensure_topics(self.bootstrap, topics, partitions=self.platform.partitions)
        self.plan_dir.mkdir(parents=True, exist_ok=True)
        outcome: dict = {}
        for phase, traffic in plans.items():
            stages = relay.plan_stages(traffic.produced, self.consumers)
            path = self.plan_dir / f"{phase}.json"
            relay.write_plan(path, self.namespace, self.bootstrap, stages, traffic.samples)
            self._start_relay(path, stages)
            await self.kafka.wait_stable(relay.relay_groups(self.namespace, stages))
            if phase == "burst":
                outcome["idle"] = await self._idle(only="relay")
            records, rate = (burst, None) if phase == "burst" else (trickle, self.options.trickle_rate)
            console.print(f"relay {phase}…")
            outcome[phase] = await self._relay_phase(stages, traffic, records, rate, outcome["idle"], topics)
            self._stop_relay()
        outcome["idle_cores"] = results.idle_summary(outcome.pop("idle"))
        return outcome

    def _start_relay(self, plan: Path, stages: dict) -> None:
        log = (self.platform.log_dir / "relay.log").open("ab")
        for name in stages:
            self.relays[name] = subprocess.Popen(
                [sys.executable, "-m", "rcmctl.bench.relay", str(plan), name],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def _stop_relay(self) -> None:
        for process in self.relays.values():
            process.terminate()  # the stage leaves its consumer groups, then exits
        for process in self.relays.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.relays.clear()

    async def _relay_phase(self, stages, traffic: Traffic, records, rate, idle, topics) -> dict:
        prefix = relay.relay_topic(self.namespace, "")
        groups = relay.relay_groups(self.namespace, stages)
        expected = {prefix + t: sum(by.values()) for t, by in traffic.produced.items()}
        offsets, start = await self.kafka.end_offsets(topics), self.sampler.mark()
        await publish(self.bootstrap, prefix + ENCOUNTER_DOCUMENTED, records, rate)
        settled, deadline = None, time.monotonic() + self.options.timeout
        while settled is None and time.monotonic() < deadline:
            at, committed = time.time(), await self.kafka.committed(groups)
            ends = await self.kafka.end_offsets(topics)
            done = records_by_topic(offsets, ends)
            if not any(lag(groups, committed, ends).values()) and all(done.get(t, 0) >= n for t, n in expected.items()):
                settled = at
            else:
                await asyncio.sleep(0.25)
        end = self.sampler.mark()
        read = await self._read(Traffic(prefix), offsets, await self.kafka.end_offsets(topics))
        figures = _figures(start, end, settled, read, idle, len(records), self.sampler.first_seen, only="relay")
        figures["records_per_encounter"] = round(
            sum(sum(by.values()) for by in read.produced.values()) / len(records), 3
        )
        return figures

    def _result(self, platform_result: dict, relay_result: dict | None, before: dict) -> dict:
        o = self.options
        result = {
            "schema": results.SCHEMA,
            "label": o.label,
            "date": date.today().isoformat(),
            "note": o.note,
            "git": _git(),
            "machine": before,
            "options": {
                "encounters": o.encounters, "patients": o.patients, "replicas": o.replicas,
                "trickle_rate": o.trickle_rate, "trickle_seconds": o.trickle_seconds,
                "idle_seconds": o.idle_seconds, "env": o.env, "infra": self.platform.stack.mode,
                "cpu_limits": o.cpu_limits, "partitions": o.partitions,
            },
            "platform": platform_result,
            "relay": relay_result,
        }  # fmt: skip
        if relay_result:
            mine, floor = platform_result["burst"], relay_result["burst"]
            result["headline"] = {
                "cpu_ratio": _ratio(mine["cpu_ms"]["total"], floor["cpu_ms"]["total"]),
                "rate_ratio": _ratio(mine["encounters_per_second"], floor["encounters_per_second"]),
            }
        return result


def _figures(start, end, settled, traffic: Traffic, idle, encounters: int, first_seen, only: str | None = None) -> dict:
    """A window's figures: rate, latencies, CPU per encounter per process, and the accounting check."""
    seconds = (settled or end.at) - start.at
    used = _only(cpu.window(start, end, first_seen), only)
    window_s = end.at - start.at
    per = results.cpu_per_encounter(used, idle, window_s, encounters)
    last = traffic.last_posted()
    counted = sum(v for g, v in used.items() if g not in cpu.UNCOUNTED)
    machine = end.machine_busy - start.machine_busy
    return {
        "encounters": encounters,
        "settled": settled is not None,
        "seconds": round(seconds, 3),
        "encounters_per_second": round(encounters / seconds, 1),
        "last_payment_posted_s": round(last - start.at, 3) if last else None,
        "settled_after_last_posted": round(seconds / (last - start.at), 3) if last and last > start.at else None,
        "latency": traffic.latencies(),
        "cpu_ms": per,
        "cpu_ms_by_service": results.by_service(per),
        "idle_ms_taken_off": round(
            sum(idle.get(g, 0.0) for g in used if g not in cpu.UNCOUNTED) * window_s * 1000 / encounters, 3
        ),
        "cpu_seconds": {g: round(v, 3) for g, v in sorted(used.items())},
        "accounting": {
            "machine_busy_s": round(machine, 3),
            "all_processes_s": round(end.all_processes - start.all_processes, 3),
            "counted_s": round(counted, 3),
            "counted_share_of_machine": round(counted / machine, 3) if machine else None,
            "processes_share_of_machine": round((end.all_processes - start.all_processes) / machine, 3)
            if machine
            else None,
            # a contended host: its runs cost more CPU per encounter (compare runs with steal near 0)
            "steal_s": round(end.steal - start.steal, 3),
        },
    }


def _only(used: dict[str, float], only: str | None) -> dict[str, float]:
    """The relay's windows count its stages and the broker; the platform's, everything but the relay."""
    if only == "relay":
        return {g: v for g, v in used.items() if g.startswith("relay:") or g == cpu.KAFKA}
    return {g: v for g, v in used.items() if not g.startswith("relay:")}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _every_file_read(platform: Platform) -> bool:
    """Every 837 answered by the payer and every answer (999, 277CA, 835) read. Acknowledgements move
    no money: without this, a run counted as settled while claims still read the last 277CAs (at
    100,000 encounters, 45% of claim.acknowledged came after A/R balanced)."""
    folders = Folders(platform.clearinghouse_dir)
    waiting = (folders.outbound, folders.acks, folders.claim_acks, folders.remits)
    return not any(complete_files(folder) for folder in waiting if folder.exists())


def _ar_complete(platform: Platform, expected: int) -> bool:
    """Every encounter at its end (the demo's count) and nothing left to post: A/R's payments equal the 835s'."""
    try:
        now = demo.snapshot(platform)
    except httpx.HTTPError:
        return False
    return now.finished >= expected and Decimal(now.ar.get("paid", "0")) == Decimal(
        now.payments.get("total_posted", "0")
    )


def _records(encounters) -> list[Record]:
    events = [encounter_event(e) for e in encounters]
    return [(event.subject.encode(), event.value(), event.headers()) for event in events]


async def publish(bootstrap: str, topic: str, records: list[Record], rate: float | None = None) -> None:
    """As the EHR publishes (rcmctl/ehr.py): all at once, or `rate` a second."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        started, sent = time.monotonic(), []
        for n, (key, value, headers) in enumerate(records):
            if rate:
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            sent.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def _server_pids(platform: Platform) -> tuple[int | None, int | None]:
    """The broker's and the database's processes, when they listen on this machine."""
    kafka_port = int(platform.stack.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])
    pg_port = urlsplit(platform.stack.database_url_template.replace("{db}", "x")).port or 5432
    return cpu.listening_pid(kafka_port), cpu.listening_pid(pg_port)


def _machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "processor": host.processor() or host.machine(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def _git() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def show(result: dict, path: Path) -> None:
    table = Table(title=f"rcm bench {result['label']}: {result['options']['encounters']} encounters")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for what, value, unit in results.figures(result):
        table.add_row(what, results._shown(value, unit))
    console.print(table)
    for phase in ("burst", "trickle"):
        accounting = result["platform"].get(phase, {}).get("accounting")
        if accounting:
            console.print(f"{phase} accounting: {accounting}")
    if result["platform"]["postgres"]["statements_unavailable"]:
        console.print(f"[yellow]{result['platform']['postgres']['statements_unavailable']}[/]")
    console.print(f"written to {path}")
