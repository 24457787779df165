"""Benchmark of the whole pipeline (run it; it is not a test): N encounters published as fast as
an EHR can, through coding, claims, the payer simulator and payments. Prints throughput end to
end, latency percentiles from publication to claim.submitted and to payment.posted (Kafka record
timestamps), and the peak memory of each service process."""

import asyncio
import json
import statistics
import threading
import time
from pathlib import Path

import psutil
from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.table import Table

from rcmctl import sample, stack
from rcmctl.ehr import publish_encounters, register_patients
from rcmctl.processes import SERVICES, Platform, free_port_base
from rcmctl.provision import deprovision, provision
from shared.contracts.topics import CLAIM_SUBMITTED, PAYMENT_POSTED

console = Console()


class PeakMemory(threading.Thread):
    def __init__(self, platform: Platform) -> None:
        super().__init__(daemon=True)
        self.platform, self.peaks, self.cpu, self.running = platform, {}, {}, True

    def run(self) -> None:
        while self.running:
            for name, process in list(self.platform.processes.items()):
                try:
                    observed = psutil.Process(process.pid)
                    rss, cpu = observed.memory_info().rss, observed.cpu_times()
                except psutil.Error:
                    continue
                self.peaks[name] = max(self.peaks.get(name, 0), rss)
                self.cpu[name] = cpu.user + cpu.system
            time.sleep(0.2)


async def collect(platform: Platform, expected: int, timeout: float) -> tuple[dict, dict]:
    """claim id -> (the encounter ids it bills, claim.submitted timestamp); claim id -> payment.posted timestamp."""
    consumer = AIOKafkaConsumer(
        platform.namespace + CLAIM_SUBMITTED,
        platform.namespace + PAYMENT_POSTED,
        bootstrap_servers=platform.stack.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"{platform.namespace}bench",
    )
    await consumer.start()
    submitted: dict[str, tuple[list[str], float]] = {}
    posted: dict[str, float] = {}
    deadline = time.monotonic() + timeout

    def encounters_paid() -> int:
        return sum(len(submitted[claim][0]) for claim in posted if claim in submitted)

    try:
        while encounters_paid() < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                for record in records:
                    data = json.loads(record.value)
                    if record.topic.endswith(CLAIM_SUBMITTED):
                        submitted[data["claim_id"]] = (
                            data["encounter_ids"] or [data["encounter_id"]],
                            record.timestamp / 1000,
                        )
                    else:
                        posted.setdefault(data["claim_id"], record.timestamp / 1000)
    finally:
        await consumer.stop()
    return submitted, posted


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {q[49]:.2f}s  p95 {q[94]:.2f}s  p99 {q[98]:.2f}s  max {max(values):.2f}s"


def run_bench(encounters: int, patients: int, run_dir: Path, timeout: float = 900) -> None:
    info = stack.up(run_dir)
    platform = Platform(
        stack=info, run_dir=run_dir, namespace=f"bench{int(time.time())}_", port_base=free_port_base(8200)
    )
    memory = PeakMemory(platform)
    try:
        asyncio.run(provision(platform))
        platform.start_all()
        platform.wait_ready()
        memory.start()
        ids = asyncio.run(register_patients(platform, sample.patients(patients, seed=31)))
        visits = sample.encounters(ids, encounters, faulty_rate=0.0, seed=37)
        console.print(f"publishing {encounters} encounters…")

        async def drive():
            collector = asyncio.create_task(collect(platform, encounters, timeout))
            started = time.time()
            await publish_encounters(platform, visits)
            published = time.time()
            submitted, posted = await collector
            return started, published, submitted, posted

        started, published, submitted, posted = asyncio.run(drive())
        by_encounter = {encounter: (claim, at) for claim, (ids, at) in submitted.items() for encounter in ids}
        # Encounters are published as one burst; latency counts from the start of the burst.
        to_submitted = [at - started for _, at in by_encounter.values()]
        to_posted = [posted[claim] - started for claim, _ in by_encounter.values() if claim in posted]
        finished = max(posted.values()) if posted else time.time()
        table = Table(title=f"Pipeline benchmark: {encounters} encounters, {patients} patients")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row(
            "published by the EHR (burst)", f"{encounters / max(published - started, 1e-9):,.0f} encounters/s"
        )
        paid = sum(1 for claim, _ in by_encounter.values() if claim in posted)
        table.add_row(
            "claims submitted / payments posted",
            f"{len(submitted)} / {len(posted)} (billing {len(by_encounter)} encounters)",
        )
        table.add_row(
            "end to end (first publish → last payment.posted)",
            f"{paid / max(finished - started, 1e-9):,.0f} encounters/s in {finished - started:.1f}s",
        )
        table.add_row("publish → claim.submitted", percentiles(to_submitted))
        table.add_row("publish → payment.posted", percentiles(to_posted))
        for name in (*SERVICES, "payer_simulator"):
            table.add_row(
                f"{name}: peak RSS, CPU",
                f"{memory.peaks.get(name, 0) / 2**20:,.0f} MiB, {memory.cpu.get(name, 0):,.1f} s",
            )
        console.print(table)
    finally:
        memory.running = False
        platform.stop_all()
        asyncio.run(deprovision(platform))
