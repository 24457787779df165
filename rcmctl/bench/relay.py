"""The floor the platform is measured against: the same records moved through Kafka by nothing but
aiokafka consume → produce, in the same run, on the same broker.

The plan is the platform's own traffic in the window being compared: for each topic, how many
records each service produced (from the records' CloudEvents source) and which services consume it.
A relay stage stands in for each service: one consumer group per topic it consumes (as the service
has), and for every record it takes, its share of the service's output is produced (a service that
wrote 2 records of claim.submitted for 3 it consumed writes 2 of every 3), taken from the platform's
own records of that topic (same keys, values and headers, so the same sizes and partitions). Each
batch's sends are awaited before its offsets are committed. Nothing is decoded: it is Kafka's cost.

Every relayed record carries the publication time of the encounter that set it going (header
bench-origin), so the relay has latencies too. A stage runs as a process of its own:
`python -m rcmctl.bench.relay <plan.json> <stage>`."""

import asyncio
import contextlib
import json
import pickle
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import cycle
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

ORIGIN = "bench-origin"
SOURCE = "ehr"  # the producer of encounter.documented: the benchmark itself


def relay_topic(namespace: str, topic: str) -> str:
    return f"{namespace}relay.{topic}"


def plan_stages(produced: dict[str, dict[str, int]], consumers: dict[str, list[str]]) -> dict[str, dict]:
    """Stage -> its input topics and outputs. `produced`: topic -> producer -> records;
    `consumers`: service -> the topics it consumes. A stage with outputs and no input produces them
    at once (nothing sets it going)."""
    stages = {}
    for service, topics in consumers.items():
        outputs = {topic: by[service] for topic, by in produced.items() if by.get(service)}
        inputs = [topic for topic in topics if sum(produced.get(topic, {}).values())]
        if inputs or outputs:
            stages[service] = {
                "inputs": inputs,
                "outputs": outputs,
                "per": sum(sum(produced[topic].values()) for topic in inputs),
            }
    return stages


def relay_group(namespace: str, stage: str, topic: str) -> str:
    return f"{namespace}relay-{stage}.{topic}"


def relay_groups(namespace: str, stages: dict[str, dict]) -> dict[str, str]:
    """Consumer group -> the relay topic it reads: one per stage and input, as the services have."""
    return {
        relay_group(namespace, name, topic): relay_topic(namespace, topic)
        for name, stage in stages.items()
        for topic in stage["inputs"]
    }


class Credit:
    """Integer shares: after `n` of `per` inputs, floor(n * count / per) of each output are due, so
    the totals come out exact once every input has been taken."""

    def __init__(self, outputs: dict[str, int], per: int) -> None:
        self.outputs, self.per = outputs, per
        self.owed = dict.fromkeys(outputs, 0)

    def take(self) -> list[str]:
        due = []
        for topic, count in self.outputs.items():
            self.owed[topic] += count
            while self.owed[topic] >= self.per:
                self.owed[topic] -= self.per
                due.append(topic)
        return due

    def everything(self) -> list[str]:
        return [topic for topic, count in self.outputs.items() for _ in range(count)]


@dataclass
class Stage:
    name: str
    namespace: str
    bootstrap: str
    inputs: list[str]
    credit: Credit
    samples: dict[str, Iterator[tuple[bytes | None, bytes, list]]]

    async def run(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
            max_batch_size=256 * 1024,
        )  # fmt: skip
        await producer.start()
        try:
            if not self.inputs:
                await asyncio.gather(*[await self._send(producer, t, b"0") for t in self.credit.everything()])
            await asyncio.gather(*(self._pump(producer, topic) for topic in self.inputs))
        finally:
            await producer.stop()

    async def _pump(self, producer: AIOKafkaProducer, topic: str) -> None:
        consumer = AIOKafkaConsumer(
            relay_topic(self.namespace, topic),
            bootstrap_servers=self.bootstrap,
            group_id=relay_group(self.namespace, self.name, topic),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                sends = []
                for records in batches.values():
                    for record in records:
                        origin = dict(record.headers).get(ORIGIN) or str(record.timestamp).encode()
                        sends += [await self._send(producer, due, origin) for due in self.credit.take()]
                if sends:
                    await asyncio.gather(*sends)
                if batches:
                    await consumer.commit()
        finally:
            await consumer.stop()

    async def _send(self, producer: AIOKafkaProducer, topic: str, origin: bytes) -> asyncio.Future:
        key, value, headers = next(self.samples[topic])
        return await producer.send(
            relay_topic(self.namespace, topic), value=value, key=key, headers=[*headers, (ORIGIN, origin)]
        )


def write_plan(path: Path, namespace: str, bootstrap: str, stages: dict, samples: dict[str, dict]) -> None:
    """The plan (JSON) and the records each stage writes (pickle beside it: bytes, our own file)."""
    path.write_text(json.dumps({"namespace": namespace, "bootstrap": bootstrap, "stages": stages}, indent=1))
    path.with_suffix(".samples").write_bytes(pickle.dumps(samples))


def load_stage(path: Path, name: str) -> Stage:
    plan = json.loads(path.read_text())
    samples = pickle.loads(path.with_suffix(".samples").read_bytes())
    stage = plan["stages"][name]
    return Stage(
        name,
        plan["namespace"],
        plan["bootstrap"],
        stage["inputs"],
        Credit(stage["outputs"], stage["per"]),
        {topic: cycle(samples[topic][name]) for topic in stage["outputs"]},
    )


async def main(plan: Path, name: str) -> None:
    """Runs a stage until SIGTERM, then leaves its groups (so the next stage in them starts at once)."""
    task = asyncio.create_task(load_stage(plan, name).run())
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
