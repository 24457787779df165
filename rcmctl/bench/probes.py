"""What the benchmark reads from the broker and the database: topic end offsets and consumer groups'
committed offsets (lag), the records of a window (read once the clock has stopped, so reading them
costs the run nothing), each service's outbox, and PostgreSQL's statistics: statements
(pg_stat_statements), row writes (pg_stat_user_tables) and transactions (pg_stat_database).

The benchmark's own statements carry the comment /* rcm-bench */ and its connections' backends are
known by pid, so neither is counted as the platform's."""

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Self

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

Offsets = dict[tuple[str, int], int]  # (topic, partition) -> offset
MARK = "/* rcm-bench */"


class KafkaProbe:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._partitions: dict[str, list[int]] = {}

    async def __aenter__(self) -> Self:
        await self.admin.start()
        await self.consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def end_offsets(self, topics: Iterable[str]) -> Offsets:
        unknown = [topic for topic in topics if topic not in self._partitions]
        if unknown:
            for described in await self.admin.describe_topics(unknown):
                self._partitions[described["topic"]] = [p["partition"] for p in described["partitions"]]
        partitions = [TopicPartition(topic, number) for topic in topics for number in self._partitions[topic]]
        ends = await self.consumer.end_offsets(partitions)
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def committed(self, groups: Iterable[str]) -> dict[str, Offsets]:
        committed = {}
        for group in groups:
            offsets = await self.admin.list_consumer_group_offsets(group)
            committed[group] = {
                (tp.topic, tp.partition): meta.offset for tp, meta in offsets.items() if meta.offset >= 0
            }
        return committed

    async def wait_stable(self, groups: Iterable[str], timeout: float = 90) -> None:
        """Until every group has members and no rebalance is under way (stages just started join)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            unsettled = [group for group in groups if not await self._stable(group)]
            if not unsettled:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"consumer groups not stable after {timeout:g}s: {', '.join(unsettled)}")
            await asyncio.sleep(0.5)

    async def _stable(self, group: str) -> bool:
        # One group a request: aiokafka misreads a DescribeGroups answer about several.
        [response] = await self.admin.describe_consumer_groups([group])
        _, _, state, _, _, members, *_ = response.groups[0]
        return state == "Stable" and bool(members)


def lag(groups: dict[str, str | tuple[str, ...]], committed: dict[str, Offsets], ends: Offsets) -> dict[str, int]:
    """Records each consumer group (group -> the topic or topics it reads) has yet to commit."""
    read = {group: (topics,) if isinstance(topics, str) else topics for group, topics in groups.items()}
    return {
        group: sum(end - committed.get(group, {}).get(tp, 0) for tp, end in ends.items() if tp[0] in topics)
        for group, topics in read.items()
    }


def records_by_topic(before: Offsets, after: Offsets) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (topic, partition), end in after.items():
        counts[topic] = counts.get(topic, 0) + end - before.get((topic, partition), 0)
    return counts


async def read_records(bootstrap: str, start: Offsets, end: Offsets) -> AsyncIterator[ConsumerRecord]:
    """Every record between two snapshots of end offsets, partition by partition."""
    wanted = {TopicPartition(t, p): (start.get((t, p), 0), e) for (t, p), e in end.items() if e > start.get((t, p), 0)}
    if not wanted:
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=8 << 20
    )
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        for tp, (first, _) in wanted.items():
            consumer.seek(tp, first)
        pending = dict(wanted)
        while pending:
            for tp, batch in (await consumer.getmany(*pending, timeout_ms=2000, max_records=5000)).items():
                for record in batch:
                    if record.offset < pending.get(tp, (0, 0))[1]:
                        yield record
                if tp in pending and await consumer.position(tp) >= pending[tp][1]:
                    del pending[tp]
    finally:
        await consumer.stop()


@dataclass
class PgSnapshot:
    statements: (
        dict[tuple[str, int, bool], tuple[int, int, float, str]] | None
    )  # (db, queryid, top) -> calls, rows, ms, text
    tables: dict[tuple[str, str], int]  # (db, table) -> rows inserted + updated + deleted
    transactions: dict[str, int]  # db -> commits + rollbacks
    probes: dict[str, int]  # db -> the benchmark's own statements so far (each one its own transaction)


@dataclass
class PostgresProbe:
    """One connection per database of the run, and one to `postgres` for pg_stat_statements."""

    dsn_template: str  # postgresql://user:pw@host:port/{db}
    databases: dict[str, str]  # service -> database
    pids: set[int] = field(default_factory=set)  # our backends, which the CPU sampler leaves out
    unavailable: str | None = None  # why statements cannot be counted
    _connections: dict[str, asyncpg.Connection] = field(default_factory=dict)
    _probes: dict[str, int] = field(default_factory=dict)

    async def __aenter__(self) -> Self:
        for db in ("postgres", *self.databases.values()):
            connection = await asyncpg.connect(
                self.dsn_template.format(db=db), server_settings={"application_name": "rcm-bench"}
            )
            self._connections[db] = connection
            self.pids.add(await connection.fetchval(f"SELECT pg_backend_pid() {MARK}"))
        return self

    async def __aexit__(self, *_: object) -> None:
        for connection in self._connections.values():
            await connection.close()

    async def _fetch(self, db: str, query: str, *args: object) -> list[asyncpg.Record]:
        self._probes[db] = self._probes.get(db, 0) + 1
        return await self._connections[db].fetch(f"{query} {MARK}", *args)

    async def outbox_rows(self) -> int:
        """Events staged by the services and not yet published."""
        total = 0
        for db in self.databases.values():
            try:
                total += (await self._fetch(db, "SELECT count(*) AS n FROM outbox"))[0]["n"]
            except asyncpg.UndefinedTableError:
                continue
        return total

    async def snapshot(self) -> PgSnapshot:
        tables: dict[tuple[str, str], int] = {}
        transactions: dict[str, int] = {}
        for db in self.databases.values():
            for row in await self._fetch(
                db, "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS writes FROM pg_stat_user_tables"
            ):
                tables[(db, row["relname"])] = row["writes"]
        for row in await self._fetch(
            "postgres",
            "SELECT datname, xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = ANY($1::text[])",
            list(self.databases.values()),
        ):
            transactions[row["datname"]] = row["n"]
        return PgSnapshot(await self._statements(), tables, transactions, dict(self._probes))

    async def _statements(self) -> dict[tuple[str, int, bool], tuple[int, int, float, str]] | None:
        try:
            rows = await self._fetch(
                "postgres",
                "SELECT d.datname, s.queryid, s.toplevel, s.calls, s.rows, s.total_exec_time, s.query"
                " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
                " WHERE d.datname = ANY($1::text[]) AND s.query NOT LIKE '%rcm-bench%'",
                list(self.databases.values()),
            )
        except (asyncpg.UndefinedTableError, asyncpg.ObjectNotInPrerequisiteStateError) as err:
            self.unavailable = f"pg_stat_statements is not loaded on this server ({err.__class__.__name__}): " + (
                "restart the stack (./rcm stack down; ./rcm stack up) to count statements"
            )
            return None
        return {
            (r["datname"], r["queryid"], r["toplevel"]): (r["calls"], r["rows"], r["total_exec_time"], r["query"])
            for r in rows
        }


def statements_delta(before: PgSnapshot, after: PgSnapshot, services: dict[str, str], encounters: int) -> dict | None:
    """Statements per encounter by service, and each service's most frequent statements."""
    if before.statements is None or after.statements is None:
        return None
    by_db: dict[str, list[tuple[int, int, float, str]]] = {}
    for key, (calls, rows, ms, text) in after.statements.items():
        was = before.statements.get(key, (0, 0, 0.0, text))
        if calls > was[0]:
            by_db.setdefault(key[0], []).append((calls - was[0], rows - was[1], ms - was[2], text))
    result: dict = {"per_encounter": {}, "top": {}}
    for service, db in services.items():
        entries = sorted(by_db.get(db, []), key=lambda e: -e[0])
        result["per_encounter"][service] = round(sum(e[0] for e in entries) / encounters, 2)
        result["top"][service] = [
            {
                "calls_per_encounter": round(calls / encounters, 3),
                "rows_per_call": round(rows / calls, 1),
                "mean_ms": round(ms / calls, 3),
                "query": " ".join(text.split())[:200],
            }
            for calls, rows, ms, text in entries[:8]
        ]
    result["per_encounter"]["total"] = round(sum(result["per_encounter"].values()), 2)
    return result


def writes_delta(before: PgSnapshot, after: PgSnapshot, services: dict[str, str], encounters: int) -> dict:
    """Rows inserted, updated and deleted per encounter by service, and by table."""
    per_service, per_table = {}, {}
    for service, db in services.items():
        tables = {
            name: writes - before.tables.get((d, name), 0) for (d, name), writes in after.tables.items() if d == db
        }
        per_service[service] = round(sum(tables.values()) / encounters, 2)
        for name, writes in sorted(tables.items(), key=lambda t: -t[1]):
            if writes:
                per_table[f"{service}.{name}"] = round(writes / encounters, 2)
    per_service["total"] = round(sum(per_service.values()), 2)
    return {"per_encounter": per_service, "by_table": per_table}


def transactions_delta(before: PgSnapshot, after: PgSnapshot, services: dict[str, str], encounters: int) -> dict:
    """Transactions per encounter by service, less the benchmark's own probes (one transaction each)."""
    per_service = {
        service: round(
            (
                after.transactions.get(db, 0)
                - before.transactions.get(db, 0)
                - (after.probes.get(db, 0) - before.probes.get(db, 0))
            )
            / encounters,
            2,
        )
        for service, db in services.items()
    }
    per_service["total"] = round(sum(per_service.values()), 2)
    return per_service
